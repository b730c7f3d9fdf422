/**
 * Shared schema primitives. Resource schemas build on these; TypeScript types come from
 * `Static<typeof X>`, so routes, store, client and tests share one definition.
 */
import { Type, type Static, type TSchema } from 'typebox'

/** Charset and length rule for every id the caller chooses (task, worker, project): 1..128 chars. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$'

const idRule = 'letters, digits and . _ : @ -, starting with a letter or digit, at most 128 characters'

/** A coordinator-chosen task id such as `task-001`. */
export const TaskId = Type.String({ pattern: ID_PATTERN, description: `Task id: ${idRule}.`, examples: ['task-001'] })
/**
 * The id of a task being posted: `TaskId`, except `next`, which `GET /tasks/next` (the long poll) owns, so
 * a task of that id could never be read at `GET /tasks/{id}`.
 */
export const NewTaskId = Type.String({
  pattern: `^(?!next$)${ID_PATTERN.slice(1)}`,
  description: `Task id: ${idRule}; not \`next\` (that path is the long poll GET /tasks/next).`,
  examples: ['task-001'],
})
/** A worker's self-chosen, stable id; the first request that names it registers the worker. */
export const WorkerId = Type.String({
  pattern: ID_PATTERN,
  description: `Worker id: ${idRule}. Keep it stable across restarts to get your lease back.`,
  examples: ['worker-a'],
})
/** A project name; tasks posted without one belong to `default`. */
export const ProjectName = Type.String({ pattern: ID_PATTERN, description: `Project name: ${idRule}.`, examples: ['docs-summaries'] })
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
  code: Type.String({ description: 'Stable machine-readable code, e.g. LEASE_SUPERSEDED.', examples: ['VALIDATION_FAILED'] }),
  message: Type.String({ description: 'What happened and what to do next.', examples: ['querystring/worker is required'] }),
  details: Type.Optional(Type.Unknown({ description: 'Extra facts to act on (ids, fields, current state).' })),
}, { $id: 'ErrorBody', description: 'Error answer' })
export type ErrorBody = Static<typeof ErrorBody>

/** Reference to the shared error schema, for response maps. */
export const ErrorRef = Type.Ref('ErrorBody')

/**
 * Error answers every route can give: bad input (400, 413, 415), a refused origin or Host (403), an
 * internal failure (500), the store unavailable or the server closing (503).
 */
export const commonErrors = { 400: ErrorRef, 403: ErrorRef, 413: ErrorRef, 415: ErrorRef, 500: ErrorRef, 503: ErrorRef } as const

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
