/**
 * Shared schema primitives. Resource schemas build on these; TypeScript types come from
 * `Static<typeof X>`, so routes, store, client and tests share one definition.
 */
import { Type, type Static, type TSchema } from 'typebox'
import { errorBody, type ErrorCode } from '../errors.js'

/** Charset and length rule for every id the caller chooses (task, worker, project): 1..128 chars. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$'

const idRule = 'letters, digits and . _ : @ -, starting with a letter or digit, at most 128 characters'

// Swagger UI's examples name their own project and tasks (`swagger-try`, `try-summary`), so trying them
// neither collides with the README's and clients/curl.md's (`docs`, `docs-summaries`, `task-001`) nor
// shows another project's data as if it were the reader's.

/** A coordinator-chosen task id such as `task-001`. */
export const TaskId = Type.String({ pattern: ID_PATTERN, description: `Task id: ${idRule}.`, examples: ['try-summary'] })
/**
 * The id of a task being posted: `TaskId`, except `next`, which `GET /tasks/next` (the long poll) owns, so
 * a task of that id could never be read at `GET /tasks/{id}`.
 */
export const NewTaskId = Type.String({
  pattern: `^(?!next$)${ID_PATTERN.slice(1)}`,
  description: `Task id: ${idRule}; not \`next\` (that path is the long poll GET /tasks/next).`,
  examples: ['try-summary'],
})
/** A worker's self-chosen, stable id; the first request that names it registers the worker. */
export const WorkerId = Type.String({
  pattern: ID_PATTERN,
  description: `Worker id: ${idRule}. Keep it stable across restarts to get your lease back.`,
  examples: ['worker-a'],
})
/** A project name; tasks posted without one belong to `default`. */
export const ProjectName = Type.String({ pattern: ID_PATTERN, description: `Project name: ${idRule}.`, examples: ['swagger-try'] })
/**
 * An optional project filter of a query: no example, so Swagger UI does not prefill one (an observe
 * route would then look empty while other projects have data).
 */
export const ProjectFilter = Type.String({ pattern: ID_PATTERN, description: `Only this project (default: every project). ${idRule}.` })
/** A lease id, as granted by `GET /tasks/next`. */
export const LeaseId = Type.String({
  minLength: 1, maxLength: 64, description: 'Lease id from GET /tasks/next.', examples: ['3f0c1f0e-2a4b-4c47-9a53-0d0c8f8a1b2c'],
})
/** An ISO 8601 UTC timestamp with milliseconds. */
export const Timestamp = Type.String({ format: 'date-time', examples: ['2026-11-21T10:00:00.000Z'] })

/**
 * Task states, in the A2A protocol's vocabulary (a2a-protocol.org TaskState), plus `review-required`
 * (named like A2A's `input-required` / `auth-required`): the worker's output passed its checks and waits
 * for the coordinator's `POST /tasks/{id}/review`.
 */
export const TASK_STATES = ['submitted', 'working', 'input-required', 'review-required', 'completed', 'failed', 'canceled'] as const
/** One of `TASK_STATES`. */
export const TaskState = Type.Enum(TASK_STATES, {
  description: 'submitted = queued (possibly held: see `hold`); working = leased to a worker; input-required = needs the engineer ' +
    '(a worker asked a question, checks kept failing, or a file conflict; see `attention`); review-required = done and checked, waiting for ' +
    'the coordinator\'s review; completed, failed and canceled are terminal.',
})
export type TaskState = (typeof TASK_STATES)[number]

/** States after which a task never changes again. */
export const TERMINAL_STATES: readonly TaskState[] = ['completed', 'failed', 'canceled']

/** The body of every error answer (4xx and 5xx). */
export const ErrorBody = Type.Object({
  code: Type.String({ description: 'Stable machine-readable code, e.g. LEASE_SUPERSEDED.' }),
  message: Type.String({ description: 'What happened and what to do next.' }),
  details: Type.Optional(Type.Unknown({ description: 'Extra facts to act on (ids, fields, current state).' })),
}, { $id: 'ErrorBody', description: 'Error answer' })
export type ErrorBody = Static<typeof ErrorBody>

/** Reference to the shared error schema, for response maps. */
export const ErrorRef = Type.Ref('ErrorBody')

/**
 * An error response for a response map: the shared error schema, a description, and one example answer
 * per code (Swagger UI lists them by code). `codes` maps each code to the example's message, or lists
 * codes whose default message (src/errors.ts) is the example.
 */
export function errorExamples (description: string, codes: ErrorCode[] | Partial<Record<ErrorCode, string | undefined>>): typeof ErrorRef {
  const entries: Array<[ErrorCode, string | undefined]> = Array.isArray(codes)
    ? codes.map((code) => [code, undefined])
    : Object.entries(codes) as Array<[ErrorCode, string | undefined]>
  // `x-examples` becomes the media type's `examples` in the document (@fastify/swagger); serialization ignores it.
  const examples = Object.fromEntries(entries.map(([code, message]) => [code, { summary: code, value: errorBody(code, message) }]))
  return { ...ErrorRef, description, 'x-examples': examples } as typeof ErrorRef
}

/**
 * Error answers every route can give: bad input (400, 413, 415), a refused origin or Host (403), an
 * internal failure (500), the store unavailable or the server closing (503).
 */
export const commonErrors = {
  400: errorExamples('The request does not match the schema: `message` says which field and what to send.', {
    VALIDATION_FAILED: 'querystring must have required property \'worker\'. Fix the request and send it again.',
    INVALID_JSON: undefined,
  }),
  403: errorExamples('Refused before routing: a web page on another origin, or a Host that is not this server\'s.', [
    'CROSS_ORIGIN_REFUSED', 'HOST_NOT_ALLOWED',
  ]),
  413: errorExamples('The body is larger than COORD_BODY_LIMIT.', ['PAYLOAD_TOO_LARGE']),
  415: errorExamples('The body is not sent as application/json.', ['UNSUPPORTED_MEDIA_TYPE']),
  500: errorExamples('A bug: the server log has the details.', ['INTERNAL']),
  503: errorExamples('Nothing was changed: the store is unavailable or the server is shutting down. Retry later.', [
    'STORAGE_UNAVAILABLE', 'SERVER_CLOSING',
  ]),
} as const

/** A pagination cursor and page size for list endpoints. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'Page size (1..500).' })),
  after: Type.Optional(Type.Integer({
    minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Return items after this cursor (the `nextAfter` of the previous page).',
  })),
}

/** `schema` with a description, for a response whose meaning Swagger UI should show. */
export function described<T extends TSchema> (schema: T, description: string): T {
  return { ...schema, description }
}
