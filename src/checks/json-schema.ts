/**
 * JSON Schema for `json` checks: compiled by the same rule at task creation (to refuse a schema that
 * does not compile) and at check time, and ajv's errors put in words.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv | Ajv2020) => unknown }).default

/**
 * Compile a coordinator's JSON Schema: draft 2020-12 when its `$schema` says so, else draft-07.
 * A fresh Ajv each time, so two tasks' schemas with the same `$id` do not collide and compiled
 * schemas are not kept for the life of the server. `allErrors` so a result can list several faults.
 *
 * @param schema the check's `schema` object
 * @returns the validate function
 * @throws Error (ajv's) when the schema is not valid JSON Schema or names an unknown `$ref`
 */
export function compileSchema (schema: Record<string, unknown>): ValidateFunction {
  const dialect = typeof schema.$schema === 'string' && schema.$schema.includes('2020-12') ? '2020' : '07'
  const options = { strict: false, allErrors: true, addUsedSchema: false } as const
  const ajv = dialect === '2020' ? new Ajv2020(options) : new Ajv(options)
  addFormats(ajv)
  return ajv.compile(schema)
}

/**
 * The first `limit` errors as `/path message` phrases, `(root)` for the document itself, with
 * "(and N more)" when there are more; e.g. `(root) must have required property 'title'`.
 */
export function describeSchemaErrors (errors: readonly ErrorObject[], limit = 3): string {
  const phrases = errors.slice(0, limit).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: unknown }).additionalProperty)})` : ''
    return `${e.instancePath === '' ? '(root)' : e.instancePath} ${e.message ?? 'is invalid'}${extra}`
  })
  const more = errors.length > limit ? ` (and ${errors.length - limit} more)` : ''
  return phrases.join('; ') + more
}
