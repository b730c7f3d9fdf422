/**
 * One call to the coordination server on `node:http`, retried when that is safe. Node's own HTTP
 * client costs nothing to load, where undici took about as long as Node's whole start (~0.1 s) and
 * every `coord` command is a fresh process (see `npm run bench`, bench/cli-start.ts).
 *
 * Times are milliseconds.
 */
import { Agent, request } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'

/**
 * Connection errors worth another attempt: nothing listens yet (a server starting or restarting), or
 * the connection broke before an answer ("socket hang up" is ECONNRESET). Timeouts are not retried:
 * a long poll that outlived `wait` + 30 s will not fare better.
 */
const RETRY_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE'])
/**
 * Statuses worth another attempt: 503 = STORAGE_UNAVAILABLE (the store is briefly busy; nothing was
 * changed) or the server is closing. Other 5xx and every 4xx are answers, not trouble in passing.
 */
const RETRY_STATUS_CODES = new Set([503])

/** How a call is retried: pause before retry n (1-based) `minDelayMs * 2^(n-1)`, at most `maxDelayMs`. */
export interface RetryPolicy {
  retries: number
  minDelayMs: number
  maxDelayMs: number
}

/** One request. `timeoutMs` is the longest silence on the connection (waiting for the answer, or within it). */
export interface HttpCall {
  url: URL
  method: 'GET' | 'POST' | 'PATCH'
  headers: Record<string, string>
  body: string | null
  timeoutMs: number
  /** null = send once. */
  retry: RetryPolicy | null
  signal?: AbortSignal
}

/** An answer: status and body text. */
export interface HttpAnswer {
  statusCode: number
  text: string
  /** The `Retry-After` header in ms, when the server sent one. */
  retryAfterMs?: number
}

/** The error of a call that got no answer within its `timeoutMs`. Not retried. */
export class CallTimeoutError extends Error {
  readonly code = 'COORD_TIMEOUT'
  constructor (ms: number) {
    super(`no answer within ${ms} ms`)
    this.name = 'CallTimeoutError'
  }
}

/** `Retry-After` (seconds, or an HTTP date) in ms; undefined when absent or unreadable. */
function retryAfter (header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string' || header === '') return undefined
  const seconds = Number(header)
  const ms = Number.isNaN(seconds) ? Date.parse(header) - Date.now() : seconds * 1000
  return Number.isNaN(ms) ? undefined : ms
}

/** One attempt. Rejects with the socket error, a CallTimeoutError, or the signal's reason. */
function attempt (send: typeof request, agent: Agent | undefined, call: HttpCall): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers = call.body === null ? call.headers : { ...call.headers, 'content-length': String(Buffer.byteLength(call.body)) }
    const req = send(call.url, { method: call.method, headers, agent }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, text, retryAfterMs: retryAfter(res.headers['retry-after']) }))
      res.on('error', reject)
    })
    const onAbort = (): void => { req.destroy(call.signal?.reason as Error) }
    if (call.signal !== undefined) {
      if (call.signal.aborted) onAbort()
      else call.signal.addEventListener('abort', onAbort, { once: true })
    }
    req.setTimeout(call.timeoutMs, () => req.destroy(new CallTimeoutError(call.timeoutMs)))
    req.on('error', reject)
    req.on('close', () => call.signal?.removeEventListener('abort', onAbort))
    req.end(call.body ?? undefined)
  })
}

/**
 * Send `call`, retrying (when `call.retry` allows) on refused or broken connections and on 503; a
 * `Retry-After` header replaces the computed pause (still capped at `maxDelayMs`). The last 503 is
 * returned as an answer.
 * @throws the last connection error or CallTimeoutError; the signal's reason when aborted
 */
export async function httpCall (agent: Agent, call: HttpCall): Promise<HttpAnswer> {
  // node:https (and TLS with it) only for an https URL: most servers are on localhost.
  const tls = call.url.protocol === 'https:'
  const send = tls ? (await import('node:https')).request : request
  for (let n = 1; ; n++) {
    const last = call.retry === null || n > call.retry.retries
    let answer: HttpAnswer | undefined
    try {
      answer = await attempt(send, tls ? undefined : agent, call)
    } catch (err) {
      if (call.signal?.aborted === true) throw call.signal.reason
      if (last || !RETRY_ERROR_CODES.has((err as { code?: string }).code ?? '')) throw err
    }
    if (answer !== undefined && (last || !RETRY_STATUS_CODES.has(answer.statusCode))) return answer
    const policy = call.retry as RetryPolicy
    const computed = policy.minDelayMs * 2 ** (n - 1)
    const pause = Math.min(answer?.retryAfterMs !== undefined && answer.retryAfterMs > 0 ? answer.retryAfterMs : computed, policy.maxDelayMs)
    try {
      await delay(pause, undefined, { signal: call.signal })
    } catch {
      throw call.signal?.reason
    }
  }
}
