/**
 * One error handler for the whole API: every failure becomes `{ code, message, details? }` with a 4xx
 * or 5xx status; stack traces go to the log only, with the request id.
 */
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { CoordError, type ErrorCode } from '../errors.js'
import type { ErrorBody } from '../schemas/common.js'

/** Fastify's own error codes, mapped to ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
}

function toBody (err: FastifyError): { status: number, body: ErrorBody } {
  if (err instanceof CoordError) {
    return { status: err.statusCode, body: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } }
  }
  if (err.validation !== undefined) {
    const details = err.validation.map((v) => ({ path: `${err.validationContext ?? ''}${v.instancePath}`, message: v.message, params: v.params }))
    return { status: 400, body: { code: 'VALIDATION_FAILED', message: `${err.message}. Fix the request and send it again.`, details } }
  }
  const mapped = FASTIFY_CODES[err.code]
  if (mapped !== undefined) {
    const e = new CoordError(mapped, mapped === 'INVALID_JSON' ? `The body is not valid JSON: ${err.message}` : undefined)
    return { status: e.statusCode, body: { code: e.code, message: e.message } }
  }
  if (err instanceof SyntaxError) return { status: 400, body: { code: 'INVALID_JSON', message: `The body is not valid JSON: ${err.message}` } }
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) return { status, body: { code: err.code ?? 'BAD_REQUEST', message: err.message } }
  return { status: 500, body: { code: 'INTERNAL', message: 'Internal server error; the server log has the details under this answer\'s x-request-id.' } }
}

async function errors (app: FastifyInstance): Promise<void> {
  // Every answer names its request id, so a caller can point at the matching log lines.
  app.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id) })
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { status, body } = toBody(err)
    if (status >= 500) request.log.error({ err }, 'request failed')
    else request.log.info({ code: body.code, status }, body.message)
    return reply.code(status).type('application/json').send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { code: 'ROUTE_NOT_FOUND', message: `No route ${request.method} ${request.url.split('?')[0]}. See /docs for the API.` }
    return reply.code(404).send(body)
  })
}

/** Registers the error and not-found handlers. */
export default fp(errors, { name: 'errors', fastify: '5.x' })
