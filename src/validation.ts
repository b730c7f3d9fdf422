/**
 * Request validation: one Ajv for JSON bodies with NO type coercion (`"priority": true` is an error,
 * not 1) and one for the text parts (querystring, params, headers) that coerces from text
 * (`?wait=60` → 60). Both keep unknown fields as errors (`removeAdditional: false`), fill defaults and
 * know the ajv-formats formats, as @fastify/ajv-compiler does. Installed through Fastify's
 * `schemaController` option in `fastifyOptions`, so tests and production validate alike.
 *
 * Every number that passes is finite: Ajv coerces the text `Infinity` or `1e400` to a non-finite
 * number and then skips `minimum`/`maximum` for it (they only apply to finite numbers), so each
 * validator of a text part is followed by a walk that refuses any non-finite number (bodies cannot hold
 * one: the JSON parser refuses `1e400` first). The walk also refuses a number whose text is not plain
 * decimal: Ajv coerces with `+text`, which reads `0x10` as 16, `1e2` as 100 and `0b1` as 1.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { FastifyServerOptions } from 'fastify'

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv }).default

/** What fastify's schemaController calls to get a validator compiler (its published type is Ajv's). */
type ValidatorFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']
type RouteSchema = { schema: unknown, httpPart?: string }

/**
 * The Ajv options both instances share (fastify's defaults, but unknown fields are errors). `verbose`
 * puts the failing schema in each error, so a pattern error can say in words what the field accepts.
 */
const SHARED = { removeAdditional: false, useDefaults: true, allErrors: false, addUsedSchema: false, verbose: true } as const

function newAjv (coerceTypes: false | 'array', externalSchemas: Record<string, unknown>): Ajv {
  const ajv = new Ajv({ ...SHARED, coerceTypes })
  addFormats(ajv)
  for (const schema of Object.values(externalSchemas)) ajv.addSchema(schema as object)
  return ajv
}

/**
 * The JSON Pointer (Ajv `instancePath`, e.g. `/tasks/0/priority`) of the first non-finite number in
 * `data`, or null when every number is finite. Iterative: depth costs no stack.
 */
export function nonFinitePath (data: unknown): string | null {
  const stack: Array<[unknown, string]> = [[data, '']]
  while (stack.length > 0) {
    const [value, path] = stack.pop() as [unknown, string]
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return path
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push([v, `${path}/${i}`]))
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) stack.push([v, `${path}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`])
    }
  }
  return null
}

type Validator = ((data: unknown, ctx?: { parentData?: Record<string, unknown>, parentDataProperty?: string }) => boolean) & {
  errors?: ErrorObject[] | null
  schemaEnv?: unknown
}

/** The text of a number in a query string or path: plain decimal digits, optionally signed, optionally a fraction. */
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/

/** The top-level string values of a text part (a query string's values are strings or arrays of strings). */
function textValues (data: unknown): Map<string, unknown> {
  const texts = new Map<string, unknown>()
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    for (const [k, v] of Object.entries(data)) texts.set(k, Array.isArray(v) ? [...v] : v)
  }
  return texts
}

/**
 * The JSON Pointer of the first value Ajv coerced to a number from text that is not plain decimal
 * (Ajv takes anything `+text` reads: `0x10` is 16, `1e2` is 100, `0b1` is 1), or null.
 */
function nonDecimalPath (before: Map<string, unknown>, after: unknown): string | null {
  if (after === null || typeof after !== 'object') return null
  for (const [k, text] of before) {
    const value = (after as Record<string, unknown>)[k]
    const texts = Array.isArray(text) ? text : [text]
    const values = Array.isArray(value) ? value : [value]
    for (let i = 0; i < values.length; i++) {
      const t = texts[i]
      if (typeof values[i] === 'number' && typeof t === 'string' && !PLAIN_DECIMAL.test(t)) {
        return `/${k.replaceAll('~', '~0').replaceAll('/', '~1')}${Array.isArray(value) ? `/${i}` : ''}`
      }
    }
  }
  return null
}

/**
 * `validate`, then refuse non-finite numbers and numbers not written in plain decimal (an Ajv-shaped
 * error, so messages read the same).
 */
function finiteOnly (validate: ValidateFunction): Validator {
  const check: Validator = (data, ctx) => {
    const before = textValues(data)
    if (!validate(data, ctx as never)) {
      check.errors = validate.errors ?? null
      return false
    }
    // Coercion may have replaced the root value on its parent (fastify passes parentData).
    const value = ctx?.parentData !== undefined && ctx.parentDataProperty !== undefined ? ctx.parentData[ctx.parentDataProperty] : data
    const path = nonFinitePath(value)
    if (path !== null) {
      check.errors = [{ instancePath: path, schemaPath: '#/finite', keyword: 'finite', params: {}, message: 'must be a finite number' }]
      return false
    }
    const textPath = nonDecimalPath(before, value)
    if (textPath !== null) {
      const message = 'must be a number in plain decimal digits (like 60)'
      check.errors = [{ instancePath: textPath, schemaPath: '#/decimal', keyword: 'decimal', params: {}, message }]
      return false
    }
    check.errors = null
    return true
  }
  // fastify passes { parentData, parentDataProperty } only to validators that carry Ajv's schemaEnv.
  check.schemaEnv = validate.schemaEnv
  return check
}

/**
 * Fastify `schemaController.compilersFactory.buildValidator`: builds, per set of shared schemas, the
 * strict body Ajv and the coercing Ajv for the other request parts.
 */
function buildValidatorCompiler (externalSchemas: unknown): (route: RouteSchema) => Validator {
  const external = (externalSchemas ?? {}) as Record<string, unknown>
  const strict = newAjv(false, external)
  const coercing = newAjv('array', external)
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing
    const id = (schema as { $id?: unknown }).$id
    const compiled = (typeof id === 'string' ? ajv.getSchema(id) : undefined) ?? ajv.compile(schema as object)
    // A body is never coerced and comes only from the JSON parser (src/json-body.ts), which already refuses
    // numbers beyond a double's range (JSON has no NaN or Infinity): the walk would find nothing there.
    return httpPart === 'body' ? compiled as Validator : finiteOnly(compiled)
  }
}

/**
 * Fastify `schemaController.compilersFactory.buildValidator`: for a set of shared schemas, a compiler
 * that gives `body` the strict Ajv and the other request parts the coercing one.
 */
export const buildValidator = buildValidatorCompiler as unknown as ValidatorFactory
