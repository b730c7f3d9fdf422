/**
 * The task lifecycle's rules as pure functions: which report is accepted, where a task goes after a
 * failure or an expired lease, when a project is done, what may be canceled, what a refused report
 * keeps. `operations.ts` applies them inside a store transaction, so every store follows one set of
 * rules (the split pg-boss keeps between `manager.ts` and `plans.ts`).
 */
import type { ErrorCode } from '../errors.js'
import type { TaskState } from '../schemas/common.js'

import type { LeaseEnd } from '../store/store.js'

export type { LeaseEnd }

/** What the rules need to know about the lease a report or heartbeat names. */
export interface NamedLease {
  worker: string
  attempt: number
  endReason: LeaseEnd | null
  /** Whether this lease is the task's latest one (no newer claim happened since). */
  latest: boolean
}

/** What the rules need to know about the task a report or heartbeat names. */
export interface JudgedTask {
  state: TaskState
  attempts: number
  maxAttempts: number
  /** Worker holding the task's latest lease, for messages. */
  latestWorker: string | null
}

/** The verdict on a report or heartbeat. */
export type Verdict =
  | { kind: 'accept' }
  | { kind: 'duplicate' }
  | { kind: 'reject', code: ErrorCode, message: string }

/**
 * Decide whether a worker's report (or, with `status` null, its heartbeat) may change the task.
 *
 * At-least-once delivery means a worker may report late; what was done is not thrown away lightly:
 * - the task's latest lease, live or lapsed-but-not-reclaimed, is accepted (even if the task was
 *   dead-lettered by the expiry: the work is done after all);
 * - the same status reported again on a lease that already ended with it is a `duplicate` (a retry after
 *   a lost response must succeed, not 409);
 * - anything else is rejected with a code that says what happened.
 *
 * @param lease the named lease, or null if the task never granted it
 * @param status the reported status; null for a heartbeat
 */
export function judge (task: JudgedTask, lease: NamedLease | null, worker: string, status: 'completed' | 'failed' | 'blocked' | null): Verdict {
  if (lease === null) {
    return {
      kind: 'reject',
      code: 'LEASE_UNKNOWN',
      message: 'This task never granted that leaseId. Use the leaseId from your GET /tasks/next answer, or poll again.',
    }
  }
  if (lease.worker !== worker) {
    return { kind: 'reject', code: 'LEASE_NOT_YOURS', message: `That lease belongs to worker ${lease.worker}, not ${worker}. Use your own worker id.` }
  }
  if (status !== null && lease.endReason === status) return { kind: 'duplicate' }
  if (task.state === 'canceled') {
    return { kind: 'reject', code: 'TASK_CANCELED', message: 'The coordinator canceled this task; drop it and poll for the next one.' }
  }
  if (!lease.latest) {
    return {
      kind: 'reject',
      code: 'LEASE_SUPERSEDED',
      message: `Your lease (attempt ${lease.attempt}) expired and the task was claimed again${task.latestWorker ? ` by ${task.latestWorker}` : ''}. ` +
        'Your report was kept in the task history; drop the task and poll for the next one.',
    }
  }
  if (lease.endReason !== null && lease.endReason !== 'expired') {
    return { kind: 'reject', code: 'LEASE_ENDED', message: `This lease already ended (${lease.endReason}). Poll for your next task.` }
  }
  if (task.state === 'completed' || task.state === 'input-required' || task.state === 'review-required') {
    return { kind: 'reject', code: 'TASK_FINISHED', message: `The task is already ${task.state}.` }
  }
  // A heartbeat may revive a lapsed lease only while nobody else took the task (state submitted).
  if (status === null && lease.endReason === 'expired' && task.state !== 'submitted') {
    return {
      kind: 'reject',
      code: 'LEASE_ENDED',
      message: 'Your lease expired and the task ran out of attempts. Report the result if you finished it; otherwise poll again.',
    }
  }
  return { kind: 'accept' }
}

/**
 * Where a task goes after an attempt ended without success (a `failed` report or an expired lease).
 * The attempt was counted when it was claimed; at `maxAttempts` the task is dead-lettered as `failed`.
 */
export function afterUnsuccessfulAttempt (attempts: number, maxAttempts: number): 'submitted' | 'failed' {
  return attempts >= maxAttempts ? 'failed' : 'submitted'
}

/** Where an accepted report moves the task. */
export function afterReport (status: 'completed' | 'failed' | 'blocked', attempts: number, maxAttempts: number): TaskState {
  if (status === 'completed') return 'completed'
  if (status === 'blocked') return 'input-required'
  return afterUnsuccessfulAttempt(attempts, maxAttempts)
}

/** States in which a task still needs someone: it keeps its project from being done. */
export const OPEN_STATES: readonly TaskState[] = ['submitted', 'working', 'input-required', 'review-required']

/** A project is done when the coordinator closed it and none of its tasks is still open. */
export function projectDone (closed: boolean, openTasks: number): boolean {
  return closed && openTasks === 0
}

/** A task in one of these states can no longer be canceled (canceling a canceled task is a no-op). */
export function cancelRefusal (state: TaskState): string | null {
  return state === 'completed' || state === 'failed' ? `the task is already ${state}; only unfinished tasks can be canceled` : null
}

/**
 * Attempts after a lease is given back unused (its requester disconnected before the answer was
 * written): the claim did not count.
 */
export function attemptsAfterRelease (attempts: number): number {
  return Math.max(0, attempts - 1)
}

/**
 * The wait before a failed attempt's task is offered again: `baseMs · 2^(attempt−1)`, capped at `maxMs`
 * (exponential backoff, as in AWS's "Exponential Backoff And Jitter", without the jitter: one server
 * decides every retry, so there is no herd to spread). A lapsed lease is not the task's fault and is
 * re-offered at once (no backoff). Times in ms.
 */
export function retryBackoffMs (attempt: number, baseMs: number, maxMs: number): number {
  if (baseMs <= 0) return 0
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt - 1), 30))
}

/** Largest `details` kept with a refused report, in bytes of JSON; larger ones are replaced by a note. */
export const REFUSED_DETAILS_MAX_BYTES = 4096

/**
 * The `details` to store with a report: all of it when accepted; for a refused report (which anyone
 * can send with an unknown lease) at most `REFUSED_DETAILS_MAX_BYTES`, else a note of its size.
 */
export function keptDetails (details: Record<string, unknown> | undefined, accepted: boolean): Record<string, unknown> | null {
  if (details === undefined) return null
  if (accepted) return details
  const size = Buffer.byteLength(JSON.stringify(details))
  return size <= REFUSED_DETAILS_MAX_BYTES ? details : { truncated: true, bytes: size }
}
