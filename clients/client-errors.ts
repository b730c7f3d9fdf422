/** The two ways a call to the coordination server fails: an error answer, or no answer at all. */
import type { ErrorBody } from '../src/schemas/common.js'
import type { CheckResult } from '../src/schemas/checks.js'
import type { Lease } from '../src/schemas/tasks.js'

/**
 * A non-2xx answer (other than `GET /tasks/next`'s 204 and 410, which are results). Carries the
 * server's error body `{ code, message, details? }`; `code` is `HTTP_<status>` when the body had none.
 */
export class CoordApiError extends Error {
  readonly statusCode: number
  readonly code: string
  readonly details?: unknown

  constructor (statusCode: number, body: Partial<ErrorBody>) {
    super(body.message ?? `HTTP ${statusCode}`)
    this.name = 'CoordApiError'
    this.statusCode = statusCode
    this.code = body.code ?? `HTTP_${statusCode}`
    if (body.details !== undefined) this.details = body.details
  }
}

/**
 * The `details` of a 422 CHECKS_FAILED answer to a `completed` report: the output failed the task's
 * checks. Unless `escalated`, the worker keeps the lease (`lease`, extended) to fix the output and
 * report again; once `rejections` reaches `maxRejections` the task goes to the engineer
 * (input-required), the lease ends and `escalated` is true.
 */
export interface ChecksFailure {
  taskId: string
  /** The checks that failed, in the task's order. */
  failed: CheckResult[]
  /** Every check run on this report, passed ones too. */
  checks: CheckResult[]
  /** Completed reports refused by the checks so far, this one included. */
  rejections: number
  maxRejections: number
  escalated: boolean
  /** The kept, extended lease (absent when escalated). */
  lease?: Lease
}

/** The check failure an error carries: a CoordApiError 422 CHECKS_FAILED with its details, else null. */
export function checksFailure (err: unknown): ChecksFailure | null {
  if (!(err instanceof CoordApiError) || err.statusCode !== 422 || err.code !== 'CHECKS_FAILED') return null
  const d = err.details as Partial<ChecksFailure> | undefined
  if (typeof d !== 'object' || d === null || !Array.isArray(d.failed)) return null
  return {
    taskId: String(d.taskId ?? ''),
    failed: d.failed,
    checks: Array.isArray(d.checks) ? d.checks : d.failed,
    rejections: Number(d.rejections ?? 0),
    maxRejections: Number(d.maxRejections ?? 0),
    escalated: d.escalated === true,
    ...(d.lease === undefined ? {} : { lease: d.lease }),
  }
}

/** The server could not be reached at all (refused, unknown host, reset before an answer, timeout). */
export class CoordConnectionError extends Error {
  /** The server base URL that was called. */
  readonly url: string
  /** true when nothing listens at `url` (ECONNREFUSED): the server is not running. */
  readonly refused: boolean

  /** @param cause the socket error (or CallTimeoutError) */
  constructor (url: string, cause: Error) {
    const refused = errorCodes(cause).includes('ECONNREFUSED')
    super(refused
      ? `Cannot connect to the coordination server at ${url}: connection refused. Is the server running? ` +
        'Start it with `coord serve` / `npm start`, or pass --url / set COORD_URL.'
      : `Request to the coordination server at ${url} failed: ${describe(cause)}`, { cause })
    this.name = 'CoordConnectionError'
    this.url = url
    this.refused = refused
  }
}

/** Error codes of an error, its cause and (for happy-eyeballs AggregateErrors) its parts. */
function errorCodes (err: unknown): string[] {
  if (typeof err !== 'object' || err === null) return []
  const e = err as { code?: unknown, cause?: unknown, errors?: unknown }
  const own = typeof e.code === 'string' ? [e.code] : []
  const parts = Array.isArray(e.errors) ? e.errors.flatMap(errorCodes) : []
  return [...own, ...parts, ...(e.cause !== undefined && e.cause !== err ? errorCodes(e.cause) : [])]
}

function describe (err: Error): string {
  const code = errorCodes(err)[0]
  const msg = err.message !== '' ? err.message : (err instanceof AggregateError ? err.errors.map((e: Error) => e.message).join('; ') : String(err))
  return code !== undefined && !msg.includes(code) ? `${msg} (${code})` : msg
}
