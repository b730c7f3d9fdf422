/**
 * The report of a worker on its task, as a function of one store transaction: the verdict on the lease
 * (`judged`), the task's checks, the conflicts with other working tasks' declared writes, and the state,
 * result and events that follow. The lifecycle's report path (`report-path.ts`) runs `report` inside
 * `store.transact`; stores only persist. Shared helpers (`judged`, `requireTask`, …) come from `operations.ts`.
 *
 * Times are epoch ms (`now`); API objects carry ISO strings.
 */
import { CoordError } from '../errors.js'
import type { Attention, ReportBody, ReportedTask, Task, TaskResult } from '../schemas/tasks.js'
import type { CheckResult } from '../schemas/checks.js'
import type { LeaseFacts, ReportRecordInput, StoreTx, TaskFacts } from '../store/store.js'
import { event, iso } from './events.js'
import { matchesStored as globMatches } from './file-globs.js'
import { afterReport, keptDetails, retryBackoffMs } from './rules.js'
import { cancelDependents, completeTask } from './workflow-ops.js'
import { answerResults } from '../checks/answer-results.js'
import { workspaceRelative } from '../checks/workspace.js'
import { judged, leaseView, requireTask, settleProject } from './operations.js'

/** A report's outcome: accepted (possibly a duplicate), refused with the error to answer after commit, or
 * `needs-checks`: the task has checks and the caller must run them (outside the transaction) and try again. */
export type ReportOutcome =
  | { kind: 'accepted', task: ReportedTask, duplicate: boolean, checks?: CheckResult[], undeclared?: string[], conflicts?: Conflict[], retryAt?: number }
  | { kind: 'refused', error: CoordError }
  | { kind: 'needs-checks' }

/** A deliverable that another working task declared it writes. */
export interface Conflict {
  file: string
  task: string
  pattern: string
}

/** What a report is judged with besides the facts in the store. Times in ms. */
export interface ReportPolicy {
  /** Results of the task's checks, run before the transaction; undefined when not run. */
  checkResults?: CheckResult[] | undefined
  /** Rejected completed reports after which the task goes to the engineer. */
  maxCheckRejections: number
  /** Retry backoff after a failed attempt: base · 2^(attempt−1), capped. */
  retryBaseMs: number
  retryMaxMs: number
  /** The report request's Idempotency-Key header (IETF draft "The Idempotency-Key HTTP Header Field"), if any. */
  idempotencyKey?: string | undefined
}

/**
 * A report's view of the task it changed: the new state and whether it will be retried, without the
 * description, acceptance and result the reporter sent or already has (an answer of ~300 bytes
 * instead of several KB). After a report a task is `submitted` or `working` only when a failed
 * attempt had attempts left (`working`: a repeated report, the retry already claimed).
 */
export function reportedTask (t: Pick<Task, 'id' | 'project' | 'state' | 'attempts' | 'maxAttempts' | 'finishedAt'>): ReportedTask {
  const willRetry = t.state === 'submitted' || t.state === 'working'
  return { id: t.id, project: t.project, state: t.state, attempts: t.attempts, maxAttempts: t.maxAttempts, willRetry, finishedAt: t.finishedAt }
}

/** The stored form of a report; `rejection` null = accepted (a refused one keeps capped `details`). */
function reportRecord (taskId: string, body: ReportBody, attempt: number | null, rejection: string | null, checks: CheckResult[] | null,
  policy: ReportPolicy, now: number): ReportRecordInput {
  return {
    taskId,
    leaseId: body.leaseId,
    worker: body.worker,
    attempt,
    status: body.status,
    summary: body.summary,
    deliverables: body.deliverables ?? [],
    contextScore: body.contextScore ?? null,
    question: body.question ?? null,
    details: keptDetails(body.details, rejection === null),
    accepted: rejection === null,
    rejection,
    checks,
    idempotencyKey: policy.idempotencyKey ?? null,
    at: now,
  }
}

/** A refused completed report: the checks failed. The lease stays with the worker (extended) unless this was one rejection too many. */
async function rejectByChecks (tx: StoreTx, t: TaskFacts, l: LeaseFacts, body: ReportBody, results: CheckResult[], now: number,
  policy: ReportPolicy): Promise<ReportOutcome> {
  const failed = results.filter((r) => !r.passed)
  // A retry of the same request (same Idempotency-Key: the client did not get the 422) is not another rejection.
  const key = policy.idempotencyKey ?? null
  const last = key === null ? null : await tx.lastReport(t.id, l.id)
  if (last !== null && last.rejection === 'CHECKS_FAILED' && last.idempotencyKey === key && t.state === 'working') {
    return checksRefusal(t, l, results, t.checkRejections, policy, false)
  }
  const rejections = t.checkRejections + 1
  const escalated = rejections >= policy.maxCheckRejections
  await tx.insertReport(reportRecord(t.id, body, l.attempt, 'CHECKS_FAILED', results, policy, now))
  const subject = { project: t.project, taskId: t.id, worker: body.worker }
  await tx.appendEvent(event('task.report_rejected', now, subject,
    { code: 'CHECKS_FAILED', status: body.status, leaseId: l.id, failed: failed.map((f) => f.message), rejections }))
  if (escalated) {
    const attention: Attention = {
      kind: 'checks',
      worker: body.worker,
      at: iso(now),
      message: `${failed.length} check(s) still failed after ${rejections} completed reports:\n${failed.map((f) => `- ${f.message}`).join('\n')}`,
    }
    await tx.updateLease(l.id, { endedAt: l.endedAt ?? now, endReason: 'escalated' })
    await tx.updateTask(t.id, { state: 'input-required', attention, checkRejections: rejections, updatedAt: now })
    await tx.appendEvent(event('task.escalated', now, subject, { kind: 'checks', message: attention.message }))
    return checksRefusal(t, l, results, rejections, policy, true)
  }
  // The worker is alive and fixing its output: the lease is kept and extended, like a heartbeat. A late
  // report on a dead-lettered task that nobody re-claimed revives it, as a heartbeat would.
  const expiresAt = now + t.leaseMs
  await tx.updateLease(l.id, { expiresAt, endedAt: null, endReason: null })
  await tx.updateTask(t.id, { state: 'working', checkRejections: rejections, finishedAt: null, updatedAt: now })
  return checksRefusal(t, { ...l, expiresAt, endedAt: null, endReason: null }, results, rejections, policy, false)
}

/** The 422 answer of a report refused by the checks: each failure in words, and what happens next. */
function checksRefusal (t: TaskFacts, l: LeaseFacts, results: CheckResult[], rejections: number, policy: ReportPolicy, escalated: boolean): ReportOutcome {
  const failed = results.filter((r) => !r.passed)
  const list = failed.map((f) => `- ${f.message}`).join('\n')
  const head = `${failed.length} of ${results.length} checks failed:\n${list}\n`
  const lease = escalated ? undefined : leaseView(l, t.leaseMs)
  const message = escalated
    ? `${head}This was rejected report ${rejections} of ${policy.maxCheckRejections}: the task now waits for the engineer (input-required). ` +
      'Drop it and poll for your next task.'
    : `${head}Fix the output and report completed again with the same leaseId (your lease is kept and extended to ${iso(l.expiresAt)}). ` +
      `After ${policy.maxCheckRejections - rejections} more rejected report(s) the task goes to the engineer.`
  return {
    kind: 'refused',
    error: new CoordError('CHECKS_FAILED', message, {
      // Lean: every check's outcome, and the output tail of the failed ones once; the full results are in the history.
      taskId: t.id,
      failed: answerResults(failed),
      checks: answerResults(results, false),
      rejections,
      maxRejections: policy.maxCheckRejections,
      escalated,
      ...(lease === undefined ? {} : { lease }),
    }),
  }
}

/**
 * Apply a worker's report. A refused report is stored too (with capped `details`) and its error is
 * returned, to be thrown after the commit. A `completed` report on a task with checks needs their
 * results in `policy.checkResults` (else `needs-checks`); failing ones refuse it with CHECKS_FAILED
 * (422). An accepted `completed` report whose deliverables another working task declared is a conflict:
 * kept, and the task goes to `input-required`. A `failed` one is retried after the policy's backoff.
 * @throws CoordError TASK_NOT_FOUND
 */
export async function report (tx: StoreTx, taskId: string, body: ReportBody, now: number, policy: ReportPolicy): Promise<ReportOutcome> {
  const t = await requireTask(tx, taskId)
  const { lease, verdict } = await judged(tx, t, body.leaseId, body.worker, body.status)
  if (verdict.kind === 'duplicate') return { kind: 'accepted', task: reportedTask(await tx.taskView(taskId)), duplicate: true }
  const accepted = verdict.kind === 'accept'
  const results = body.status === 'completed' && t.checks.length > 0 ? policy.checkResults : undefined
  if (accepted && body.status === 'completed' && t.checks.length > 0) {
    if (results === undefined) return { kind: 'needs-checks' }
    if (results.some((r) => !r.passed)) return rejectByChecks(tx, t, lease as LeaseFacts, body, results, now, policy)
  }
  // Read the way the deliverables check reads them; a Windows-style `out\a.md` names `out/a.md` here.
  const deliverables = (body.deliverables ?? []).map((d) => workspaceRelative(t.workspace, d.replaceAll('\\', '/')))
  await tx.insertReport(reportRecord(taskId, body, lease?.attempt ?? null, accepted ? null : verdict.code, results ?? null, policy, now))
  const subject = { project: t.project, taskId, worker: body.worker }
  if (verdict.kind === 'reject') {
    await tx.appendEvent(event('task.report_rejected', now, subject, { code: verdict.code, status: body.status, leaseId: body.leaseId }))
    return { kind: 'refused', error: new CoordError(verdict.code, verdict.message, { taskId }) }
  }
  const l = lease as LeaseFacts
  const completed = body.status === 'completed'
  const undeclared = completed && t.writes.length > 0 ? deliverables.filter((d) => !t.writes.some((w) => globMatches(d, w))) : []
  const conflicts: Conflict[] = []
  if (completed && deliverables.length > 0) {
    for (const w of await tx.workingWrites(t.project)) {
      if (w.id === t.id) continue
      for (const file of deliverables) {
        const pattern = w.writes.find((p) => globMatches(file, p))
        if (pattern !== undefined) conflicts.push({ file, task: w.id, pattern })
      }
    }
  }
  let state = afterReport(body.status, t.attempts, t.maxAttempts)
  if (completed && conflicts.length > 0) state = 'input-required'
  else if (completed && t.review) state = 'review-required'
  const result: TaskResult = {
    status: body.status,
    summary: body.summary,
    deliverables: body.deliverables ?? [],
    contextScore: body.contextScore ?? null,
    worker: body.worker,
    attempt: l.attempt,
    reportedAt: iso(now),
    ...(body.question === undefined ? {} : { question: body.question }),
    ...(body.details === undefined ? {} : { details: body.details }),
    ...(results === undefined ? {} : { checks: results }),
  }
  let attention: Attention | null = null
  if (state === 'input-required') {
    attention = conflicts.length > 0
      ? {
          kind: 'conflict',
          worker: body.worker,
          at: iso(now),
          message: 'Reported deliverables are declared by other working tasks: ' +
            conflicts.map((c) => `${c.file} (${c.task} writes ${c.pattern})`).join(', ') + '. Decide whose change wins, then answer or cancel.',
        }
      : { kind: 'question', worker: body.worker, at: iso(now), message: body.question ?? body.summary }
  }
  const retryAt = state === 'submitted' ? now + retryBackoffMs(l.attempt, policy.retryBaseMs, policy.retryMaxMs) : undefined
  await tx.updateLease(l.id, { endedAt: l.endedAt ?? now, endReason: body.status })
  const finished = state === 'failed' || state === 'completed' ? now : null
  // A completion is written by completeTask below, in the same UPDATE (it also releases the dependents).
  if (state !== 'completed') {
    await tx.updateTask(taskId, { state, result, finishedAt: finished, attention, updatedAt: now, ...(retryAt === undefined ? {} : { availableAt: retryAt }) })
  }
  if (body.status !== 'blocked') await tx.countWorkerResult(body.worker, body.status)
  if (state === 'completed') {
    await completeTask(tx, t, { attempt: l.attempt, deliverables: result.deliverables, contextScore: result.contextScore, worker: body.worker }, now,
      false, { result })
  } else if (state === 'review-required') {
    await tx.appendEvent(event('task.review_required', now, subject, { attempt: l.attempt, deliverables: result.deliverables }))
  } else if (state === 'input-required' && conflicts.length > 0) {
    await tx.appendEvent(event('task.escalated', now, subject, { kind: 'conflict', message: (attention as Attention).message }))
  } else if (state === 'input-required') {
    await tx.appendEvent(event('task.input_required', now, subject, { attempt: l.attempt, question: body.question ?? body.summary }))
  } else {
    await tx.appendEvent(event('task.failed', now, subject, {
      attempt: l.attempt,
      final: state === 'failed',
      willRetry: state === 'submitted',
      summary: body.summary,
      ...(retryAt === undefined ? {} : { retryAt: iso(retryAt) }),
    }))
    if (state === 'failed') await cancelDependents(tx, t, 'failed', now)
  }
  await settleProject(tx, t.project, now)
  return {
    kind: 'accepted',
    task: reportedTask({ ...t, state, finishedAt: finished === null ? null : iso(finished) }),
    duplicate: false,
    ...(results === undefined ? {} : { checks: results }),
    ...(undeclared.length === 0 ? {} : { undeclared }),
    ...(conflicts.length === 0 ? {} : { conflicts }),
    ...(retryAt === undefined ? {} : { retryAt }),
  }
}
