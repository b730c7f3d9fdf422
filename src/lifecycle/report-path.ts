/**
 * The report path: `POST /tasks/{id}/report`, optionally followed by the worker's next claim. The report
 * and that claim run in one store transaction (one commit per worker cycle), which also serves polls
 * already parked for the same work; a task with checks has them run outside the transaction, then the
 * report is judged again. What it needs from the lifecycle is taken explicitly through `ReportDeps`.
 *
 * A committed report never fails because of what runs after the commit: a failing follow-up poll
 * answers `empty` (poll again).
 *
 * Times: every `*Ms` and `now` is epoch / milliseconds; API timestamps are ISO strings.
 */
import type { FastifyBaseLogger } from 'fastify'
import { CoordError } from '../errors.js'
import type { Assignment, NextOutcome, ReportBody, ReportResult } from '../schemas/tasks.js'
import type { CheckResult } from '../schemas/checks.js'
import type { ClaimFilter, Store } from '../store/store.js'
import { answerResults } from '../checks/answer-results.js'
import { runChecks } from '../checks/run-checks.js'
import { matchesStored as globMatches } from './file-globs.js'
import * as ops from './operations.js'
import { report, type ReportOutcome, type ReportPolicy } from './report-ops.js'
import { groupKey } from './parked-polls.js'
import { assigned, empty, type PollDispatcher } from './dispatch.js'
import type { WorkflowConfig } from './lifecycle-config.js'

/** The worker's next long poll to run after its report: `waitMs` in ms; `signal` aborts when the client disconnects. */
export interface ReportNext {
  filter: ClaimFilter
  waitMs: number
  signal?: AbortSignal
}

/** What the report path takes from the lifecycle. */
export interface ReportDeps {
  store: Store
  log: FastifyBaseLogger
  /** Clock in epoch ms. */
  now: () => number
  /** The lifecycle's parked-poll dispatcher: serves parked polls in the report's transaction, and tells whether a worker has one parked. */
  polls: PollDispatcher
  /** Shared with the lifecycle's other claims (`ops.claim` sets `heldByFiles` in it). */
  claimNotes: ops.ClaimNotes
  /** The lifecycle's workflow settings (check rejections, retry backoff in ms, command checks). */
  workflow: WorkflowConfig
  /** Whether the lifecycle was stopped: the next claim then never runs inside the report's transaction. */
  stopped: () => boolean
  /** A lease was granted: make sure the lease timer fires by its deadline. */
  leaseDue: (a: { lease: { expiresAt: string } }) => void
  /** A task becomes offerable at `at` (epoch ms): make sure parked polls hear of it then. */
  availableDue: (at: number) => void
  /** Run post-commit work; a failure is logged, never thrown. */
  afterCommit: (what: string, fn: () => Promise<void>) => Promise<void>
  /** Record that `worker` made a request (presence). */
  touch: (worker: string) => Promise<void>
  /** The lifecycle's `GET /tasks/next` (`waitMs` in ms), for the poll after a report whose claim found nothing. */
  next: (worker: string, filter: ClaimFilter, waitMs: number, signal?: AbortSignal) => Promise<NextOutcome>
}

/** The report path `TaskLifecycle.report` delegates to; see the module comment. */
export class ReportPath {
  constructor (private readonly deps: ReportDeps) {}

  /**
   * Commit `body` as the report on `taskId`, then claim or poll for the worker's next task when `next`
   * is given. Resolves with the answer, whose `next` is set when `next` was given.
   * @throws CoordError (409) the refusal, when the report was refused (it is kept in the task history)
   */
  async report (taskId: string, body: ReportBody, next?: ReportNext, idempotencyKey?: string): Promise<ReportResult> {
    const { polls, workflow } = this.deps
    const inline = next !== undefined && this.mayClaimAtOnce(body.worker, next.signal)
    let checkResults: CheckResult[] | undefined
    for (;;) {
      const now = this.deps.now()
      const policy: ReportPolicy = {
        checkResults,
        maxCheckRejections: workflow.maxCheckRejections,
        retryBaseMs: workflow.retryBaseMs,
        retryMaxMs: workflow.retryMaxMs,
        idempotencyKey,
      }
      // Report and next claim in one transaction (one commit per worker cycle); polls already parked for
      // the same work are served first, in that transaction too (longest-waiting first). The claim may not
      // fail the report: a refused claim (CoordError) leaves the report to commit alone and the poll below runs.
      const { outcome, claimed, notices } = await polls.transactServing(now, async (tx, serve) => {
        const outcome = await report(tx, taskId, body, now, policy)
        // What happened to the reporter meanwhile (e.g. where a task it asked about went), told once.
        const notices = outcome.kind === 'accepted' ? await tx.takeNotices(body.worker) : []
        if (outcome.kind !== 'accepted' || !inline) return { outcome, claimed: null, notices }
        const filter = (next as { filter: ClaimFilter }).filter
        await serve([groupKey(filter)])
        const claimed = await ops.claim(tx, body.worker, filter, now, this.deps.claimNotes).catch((err: unknown) => {
          if (err instanceof CoordError) return null
          throw err
        })
        return { outcome, claimed, notices }
      })
      // The task has checks: run them outside the transaction (they read files, maybe run a command), then judge again.
      if (outcome.kind === 'needs-checks') {
        if (checkResults !== undefined) throw new Error(`task ${taskId} asked for its checks twice`)
        checkResults = await this.runChecksFor(taskId, body)
        continue
      }
      const result = await this.reported(outcome, claimed, body, next)
      return notices.length === 0 ? result : { ...result, notices }
    }
  }

  /** Whether a worker's next claim may run at once, inside its report's transaction (not while it has a poll parked elsewhere). */
  private mayClaimAtOnce (worker: string, signal: AbortSignal | undefined): boolean {
    return !this.deps.stopped() && signal?.aborted !== true && !this.deps.polls.has(worker)
  }

  /** Run the checks of `taskId` against its workspace for this report. */
  private async runChecksFor (taskId: string, body: ReportBody): Promise<CheckResult[]> {
    const t = await this.deps.store.getTask(taskId)
    if (t === null) return []
    return runChecks(t.checks, {
      root: t.workspace,
      deliverables: body.deliverables ?? [],
      declaredWrites: t.files.write,
      globMatches,
      commands: { enabled: this.deps.workflow.commandChecks, timeoutMs: this.deps.workflow.commandTimeoutMs },
    })
  }

  /** After a report's commit: answer the hand-outs, throw a refusal, or build the answer (with the next task). */
  private async reported (outcome: ReportOutcome, claimed: Assignment | null, body: ReportBody,
    next: ReportNext | undefined): Promise<ReportResult> {
    const { afterCommit, touch } = this.deps
    if (outcome.kind === 'refused') {
      // A check rejection extended the lease; the worker carries on.
      await afterCommit('presence', () => touch(body.worker))
      throw outcome.error
    }
    if (outcome.kind !== 'accepted') throw new Error('report outcome not settled')
    await afterCommit('presence', () => touch(body.worker))
    if (outcome.retryAt !== undefined) this.deps.availableDue(outcome.retryAt)
    const result: ReportResult = {
      accepted: true,
      duplicate: outcome.duplicate,
      task: outcome.task,
      // Outcomes only (all passed): each command's output stays in the task's history.
      ...(outcome.checks === undefined ? {} : { checks: answerResults(outcome.checks) }),
      ...(outcome.undeclared === undefined ? {} : { undeclared: outcome.undeclared }),
      ...(outcome.conflicts === undefined ? {} : { conflicts: outcome.conflicts }),
    }
    if (claimed !== null) {
      this.deps.leaseDue(claimed)
      result.next = assigned(claimed)
    } else if (next !== undefined) {
      result.next = await this.deps.next(body.worker, next.filter, next.waitMs, next.signal).catch((err: unknown) => {
        this.deps.log.error({ err }, 'the next poll after a committed report failed; answering empty')
        return empty()
      })
    }
    return result
  }
}
