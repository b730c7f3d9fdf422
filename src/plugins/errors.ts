/**
 * One error handler for the whole API: every failure becomes `{ code, message, details? }` with a 4xx
 * or 5xx status and a code from `src/errors.ts`; stack traces go to the log only, with the request id.
 * Answers refused before routing are in `src/early-errors.ts`. While the server closes, new requests
 * get 503 SERVER_CLOSING (fastify's own 503 body is not ours, so `return503OnClosing` is off).
 */
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { CoordError, errorBody, type ErrorCode } from '../errors.js'
import type { ErrorBody } from '../schemas/common.js'

/** Fastify's own error codes, mapped to ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_BAD_URL: 'BAD_URL',
}

/** Other 4xx statuses (from fastify or a plugin such as the Swagger UI's static files), by status. */
const STATUS_CODES: Record<number, ErrorCode> = {
  404: 'ROUTE_NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URL_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
}

/** A regex says little to a chat: a pattern error adds the field's description (`(Task id: letters, digits …)`). */
function inWords (v: { keyword: string, parentSchema?: unknown }): string {
  const description = (v.parentSchema as { description?: unknown } | undefined)?.description
  return v.keyword === 'pattern' && typeof description === 'string' ? ` (${description.replace(/\.$/, '')})` : ''
}

function toBody (err: FastifyError): { status: number, body: ErrorBody } {
  if (err instanceof CoordError) return { status: err.statusCode, body: errorBody(err.code, err.message, err.details) }
  if (err.validation !== undefined) {
    const details = err.validation.map((v) => ({
      path: `${err.validationContext ?? ''}${v.instancePath}`, message: `${v.message ?? ''}${inWords(v)}`, params: v.params,
    }))
    const first = err.validation[0]
    const words = first === undefined ? '' : inWords(first)
    return { status: 400, body: { code: 'VALIDATION_FAILED', message: `${err.message}${words}. Fix the request and send it again.`, details } }
  }
  const mapped = FASTIFY_CODES[err.code]
  if (mapped !== undefined) {
    const e = new CoordError(mapped, mapped === 'INVALID_JSON' ? `The body is not valid JSON: ${err.message}` : undefined)
    return { status: e.statusCode, body: errorBody(e.code, e.message) }
  }
  if (err instanceof SyntaxError) return { status: 400, body: errorBody('INVALID_JSON', `The body is not valid JSON: ${err.message}`) }
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) {
    // A 4xx we did not plan for: one of our codes, never the thrower's (which may echo the request).
    const code = STATUS_CODES[status] ?? 'BAD_REQUEST'
    const e = new CoordError(code)
    return { status: e.statusCode, body: errorBody(code) }
  }
  return { status: 500, body: errorBody('INTERNAL', 'Internal server error; the server log has the details under this answer\'s x-request-id.') }
}

async function errors (app: FastifyInstance): Promise<void> {
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  // Every answer names its request id, so a caller can point at the matching log lines.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
    if (closing) throw new CoordError('SERVER_CLOSING')
  })
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { status, body } = toBody(err)
    if (status >= 500) request.log.error({ err }, 'request failed')
    else request.log.info({ code: body.code, status, err: err instanceof CoordError ? undefined : err.message }, body.message)
    return reply.code(status).type('application/json').send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    // The path is not echoed back: the caller has it, and it may be 16 KB of anything.
    const body: ErrorBody = errorBody('ROUTE_NOT_FOUND', `No route matches ${request.method} on this path. See /docs for the API.`)
    return reply.code(404).send(body)
  })
}

/** Registers the error and not-found handlers. */
export default fp(errors, { name: 'errors', fastify: '5.x' })
