/**
 * The loop every program that works tasks runs: long-poll `GET /tasks/next`, do the task, report it
 * and get the next task in the same call (`POST /tasks/{id}/report?next=true`), until the project is
 * finished (410). A completed report the task's checks refuse (422) goes back to the work with what
 * failed. The demo workers, the bench and the tests all run this one loop.
 */
import { checksFailure, CoordApiError, type CallOptions, type CoordClient } from './client.js'
import type { CheckResult } from '../src/schemas/checks.js'
import type { Assignment, NextOutcome, ReportBody, ReportResult } from '../src/schemas/tasks.js'

/** Who polls and for what. */
export interface WorkerLoopOptions {
  worker: string
  /** Only this project's tasks (and stop when it is finished). */
  project?: string
  /** Only tasks of this type. */
  type?: string
  /** Long-poll wait in seconds of each poll and report-and-next (the server caps it). */
  wait: number
}

/** What the work produced: the report without `worker` and `leaseId`, which the loop fills in. */
export type WorkResult = Omit<ReportBody, 'worker' | 'leaseId'>

/**
 * A `completed` report the task's checks refused (422 CHECKS_FAILED), handed back to `handle` with the
 * same task to fix the output: `failed` says what. The lease is already extended.
 */
export interface ChecksRejection {
  failed: CheckResult[]
  /** Completed reports refused so far on this task, this one included, and how many are allowed before it goes to the engineer. */
  rejections: number
  maxRejections: number
}

/** Optional controls of `runWorker`. */
export interface WorkerLoopHooks {
  /**
   * Stop the loop. A pending long poll is abandoned (the server gives a gone poll nothing); a task
   * being worked is still reported, without asking for the next one; then `runWorker` resolves.
   */
  signal?: AbortSignal
  /** Called after each accepted report (`result.duplicate` = the report had already been taken). */
  onReport?: (assignment: Assignment, sent: ReportBody, result: ReportResult) => void
}

/** What a worker did. */
export interface WorkerCounts {
  /** Accepted reports by status. */
  completed: number
  failed: number
  blocked: number
  /**
   * Reports refused with 409: the task was no longer this worker's (its lease lapsed and another
   * worker took it, or it was canceled). The loop carries on with the next task.
   */
  refused: number
  /** Completed reports refused by the task's checks (422); each was handed back to `handle` to fix, unless escalated. */
  rejected: number
  /** Tasks whose checks refused one report too many: they went to the engineer and the loop took the next task. */
  escalated: number
  /** `finished` = 410, the project is closed and every task finished; `aborted` = the signal stopped it. */
  ended: 'finished' | 'aborted'
}

/** How working one task ended: reported (accepted), refused (409), or sent to the engineer by its checks. */
type TaskEnd = { kind: 'reported', result: ReportResult } | { kind: 'refused' } | { kind: 'escalated' } | { kind: 'stopped' }

/**
 * Run the worker loop until the project is finished or `hooks.signal` aborts. `handle` does one task
 * and says how it went; its result is reported with the lease, and the answer carries the next task.
 * A completed report the checks refuse (422) goes back to `handle` with the same assignment (its lease
 * extended) and the `ChecksRejection`; once the task is escalated the loop polls again.
 * Connection errors and 503 are retried by the client (see `RetryOptions`); a report refused with
 * 409 is counted in `refused` and the loop polls again.
 * @throws whatever `handle` throws (the lease then lapses and the task is retried after its lease
 *   time), CoordApiError other than a report's 409 and 422, CoordConnectionError once the client's
 *   retries are spent
 */
export async function runWorker (
  client: CoordClient,
  opts: WorkerLoopOptions,
  handle: (assignment: Assignment, rejection?: ChecksRejection) => Promise<WorkResult>,
  hooks: WorkerLoopHooks = {}
): Promise<WorkerCounts> {
  const { worker, wait } = opts
  const filter = { project: opts.project, type: opts.type }
  const { signal } = hooks
  const counts = { completed: 0, failed: 0, blocked: 0, refused: 0, rejected: 0, escalated: 0 }

  /** Work one task to its end: handle, report, and again while the checks send the work back. */
  const work = async (first: Assignment): Promise<TaskEnd> => {
    let assignment = first
    let rejection: ChecksRejection | undefined
    for (;;) {
      const sent: ReportBody = { ...(await handle(assignment, rejection)), worker, leaseId: assignment.lease.leaseId }
      try {
        const result = await reportAndNext(client, assignment.task.id, sent, { next: true, wait, ...filter }, signal)
        counts[sent.status]++
        hooks.onReport?.(assignment, sent, result)
        return { kind: 'reported', result }
      } catch (err) {
        const failure = checksFailure(err)
        if (failure === null) {
          if (err instanceof CoordApiError && err.statusCode === 409) return { kind: 'refused' }
          throw err
        }
        counts.rejected++
        if (failure.escalated || failure.lease === undefined) return { kind: 'escalated' }
        // Stopping: the unfinished fix is not reported; the kept lease lapses and the task is offered again.
        if (stopped(signal)) return { kind: 'stopped' }
        assignment = { ...assignment, lease: failure.lease }
        rejection = { failed: failure.failed, rejections: failure.rejections, maxRejections: failure.maxRejections }
      }
    }
  }

  let outcome: NextOutcome | null = null
  while (!stopped(signal)) {
    outcome ??= await stoppable(() => client.next({ worker, wait, ...filter }, { signal }), signal)
    if (outcome === null) break
    if (outcome.status === 'finished') return { ...counts, ended: 'finished' }
    if (outcome.status === 'empty') {
      outcome = null
      continue
    }
    const end = await work(outcome.assignment)
    if (end.kind === 'refused') counts.refused++
    if (end.kind === 'escalated') counts.escalated++
    outcome = end.kind === 'reported' ? end.result.next ?? null : null
  }
  return { ...counts, ended: 'aborted' }
}

/**
 * Report and ask for the next task; once stopping, report only. A report-and-next cut short by the
 * signal may or may not have been taken, so the report is sent again: an identical repeat is safe
 * (the server answers `duplicate: true`).
 */
async function reportAndNext (
  client: CoordClient, taskId: string, sent: ReportBody, query: Parameters<CoordClient['report']>[2], signal: AbortSignal | undefined
): Promise<ReportResult> {
  if (!stopped(signal)) {
    try {
      return await client.report(taskId, sent, query, { signal })
    } catch (err) {
      if (!stopped(signal)) throw err
    }
  }
  return await client.report(taskId, sent)
}

/** Run `call`; null when `signal` aborted it. */
async function stoppable<T> (call: () => Promise<T>, signal: CallOptions['signal']): Promise<T | null> {
  try {
    return await call()
  } catch (err) {
    if (stopped(signal)) return null
    throw err
  }
}

/** A function, not an inline test, so TypeScript does not narrow `aborted` across awaits. */
function stopped (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}
