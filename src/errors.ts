/**
 * Every error the API can answer with, in one place: a stable `code`, an HTTP status and a message that
 * tells the caller what to do next. Modelled on fastify's `lib/errors.js`.
 *
 * The JSON body of every 4xx/5xx answer is `{ code, message, details? }` (see `ErrorBody` in
 * `src/schemas/common.ts`).
 */

/** Error codes, their HTTP status and a default message. */
export const errorCodes = {
  VALIDATION_FAILED: { status: 400, message: 'The request does not match the schema.' },
  INVALID_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  NESTING_TOO_DEEP: { status: 400, message: 'The JSON body nests objects and arrays deeper than 64 levels. Flatten it.' },
  BAD_URL: { status: 400, message: 'The URL path is not valid: a percent-escape does not decode to UTF-8. Encode ids with encodeURIComponent.' },
  BAD_REQUEST: { status: 400, message: 'The request is not valid HTTP/1.1. Check the request line and the headers.' },
  DUPLICATE_TASK_ID: { status: 400, message: 'A task id appears more than once in the batch.' },
  UNKNOWN_DEPENDENCY: { status: 400, message: 'dependsOn names a task that does not exist in this project.' },
  DEPENDENCY_CYCLE: { status: 400, message: 'dependsOn forms a cycle.' },
  DEPENDENCY_FAILED: { status: 400, message: 'dependsOn names a task that ended failed or canceled: it can never complete.' },
  INVALID_WORKSPACE: { status: 400, message: 'The workspace is not an allowed folder.' },
  INVALID_TASK: { status: 400, message: 'A task\'s checks or files are not valid.' },
  FEEDBACK_REQUIRED: { status: 400, message: 'A review with decision `changes` needs `feedback` saying what to change.' },
  CROSS_ORIGIN_REFUSED: { status: 403, message: 'Requests from web pages on other origins are refused.' },
  HOST_NOT_ALLOWED: { status: 403, message: 'The Host header is not a loopback name or an allowed host.' },
  TASK_NOT_FOUND: { status: 404, message: 'No task has this id.' },
  PROJECT_NOT_FOUND: { status: 404, message: 'No project has this name.' },
  QUESTION_NOT_FOUND: { status: 404, message: 'No question has this id.' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No route matches this method and path.' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request headers or body arrived too slowly; the connection is closed. Send the whole request at once.' },
  TASK_CONFLICT: { status: 409, message: 'A task with this id already exists with different content.' },
  PROJECT_CLOSED: { status: 409, message: 'The project is closed: no more tasks can be added to it.' },
  LEASE_UNKNOWN: { status: 409, message: 'This lease was never granted for this task.' },
  LEASE_NOT_YOURS: { status: 409, message: 'This lease belongs to another worker.' },
  LEASE_SUPERSEDED: { status: 409, message: 'Your lease expired and the task was claimed again by a newer lease.' },
  LEASE_ENDED: { status: 409, message: 'This lease has already ended.' },
  TASK_CANCELED: { status: 409, message: 'The coordinator canceled this task.' },
  TASK_FINISHED: { status: 409, message: 'The task is already finished.' },
  WORKER_BUSY: { status: 409, message: 'The worker already holds a live lease.' },
  NOT_IN_REVIEW: { status: 409, message: 'The task is not waiting for review.' },
  NOTHING_TO_ANSWER: { status: 409, message: 'The task does not wait for an answer.' },
  ALREADY_ANSWERED: { status: 409, message: 'The question was already answered.' },
  TASK_BEING_WORKED: { status: 409, message: 'A worker holds the task now: it cannot be amended.' },
  PROJECT_FINISHED: { status: 410, message: 'The project is closed and every task is finished. Stop polling.' },
  CHECKS_FAILED: { status: 422, message: 'The output failed the task\'s checks; fix it and report again.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is larger than the configured limit.' },
  URL_TOO_LONG: { status: 414, message: 'The request line (method and URL) is too long. Shorten the URL: ids are at most 128 characters.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the body as application/json.' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request line and headers exceed 16 KB. Send fewer or shorter headers and a shorter URL.' },
  INTERNAL: { status: 500, message: 'Internal server error; the server log has the details.' },
  SERVER_CLOSING: { status: 503, message: 'The server is shutting down. Retry in a moment (against the restarted server).' },
  STORAGE_UNAVAILABLE: { status: 503, message: 'The store cannot be written or read right now; nothing was changed. Retry later.' },
} as const

/** One of the stable error codes above. */
export type ErrorCode = keyof typeof errorCodes

/**
 * An error meant for the API caller. Routes and the lifecycle throw it; the error handler in
 * `src/plugins/errors.ts` turns it into `{ code, message, details? }` with `statusCode`.
 */
export class CoordError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly details?: unknown

  /**
   * @param code stable code from `errorCodes`
   * @param message what happened and what to do next; defaults to the code's generic message
   * @param details any JSON the caller can act on (ids, field names, the current task state)
   */
  constructor (code: ErrorCode, message?: string, details?: unknown) {
    super(message ?? errorCodes[code].message)
    this.name = 'CoordError'
    this.code = code
    this.statusCode = errorCodes[code].status
    if (details !== undefined) this.details = details
  }
}

/** The JSON body of an error answer for `code`: `{ code, message, details? }`. */
export function errorBody (code: ErrorCode, message?: string, details?: unknown): { code: ErrorCode, message: string, details?: unknown } {
  return { code, message: message ?? errorCodes[code].message, ...(details === undefined ? {} : { details }) }
}
