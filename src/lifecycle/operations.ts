/**
 * Every state change of the task lifecycle, as a function of one store transaction: the rules of
 * `rules.ts` applied to the facts the store reads, and the events of `events.ts` appended with the
 * change. `TaskLifecycle` runs each inside `store.transact`; stores only persist.
 *
 * Times are epoch ms (`now`); API objects carry ISO strings.
 */
import { uuid7 } from './uuid7.js'
import { CoordError } from '../errors.js'
import type { Assignment, Attention, DependencyResult, Lease, ReportBody, ReportedTask, Task, TaskResult } from '../schemas/tasks.js'
import type { CheckResult } from '../schemas/checks.js'
import type { ProjectSummary } from '../schemas/workers.js'
import { TASK_STATES } from '../schemas/common.js'
import type { ClaimFilter, LeaseFacts, ReportRecordInput, StoreTx, TaskFacts, WorkingWrites } from '../store/store.js'
import { event, iso } from './events.js'
import { matchesStored as globMatches, storedOverlaps as writeOverlaps } from './file-globs.js'
import {
  afterReport, afterUnsuccessfulAttempt, attemptsAfterRelease, cancelRefusal, judge, keptDetails, OPEN_STATES, projectDone, retryBackoffMs,
} from './rules.js'
import { cancelDependents, completeTask } from './workflow-ops.js'
import { workspaceRelative } from '../checks/workspace.js'

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

/** What a claim noticed: whether a task was passed over because its writes overlap a working task's. */
export interface ClaimNotes {
  heldByFiles?: boolean
}

/** Most tasks one claim passes over for file conflicts before giving up (the rest wait for the next claim). */
const MAX_HELD_SKIPS = 64

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

/** The API lease of a stored lease; `leaseMs` is the task's lease length in ms. */
export function leaseView (l: LeaseFacts, leaseMs: number): Lease {
  return {
    leaseId: l.id,
    taskId: l.taskId,
    worker: l.worker,
    attempt: l.attempt,
    grantedAt: iso(l.grantedAt),
    expiresAt: iso(l.expiresAt),
    leaseSeconds: Math.round(leaseMs / 1000),
  }
}

async function requireTask (tx: StoreTx, id: string): Promise<TaskFacts> {
  const t = await tx.task(id)
  if (t === null) throw new CoordError('TASK_NOT_FOUND', `No task has id ${id}. List tasks with GET /tasks.`, { taskId: id })
  return t
}

/**
 * The results of the tasks `ids` (a task's dependencies), for the worker of the dependent: summary,
 * deliverables and details of each one's accepted report. `read` is a transaction's or the store's lookup.
 */
export async function dependencyResults (read: (id: string) => Promise<Task | null>, ids: readonly string[]): Promise<DependencyResult[]> {
  const out: DependencyResult[] = []
  for (const id of ids) {
    const d = await read(id)
    if (d === null) continue
    const r = d.result
    out.push({
      id,
      description: d.description,
      summary: r?.summary ?? '',
      deliverables: r?.deliverables ?? [],
      ...(r?.details === undefined ? {} : { details: r.details }),
      worker: r?.worker ?? null,
    })
  }
  return out
}

async function assignment (tx: StoreTx, t: TaskFacts, lease: LeaseFacts, resumed: boolean): Promise<Assignment> {
  const dependencies = t.dependsOn.length === 0 ? [] : await dependencyResults((id) => tx.taskView(id).catch(() => null), t.dependsOn)
  return { task: await tx.taskView(t.id), lease: leaseView(lease, t.leaseMs), resumed, dependencies }
}

/** Whether `t`'s declared writes overlap those of a working task other than itself. */
function heldByFiles (t: TaskFacts, working: readonly WorkingWrites[]): boolean {
  return working.some((w) => w.id !== t.id && writeOverlaps(t.writes, w.writes).length > 0)
}

/**
 * The task a claim takes: first one reserved for this worker, then the best queued one, passing over
 * (and noting in `notes`) tasks whose writes overlap a working task's.
 */
async function pickFor (tx: StoreTx, worker: string, filter: ClaimFilter, now: number, notes: ClaimNotes): Promise<TaskFacts | null> {
  const working = new Map<string, WorkingWrites[]>()
  const free = async (t: TaskFacts): Promise<boolean> => {
    if (t.writes.length === 0) return true
    let live = working.get(t.project)
    if (live === undefined) working.set(t.project, live = await tx.workingWrites(t.project))
    if (!heldByFiles(t, live)) return true
    notes.heldByFiles = true
    return false
  }
  const reserved = await tx.reservedFor(worker, filter)
  const exclude: string[] = []
  if (reserved !== null) {
    const t = await requireTask(tx, reserved)
    if (await free(t)) return t
    exclude.push(t.id)
  }
  for (let skipped = 0; skipped < MAX_HELD_SKIPS; skipped++) {
    const t = (await tx.pickQueued(filter, { now, skipRetriesOf: worker, exclude })) ?? (await tx.pickQueued(filter, { now, exclude }))
    if (t === null) return null
    if (await free(t)) return t
    exclude.push(t.id)
  }
  return null
}

/**
 * Lease the best queued task to `worker`, or return the lease it already holds (`resumed`). A lapsed
 * lease the worker still holds is expired first. Only tasks whose dependencies all completed and whose
 * backoff or reservation is over are offered (a task reserved for this worker comes first); a task whose
 * writes overlap a working task's is held. A task whose latest lease this worker failed or let lapse comes
 * last: retries go to someone else when possible.
 */
export async function claim (tx: StoreTx, worker: string, filter: ClaimFilter, now: number, notes: ClaimNotes = {}): Promise<Assignment | null> {
  const held = await tx.liveLeaseOf(worker)
  if (held !== null) {
    if (held.expiresAt > now) return assignment(tx, await requireTask(tx, held.taskId), held, true)
    await expireLease(tx, held, now)
  }
  const t = await pickFor(tx, worker, filter, now, notes)
  if (t === null) return null
  // Lease ids are UUIDv7: time-ordered, so each new lease lands at the right edge of the leases primary key.
  const lease: LeaseFacts = {
    id: uuid7(now), taskId: t.id, worker, attempt: t.attempts + 1, grantedAt: now, expiresAt: now + t.leaseMs, endedAt: null, endReason: null,
  }
  await tx.insertLease(lease)
  await tx.updateTask(t.id, { state: 'working', attempts: lease.attempt, leaseId: lease.id, reservedFor: null, availableAt: 0, updatedAt: now })
  await tx.appendEvent(event('task.claimed', now, { project: t.project, taskId: t.id, worker },
    { leaseId: lease.id, attempt: lease.attempt, expiresAt: iso(lease.expiresAt) }))
  return assignment(tx, t, lease, false)
}

/** Give a just-claimed task back without counting the attempt (its requester had gone). */
export async function release (tx: StoreTx, leaseId: string, now: number): Promise<void> {
  const l = await tx.lease(leaseId)
  if (l === null || l.endedAt !== null) return
  const t = await requireTask(tx, l.taskId)
  await tx.updateLease(l.id, { endedAt: now, endReason: 'released' })
  await tx.updateTask(t.id, { state: 'submitted', attempts: attemptsAfterRelease(t.attempts), updatedAt: now })
  await tx.appendEvent(event('task.requeued', now, { project: t.project, taskId: t.id, worker: l.worker },
    { reason: 'released: the worker disconnected before receiving it', leaseId }))
}

async function judged (tx: StoreTx, t: TaskFacts, leaseId: string, worker: string, status: ReportBody['status'] | null) {
  const l = await tx.lease(leaseId)
  const named = l === null || l.taskId !== t.id ? null : { worker: l.worker, attempt: l.attempt, endReason: l.endReason, latest: t.leaseId === l.id }
  const latest = t.leaseId === null ? null : t.leaseId === leaseId ? l : await tx.lease(t.leaseId)
  const verdict = judge({ state: t.state, attempts: t.attempts, maxAttempts: t.maxAttempts, latestWorker: latest?.worker ?? null }, named, worker, status)
  return { lease: named === null ? null : l, verdict }
}

/**
 * Extend a lease by the task's lease length from `now`; revives a lapsed lease nobody else took
 * (unless the worker has since taken another task).
 * @throws CoordError TASK_NOT_FOUND, LEASE_*, TASK_CANCELED, TASK_FINISHED
 */
export async function heartbeat (tx: StoreTx, taskId: string, worker: string, leaseId: string, now: number): Promise<Lease> {
  const t = await requireTask(tx, taskId)
  const { lease, verdict } = await judged(tx, t, leaseId, worker, null)
  if (verdict.kind === 'reject') throw new CoordError(verdict.code, verdict.message, { taskId, state: t.state })
  const l = lease as LeaseFacts
  if (l.endedAt !== null) {
    const other = await tx.liveLeaseOf(worker)
    if (other !== null) {
      throw new CoordError('LEASE_ENDED', `Your lease on ${taskId} expired and you have since taken task ${other.taskId}. Work on that one.`,
        { taskId, current: other.taskId })
    }
  }
  const revived: LeaseFacts = { ...l, expiresAt: now + t.leaseMs, endedAt: null, endReason: null }
  await tx.updateLease(l.id, { expiresAt: revived.expiresAt, endedAt: null, endReason: null })
  if (t.state !== 'working') {
    // Revive a lapsed lease nobody else took: the worker was slow, not gone.
    await tx.updateTask(taskId, { state: 'working', updatedAt: now })
    await tx.appendEvent(event('task.claimed', now, { project: t.project, taskId, worker },
      { leaseId, attempt: l.attempt, expiresAt: iso(revived.expiresAt), revived: true }))
  }
  return leaseView(revived, t.leaseMs)
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
      taskId: t.id, failed, checks: results, rejections, maxRejections: policy.maxCheckRejections, escalated, ...(lease === undefined ? {} : { lease }),
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

/** End one lapsed lease: requeue its task at once (a lapsed lease is not the task's fault), or dead-letter it as failed at `maxAttempts`. */
async function expireLease (tx: StoreTx, l: LeaseFacts, now: number): Promise<void> {
  const t = await requireTask(tx, l.taskId)
  const state = afterUnsuccessfulAttempt(t.attempts, t.maxAttempts)
  await tx.updateLease(l.id, { endedAt: now, endReason: 'expired' })
  await tx.updateTask(t.id, { state, finishedAt: state === 'failed' ? now : null, availableAt: 0, reservedFor: null, updatedAt: now })
  const subject = { project: t.project, taskId: t.id, worker: l.worker }
  await tx.appendEvent(event('task.lease_expired', now, subject,
    { leaseId: l.id, attempt: l.attempt, expiredAt: iso(l.expiresAt), requeued: state === 'submitted' }))
  if (state === 'failed') {
    const summary = `No report or heartbeat within the lease; ${t.maxAttempts} attempt(s) used (dead-lettered).`
    await tx.appendEvent(event('task.failed', now, subject, { attempt: l.attempt, final: true, willRetry: false, summary }))
    await cancelDependents(tx, t, 'failed', now)
    await settleProject(tx, t.project, now)
  }
}

/** End up to `limit` leases whose deadline is at or before `now`; returns how many lapsed. */
export async function expireLeases (tx: StoreTx, now: number, limit: number): Promise<number> {
  const lapsed = await tx.lapsedLeases(now, limit)
  for (const l of lapsed) await expireLease(tx, l, now)
  return lapsed.length
}

/**
 * Cancel a task that is not finished; ends its live lease. Canceling a canceled task is a no-op.
 * @throws CoordError TASK_NOT_FOUND, TASK_FINISHED
 */
export async function cancel (tx: StoreTx, taskId: string, reason: string | undefined, now: number): Promise<Task> {
  const t = await requireTask(tx, taskId)
  if (t.state === 'canceled') return tx.taskView(taskId)
  const refusal = cancelRefusal(t.state)
  if (refusal !== null) throw new CoordError('TASK_FINISHED', `Task ${taskId}: ${refusal}.`, { taskId, state: t.state })
  const live = t.leaseId === null ? null : await tx.lease(t.leaseId)
  if (live !== null && live.endedAt === null) await tx.updateLease(live.id, { endedAt: now, endReason: 'canceled' })
  await tx.updateTask(taskId, { state: 'canceled', finishedAt: now, updatedAt: now })
  const holder = live !== null && live.endedAt === null ? live.worker : null
  await tx.appendEvent(event('task.canceled', now, { project: t.project, taskId, worker: holder }, { previousState: t.state, reason: reason ?? null }))
  await cancelDependents(tx, t, 'canceled', now)
  await settleProject(tx, t.project, now)
  return tx.taskView(taskId)
}

/** Mark a project closed (creating it if unknown); it finishes at once when no task is open. */
export async function closeProject (tx: StoreTx, project: string, now: number): Promise<void> {
  await tx.ensureProject(project, now)
  const p = await tx.project(project)
  if (p !== null && p.closedAt === null) {
    await tx.updateProject(project, { closedAt: now })
    await tx.appendEvent(event('project.closed', now, { project }, {}))
  }
  await settleProject(tx, project, now)
}

/** A project's summary as `GET /projects` shows it, read inside the transaction. */
export async function projectSummary (tx: StoreTx, name: string): Promise<ProjectSummary> {
  const p = await tx.project(name)
  if (p === null) throw new Error(`project ${name} vanished inside its transaction`)
  const stored = await tx.stateCounts(name)
  const counts = Object.fromEntries(TASK_STATES.map((s) => [s, stored[s] ?? 0])) as ProjectSummary['counts']
  return {
    name,
    closed: p.closedAt !== null,
    done: p.finishedAt !== null,
    counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
    createdAt: iso(p.createdAt),
    closedAt: p.closedAt === null ? null : iso(p.closedAt),
    finishedAt: p.finishedAt === null ? null : iso(p.finishedAt),
  }
}

/** Mark the project finished (and emit project.finished) once it is closed and has no open task. */
export async function settleProject (tx: StoreTx, name: string, now: number): Promise<void> {
  const p = await tx.project(name)
  // An open project cannot be done: skip the open-task lookup on every report of a running project.
  if (p === null || p.finishedAt !== null || p.closedAt === null) return
  if (!projectDone(p.closedAt !== null, (await tx.hasTaskIn(name, OPEN_STATES)) ? 1 : 0)) return
  await tx.updateProject(name, { finishedAt: now })
  const counts = await tx.stateCounts(name)
  await tx.appendEvent(event('project.finished', now, { project: name }, { counts: counts as Record<string, number> }))
}

/**
 * Record that a worker was seen: registers it on first sight (worker.registered), brings it back
 * online after it was declared offline (worker.online). Returns whether anything was written.
 */
export async function seeWorker (tx: StoreTx, worker: string, now: number): Promise<void> {
  const w = await tx.worker(worker)
  if (w === null) {
    await tx.upsertWorker(worker, { firstSeenAt: now, lastSeenAt: now, offlineAt: null })
    await tx.appendEvent(event('worker.registered', now, { worker }, {}))
    return
  }
  if (w.offlineAt !== null) await tx.appendEvent(event('worker.online', now, { worker }, { offlineSince: iso(w.offlineAt) }))
  await tx.upsertWorker(worker, { lastSeenAt: Math.max(now, w.lastSeenAt), offlineAt: null })
}

/** Declare these workers offline (worker.offline, naming the task each still holds). Times in ms. */
export async function markOffline (tx: StoreTx, silent: Array<{ id: string, lastSeenAt: number }>, now: number): Promise<void> {
  for (const w of silent) {
    await tx.upsertWorker(w.id, { lastSeenAt: w.lastSeenAt, offlineAt: now })
    const held = await tx.liveLeaseOf(w.id)
    await tx.appendEvent(event('worker.offline', now, { worker: w.id, taskId: held?.taskId ?? null }, { lastSeenAt: iso(w.lastSeenAt) }))
  }
}
