/**
 * Refuse requests a browsing engineer's other tabs could send: a web page on another origin (Origin not
 * this server, or `Sec-Fetch-Site` other than same-origin/none, per the Fetch Metadata spec) and DNS
 * rebinding (a Host header that is not a loopback name or an allowed host). A request must carry exactly
 * one Host header (400 otherwise, as JSON: node's own check for a missing Host is turned off in
 * `fastifyOptions` because it answers with an empty body).
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { CoordError } from '../errors.js'

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])

/** The host name of a Host header (`name:port` or `[v6]:port`), lower-cased. */
function hostName (host: string): string {
  const h = host.trim().toLowerCase()
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1)
  return h.replace(/:\d+$/, '')
}

/** How many Host headers node received (`rawHeaders` is name, value, name, value …). */
function hostCount (rawHeaders: string[]): number {
  let n = 0
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === 'host') n++
  return n
}

/** Options: extra host names to accept, e.g. from COORD_ALLOWED_HOSTS. */
export interface SecurityOptions {
  allowedHosts: string[]
}

async function security (app: FastifyInstance, opts: SecurityOptions): Promise<void> {
  const allowed = new Set([...LOOPBACK_HOSTS, ...opts.allowedHosts.map((h) => h.trim().toLowerCase()).filter(Boolean)])
  app.addHook('onRequest', async (request) => {
    // Exactly one Host: node keeps the first of two, which a proxy in front may read differently; and
    // without one the rebinding and origin checks below would have nothing to compare.
    const hosts = hostCount(request.raw.rawHeaders)
    if (hosts !== 1) {
      throw new CoordError('BAD_REQUEST', hosts === 0
        ? 'The request has no Host header. Send Host: localhost:<port> (curl and browsers do).'
        : 'The request has more than one Host header. Send exactly one.')
    }
    const host = request.headers.host
    if (host !== undefined) {
      const name = hostName(host)
      if (!allowed.has(name) && !name.endsWith('.localhost')) {
        throw new CoordError('HOST_NOT_ALLOWED', `Host ${name} is not allowed. Use localhost or 127.0.0.1, or add the name to COORD_ALLOWED_HOSTS.`)
      }
    }
    const site = request.headers['sec-fetch-site']
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw new CoordError('CROSS_ORIGIN_REFUSED', `Sec-Fetch-Site ${String(site)}: requests from other web pages are refused. ` +
        'Use curl, the coord CLI or the Swagger UI at /docs.')
    }
    const origin = request.headers.origin
    if (origin !== undefined && host !== undefined) {
      // Same origin is same scheme, host and port: this server speaks plain http, so an https page
      // on the same host:port is another origin.
      let originHost: string | null = null
      try {
        const url = new URL(origin)
        originHost = url.protocol === 'http:' ? url.host.toLowerCase() : null
      } catch { originHost = null }
      if (originHost !== host.toLowerCase()) {
        throw new CoordError('CROSS_ORIGIN_REFUSED', `Origin ${origin} is not this server: requests from other web pages are refused. ` +
          'Use curl, the coord CLI or the Swagger UI at /docs.')
      }
    }
  })
}

/** Registers the cross-origin and Host checks as an onRequest hook. */
export default fp(security, { name: 'security', fastify: '5.x', dependencies: ['errors'] })
