/**
 * Refuse requests a browsing engineer's other tabs could send: a web page on another origin (Origin or
 * Referer not this server, or `Sec-Fetch-Site` other than same-origin/none, per the Fetch Metadata spec) and DNS
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

/**
 * Whether the URL `value` (an Origin or Referer) is this server: same scheme, host and port. This
 * server speaks plain http, so an https page on the same host:port is another origin. Unparsable: no.
 */
function isThisServer (value: string, host: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'http:' && url.host.toLowerCase() === host.toLowerCase()
  } catch {
    return false
  }
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
    if (origin !== undefined && host !== undefined && !isThisServer(origin, host)) {
      throw new CoordError('CROSS_ORIGIN_REFUSED', `Origin ${origin.slice(0, 100)} is not this server: requests from other web pages are refused. ` +
        'Use curl, the coord CLI or the Swagger UI at /docs.')
    }
    // A browser without Fetch Metadata (before 2020-23) sends neither Sec-Fetch-Site nor Origin with an
    // <img> or <a> GET, but does send the page it came from as Referer: one from another site is
    // refused too, so such a GET cannot claim a task. (A page that also suppresses Referer on such a
    // browser is the remaining gap; see README, Safety.) The Referer is not echoed: its path may be private.
    const referer = request.headers.referer
    if (referer !== undefined && host !== undefined && !isThisServer(referer, host)) {
      throw new CoordError('CROSS_ORIGIN_REFUSED', 'Referer is another site: requests from other web pages are refused. ' +
        'Use curl, the coord CLI or the Swagger UI at /docs.')
    }
  })
}

/** Registers the cross-origin and Host checks as an onRequest hook. */
export default fp(security, { name: 'security', fastify: '5.x', dependencies: ['errors'] })
