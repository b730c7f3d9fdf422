/**
 * `coord events --follow`: long-poll the events feed forever, printing each event once, and ride out
 * a server that is not up yet, restarting, closing or briefly failing.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Event } from '../src/schemas/events.js'
import { CoordApiError, CoordConnectionError, type CoordClient } from './client.js'

/** Pauses in ms after a failed poll: the first, doubled after each further failure up to the cap. */
export interface Backoff {
  firstMs: number
  maxMs: number
}

/** The CLI's pauses: 1 s, 2 s, 4 s, ... 30 s; back to 1 s after a poll succeeds. */
export const FOLLOW_BACKOFF: Backoff = { firstMs: 1000, maxMs: 30_000 }

/** An empty page that came back sooner than this (ms) is followed by a pause of this length. */
const MIN_EMPTY_POLL_MS = 1000

/** What to follow and where output goes. */
export interface FollowOptions {
  /** Last seq already seen (0 = from the start). */
  after: number
  /** Long-poll wait in seconds of each request (the server caps it). */
  wait: number
  project?: string
  limit?: number
  /** Called once per event, in seq order. */
  print: (event: Event) => void
  /** Called with a line for the user when a poll failed and is retried. */
  warn: (message: string) => void
  backoff?: Backoff
  /** Stop following; `followEvents` then resolves. */
  signal?: AbortSignal
}

/**
 * Follow the events feed until `signal` aborts. A poll that fails with no answer (after the client's
 * own retries) or with a 5xx is retried after a pause growing from `backoff.firstMs` to
 * `backoff.maxMs`, so a server that is down costs a bounded number of requests; the first poll that
 * succeeds resets the pause. An empty page that came back early (the server's wait cap is 0, or it
 * is closing) is followed by a 1 s pause rather than an immediate re-poll.
 * @throws CoordApiError 4xx: the request itself is wrong (e.g. a bad project name), retrying will not help
 */
export async function followEvents (client: CoordClient, opts: FollowOptions): Promise<void> {
  const { signal } = opts
  const backoff = opts.backoff ?? FOLLOW_BACKOFF
  let after = opts.after
  let pauseMs = 0
  while (!aborted(signal)) {
    const started = performance.now()
    let page
    try {
      page = await client.events({ project: opts.project, limit: opts.limit, after, wait: opts.wait }, { signal })
    } catch (err) {
      if (aborted(signal)) return
      if (!isTransient(err)) throw err
      pauseMs = pauseMs === 0 ? backoff.firstMs : Math.min(pauseMs * 2, backoff.maxMs)
      opts.warn(`${(err as Error).message}\nRetrying in ${pauseMs / 1000} s (after=${after}).`)
      if (!(await pause(pauseMs, signal))) return
      continue
    }
    pauseMs = 0
    for (const e of page.events) opts.print(e)
    after = page.nextAfter
    if (page.events.length === 0 && performance.now() - started < MIN_EMPTY_POLL_MS) {
      if (!(await pause(MIN_EMPTY_POLL_MS, signal))) return
    }
  }
}

/** No answer, or a 5xx (503 while storage is unavailable or the server is closing). */
function isTransient (err: unknown): boolean {
  return err instanceof CoordConnectionError || (err instanceof CoordApiError && err.statusCode >= 500)
}

/** A function, not an inline test, so TypeScript does not narrow `aborted` across awaits. */
function aborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/** Sleep `ms`; false when `signal` aborted it. */
async function pause (ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal })
    return true
  } catch {
    return false
  }
}
