/**
 * Waits longer than the server's cap on one long poll (`COORD_MAX_WAIT_SECONDS`, 540 s by default) by
 * chaining polls, so that a chat spends one command on waiting however long it chooses to wait
 * (`coord next --wait 540`). Each poll asks for the whole remaining time; the server answers after at
 * most its cap, and the next poll continues until the total is spent or something happened.
 *
 * Times: every `wait*S` is seconds (as in the API); the clock is `Date.now()` milliseconds.
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { CallOptions, CoordClient } from './client.js'
import type { NextOutcome, NextQuery, ReportBody, ReportResult } from '../src/schemas/tasks.js'

/** Shortest time between two polls of a chain, in ms. */
const MIN_POLL_MS = 1000

/** How long to wait in all, and who hears how it goes. */
export interface LongWaitOptions extends CallOptions {
  /** Seconds to wait in all (0 = one poll that does not wait). */
  waitS: number
  /** Called after each poll that brought nothing while time remains: seconds waited so far and in all. */
  onProgress?: (waitedS: number, totalS: number) => void
  /** Clock in epoch ms, replaceable in tests. */
  now?: () => number
}

/** What a worker polls for (`NextQuery` without `wait`, which `LongWaitOptions.waitS` replaces). */
export type PollQuery = Omit<NextQuery, 'wait'>

/**
 * Long-poll `GET /tasks/next` for up to `opts.waitS` seconds in all, as many polls as the server's
 * cap requires. Resolves with the first `assigned` or `finished` outcome, or `empty` once the time is
 * spent.
 * @throws what `CoordClient.next` throws (CoordApiError, CoordConnectionError, the signal's reason)
 */
export async function nextWithin (client: CoordClient, query: PollQuery, opts: LongWaitOptions): Promise<NextOutcome> {
  const now = opts.now ?? Date.now
  const deadline = now() + opts.waitS * 1000
  for (;;) {
    const remainingS = Math.max(0, Math.ceil((deadline - now()) / 1000))
    const asked = now()
    const outcome = await client.next({ ...query, wait: remainingS }, { signal: opts.signal })
    if (outcome.status !== 'empty' || remainingS === 0 || now() >= deadline) return outcome
    // A poll that came back empty at once (another poll of the same worker took its place, or the
    // server allows no wait) must not turn the chain into a busy loop.
    if (now() - asked < MIN_POLL_MS) await delay(Math.min(MIN_POLL_MS, Math.max(0, deadline - now())), undefined, { signal: opts.signal })
    opts.onProgress?.(Math.round(opts.waitS - (deadline - now()) / 1000), opts.waitS)
  }
}

/**
 * Report, and in the same call wait for the next task (`?next=true`); when the server's cap ends that
 * wait with nothing, keep polling with `nextWithin` until `opts.waitS` seconds have passed in all.
 * The answer is the report's, with `next` the final outcome.
 * @throws what `CoordClient.report` and `CoordClient.next` throw (a refused report: CoordApiError 409)
 */
export async function reportThenNext (
  client: CoordClient,
  taskId: string,
  body: ReportBody,
  query: Omit<PollQuery, 'worker'>,
  opts: LongWaitOptions
): Promise<ReportResult> {
  const now = opts.now ?? Date.now
  const start = now()
  const result = await client.report(taskId, body, { ...query, next: true, wait: opts.waitS }, { signal: opts.signal })
  const leftS = opts.waitS - (now() - start) / 1000
  if (result.next?.status !== 'empty' || leftS < 1) return result
  opts.onProgress?.(Math.round(opts.waitS - leftS), opts.waitS)
  const progress = opts.onProgress === undefined
    ? undefined
    : (waitedS: number) => opts.onProgress?.(Math.round(opts.waitS - leftS) + waitedS, opts.waitS)
  const next = await nextWithin(client, { ...query, worker: body.worker }, { ...opts, waitS: Math.floor(leftS), onProgress: progress })
  return { ...result, next }
}
