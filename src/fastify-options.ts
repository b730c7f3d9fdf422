/**
 * Fastify constructor options shared by the server and the tests, so both validate and limit requests
 * the same way (the fastify/demo pitfall of a test helper building a bare `Fastify()`).
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, Server } from 'node:http'
import type { FastifyHttpOptions } from 'fastify'
import type { Config } from './config.js'
import { clientErrorHandler, frameworkErrors } from './early-errors.js'
import { buildValidator } from './validation.js'

/**
 * Timeouts (config in seconds, node wants ms). Node's `requestTimeout` and `headersTimeout` only
 * count until the request is fully received, so they never cut a long poll's answer; the idle
 * timeout (`connectionTimeout`, no bytes either way) would, hence COORD_IDLE_TIMEOUT_SECONDS must
 * exceed COORD_MAX_WAIT_SECONDS (checked in `loadConfig`).
 */
function timeouts (config: Config): Pick<FastifyHttpOptions<Server>, 'connectionTimeout' | 'keepAliveTimeout' | 'requestTimeout' | 'http'> {
  const headersTimeout = config.COORD_HEADERS_TIMEOUT_SECONDS * 1000
  const requestTimeout = config.COORD_REQUEST_TIMEOUT_SECONDS * 1000
  return {
    connectionTimeout: config.COORD_IDLE_TIMEOUT_SECONDS * 1000,
    keepAliveTimeout: config.COORD_KEEP_ALIVE_SECONDS * 1000,
    requestTimeout,
    // Node checks the two timeouts every connectionsCheckingInterval (default 30 s): check often
    // enough that a 1 s timeout is kept to within a quarter of it.
    // requireHostHeader: node answers a request without Host with an empty 400; the security plugin
    // refuses it (and two Host headers) with our JSON 400 instead.
    http: { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.min(1000, headersTimeout / 4), requireHostHeader: false },
  }
}

/** What a caller-given x-request-id may be: 1 to 128 letters, digits and `._:-`. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The request id: the caller's x-request-id when it is safe (`SAFE_REQUEST_ID`), else a random UUID. */
function requestId (req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID()
}

/**
 * @param logger a pino logger options object, or false for none (tests)
 */
export function fastifyOptions (config: Config, logger: FastifyHttpOptions<Server>['logger']): FastifyHttpOptions<Server> {
  return {
    logger,
    bodyLimit: config.COORD_BODY_LIMIT,
    ...timeouts(config),
    // Ids may be 128 characters; longer path parameters get our 400, not fastify's 414.
    routerOptions: { maxParamLength: 256 },
    // A caller's x-request-id is kept only if it is a short, plain id; anything else (5,000 characters,
    // spaces, two headers joined by a comma) would be echoed and logged as is, so it gets a fresh UUID.
    requestIdHeader: false,
    genReqId: requestId,
    // Parked long polls are answered in preClose; new requests while closing get our 503
    // SERVER_CLOSING from the errors plugin (fastify's own 503 body is not `{ code, message }`).
    return503OnClosing: false,
    // Bodies are validated strictly (no coercion), query strings and params coerced from text;
    // numbers must be finite. See src/validation.ts.
    schemaController: { compilersFactory: { buildValidator } },
    // Errors before routing (bad URL, malformed HTTP, timeouts) answer `{ code, message }` too.
    frameworkErrors,
    clientErrorHandler,
  }
}
