/**
 * Bodies are JSON only: `application/json` goes through our parser (`src/json-body.ts`: nesting depth,
 * finite numbers, unique keys, prototype-poisoning protection); a text/plain body is 415, not a
 * string that fails validation in a confusing way; so is a charset other than UTF-8. The body limit
 * (COORD_BODY_LIMIT, 413) still applies: fastify reads at most that many bytes before calling the parser.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { CoordError } from '../errors.js'
import { parseJsonBody } from '../json-body.js'

/**
 * The body is read as UTF-8 (RFC 8259 §8.1: JSON is UTF-8): a Content-Type naming another charset
 * (`charset=utf-16`) would be silently misread, so it is refused.
 * @throws CoordError UNSUPPORTED_MEDIA_TYPE (415)
 */
function checkCharset (contentType: string | undefined): void {
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '')
  if (match === null) return
  const charset = (match[1] ?? '').toLowerCase()
  if (charset !== 'utf-8' && charset !== 'utf8') {
    throw new CoordError('UNSUPPORTED_MEDIA_TYPE', `Content-Type names charset ${charset.slice(0, 32)}: bodies are read as UTF-8 only. ` +
      'Send UTF-8 JSON with Content-Type application/json (or charset=utf-8).')
  }
}

async function jsonBody (app: FastifyInstance): Promise<void> {
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    try {
      checkCharset(request.headers['content-type'])
      done(null, parseJsonBody(body as string))
    } catch (err) {
      done(err as Error, undefined)
    }
  })
}

/** Replaces fastify's JSON parser and removes its text/plain parser. */
export default fp(jsonBody, { name: 'json-body', fastify: '5.x', dependencies: ['errors'] })
