/**
 * Bodies are JSON only: `application/json` goes through our parser (`src/json-body.ts`: nesting depth,
 * finite numbers, unique keys, prototype-poisoning protection); a text/plain body is 415, not a
 * string that fails validation in a confusing way. The body limit (COORD_BODY_LIMIT, 413) still
 * applies: fastify reads at most that many bytes before calling the parser.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { parseJsonBody } from '../json-body.js'

async function jsonBody (app: FastifyInstance): Promise<void> {
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string))
    } catch (err) {
      done(err as Error, undefined)
    }
  })
}

/** Replaces fastify's JSON parser and removes its text/plain parser. */
export default fp(jsonBody, { name: 'json-body', fastify: '5.x', dependencies: ['errors'] })
