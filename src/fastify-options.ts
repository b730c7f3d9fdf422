/**
 * Fastify constructor options shared by the server and the tests, so both validate and limit requests
 * the same way (the fastify/demo pitfall of a test helper building a bare `Fastify()`).
 */
import { randomUUID } from 'node:crypto'
import type { FastifyServerOptions } from 'fastify'
import type { Config } from './config.js'

/**
 * @param logger a pino logger options object, or false for none (tests)
 */
export function fastifyOptions (config: Config, logger: FastifyServerOptions['logger']): FastifyServerOptions {
  return {
    logger,
    bodyLimit: config.COORD_BODY_LIMIT,
    // Ids may be 128 characters; longer path parameters get our 400, not fastify's 414.
    routerOptions: { maxParamLength: 256 },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Parked long polls are answered in preClose; refuse new requests while closing.
    return503OnClosing: true,
    ajv: {
      customOptions: {
        removeAdditional: false, // unknown body fields are an error, not silently dropped
        useDefaults: true,
        coerceTypes: 'array', // query strings arrive as text
        allErrors: false,
      },
    },
  }
}
