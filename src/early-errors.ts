/**
 * Answers for requests refused before they reach a route, in the API's `{ code, message }` shape:
 * - `frameworkErrors` (a fastify option): a path that does not percent-decode (`/tasks/%ff`), a path
 *   parameter longer than the router's maxParamLength;
 * - `clientErrorHandler` (a fastify option, node's `clientError` event): malformed HTTP, a request
 *   line and headers over node's 16 KB limit, a request whose headers or body arrive too slowly.
 * Neither echoes the URL or the bytes received: the answer names the problem only.
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { errorBody, errorCodes, type ErrorCode } from './errors.js'

/** Fastify's router errors, mapped to ours. */
const ROUTER_CODES: Record<string, { code: ErrorCode, message?: string }> = {
  FST_ERR_BAD_URL: { code: 'BAD_URL' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'VALIDATION_FAILED', message: 'A path parameter is longer than 256 characters; ids are at most 128. Fix the URL.' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'INTERNAL' },
}

/** Fastify `frameworkErrors`: the router refused the URL before any route ran. */
export function frameworkErrors (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { code, message } = ROUTER_CODES[error.code] ?? { code: 'BAD_REQUEST' as const }
  const status = errorCodes[code].status
  if (status >= 500) request.log.error({ err: error }, 'request failed before routing')
  else request.log.info({ code, status }, 'request refused before routing')
  void reply.code(status).header('x-request-id', request.id).type('application/json; charset=utf-8').send(JSON.stringify(errorBody(code, message)))
}

/** Our code for a node HTTP parser error (`err.code`, e.g. HPE_HEADER_OVERFLOW). */
function clientErrorCode (err: Error & { code?: string, rawPacket?: unknown }): ErrorCode {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT'
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    // Still inside the request line (a method, then no line break yet): the URL is what is too long.
    const packet = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.toString('latin1', 0, 16384) : ''
    return /^[A-Z]+ [^\r\n]*$/.test(packet) ? 'URL_TOO_LONG' : 'HEADERS_TOO_LARGE'
  }
  return 'BAD_REQUEST'
}

/**
 * Fastify `clientErrorHandler`, called with node's `clientError` event (`this` is the fastify
 * instance): write a JSON error answer, if the socket can still take one, and close the connection.
 */
export function clientErrorHandler (this: { log: FastifyRequest['log'] }, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const code = clientErrorCode(err)
  const status = errorCodes[code].status
  this.log.info({ code, status, parserError: err.code }, 'client error before a request was read')
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const body = JSON.stringify(errorBody(code))
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () => socket.destroy())
  // A client that never reads must not keep the socket: give the answer a second to drain.
  setTimeout(() => socket.destroy(), 1000).unref()
}
