/**
 * Every state change of the task lifecycle, as a function of one store transaction: the rules of
 * `rules.ts` applied to the facts the store reads, and the events of `events.ts` appended with the
 * change. `TaskLifecycle` runs each inside `store.transact`; stores only persist.
 *
 * Times are epoch ms (`now`); API objects carry ISO strings.
 */
import { randomUUID } from 'node:crypto'
import { CoordError } from '../errors.js'
import type { Assignment, Lease, ReportBody, Task, TaskInput, TaskResult } from '../schemas/tasks.js'
import type { ProjectSummary } from '../schemas/workers.js'
import { TASK_STATES } from '../schemas/common.js'
import type { ClaimFilter, LeaseFacts, StoreTx, TaskFacts } from '../store/store.js'
import { event, iso } from './events.js'
import { afterReport, afterUnsuccessfulAttempt, attemptsAfterRelease, cancelRefusal, judge, keptDetails, OPEN_STATES, projectDone } from './rules.js'
import { differingFields, type TaskSpec } from './task-spec.js'

/** Result of a batch create. */
export interface CreateOutcome {
  created: string[]
  existing: string[]
  closed: boolean
}

/** Result of a report: accepted (possibly a duplicate), or refused with the error to answer after commit. */
export type ReportOutcome =
  | { kind: 'accepted', task: Task, duplicate: boolean }
  | { kind: 'refused', error: CoordError }

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
 * Create a batch atomically. Ids that exist with the same content hash are `existing`.
 * @throws CoordError TASK_CONFLICT (same id, other content; nothing created), PROJECT_CLOSED
 */
export async function createTasks (tx: StoreTx, project: string, inputs: TaskInput[], specs: TaskSpec[], close: boolean, now: number): Promise<CreateOutcome> {
  await tx.ensureProject(project, now)
  const stored = await tx.existingTasks(specs.map((s) => s.id))
  const created: string[] = []
  const existing: string[] = []
  const conflicts: Array<{ id: string, fields: string[] }> = []
  const fresh: Array<[TaskSpec, TaskInput]> = []
  specs.forEach((spec, i) => {
    const input = inputs[i] as TaskInput
    const old = stored.get(spec.id)
    if (old === undefined) fresh.push([spec, input])
    else if (old.specHash === spec.hash) existing.push(spec.id)
    else conflicts.push({ id: spec.id, fields: differingFields(old.input, old.project, input, project) })
  })
  if (conflicts.length > 0) {
    const fields = [...new Set(conflicts.flatMap((c) => c.fields))].join(', ')
    throw new CoordError('TASK_CONFLICT', `Task ${conflicts.map((c) => c.id).join(', ')} already exists with different content (${fields}). ` +
      'Use a new id, or re-post the identical task. Nothing in this batch was created.', { conflicts })
  }
  const p = await tx.project(project)
  const closedAt = p?.closedAt ?? null
  if (closedAt !== null && fresh.length > 0) {
    throw new CoordError('PROJECT_CLOSED',
      `Project ${project} was closed at ${iso(closedAt)}: no more tasks can be added. Post them to a new project.`, { project })
  }
  for (const [spec, input] of fresh) {
    await tx.insertTask(spec, input, now)
    await tx.appendEvent(event('task.created', now, { project, taskId: spec.id }, { type: spec.type, priority: spec.priority }))
    created.push(spec.id)
  }
  if (close) await closeProject(tx, project, now)
  return { created, existing, closed: close || closedAt !== null }
}

/**
 * Lease the best queued task to `worker`, or return the lease it already holds (`resumed`). A lapsed
 * lease the worker still holds is expired first. A task whose latest lease this worker failed or let
 * lapse comes last: retries go to someone else when possible.
 */
export async function claim (tx: StoreTx, worker: string, filter: ClaimFilter, now: number): Promise<Assignment | null> {
  const held = await tx.liveLeaseOf(worker)
  if (held !== null) {
    if (held.expiresAt > now) {
      const t = await requireTask(tx, held.taskId)
      return { task: await tx.taskView(t.id), lease: leaseView(held, t.leaseMs), resumed: true }
    }
    await expireLease(tx, held, now)
  }
  const id = (await tx.pickQueued(filter, { skipRetriesOf: worker })) ?? (await tx.pickQueued(filter))
  if (id === null) return null
  const t = await requireTask(tx, id)
  const lease: LeaseFacts = {
    id: randomUUID(), taskId: t.id, worker, attempt: t.attempts + 1, grantedAt: now, expiresAt: now + t.leaseMs, endedAt: null, endReason: null,
  }
  await tx.insertLease(lease)
  await tx.updateTask(t.id, { state: 'working', attempts: lease.attempt, leaseId: lease.id, updatedAt: now })
  await tx.appendEvent(event('task.claimed', now, { project: t.project, taskId: t.id, worker },
    { leaseId: lease.id, attempt: lease.attempt, expiresAt: iso(lease.expiresAt) }))
  return { task: await tx.taskView(t.id), lease: leaseView(lease, t.leaseMs), resumed: false }
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
  const latest = t.leaseId === null ? null : await tx.lease(t.leaseId)
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

/**
 * Apply a worker's report. A refused report is stored too (with capped `details`) and its error is
 * returned, to be thrown after the commit.
 * @throws CoordError TASK_NOT_FOUND
 */
export async function report (tx: StoreTx, taskId: string, body: ReportBody, now: number): Promise<ReportOutcome> {
  const t = await requireTask(tx, taskId)
  const { lease, verdict } = await judged(tx, t, body.leaseId, body.worker, body.status)
  if (verdict.kind === 'duplicate') return { kind: 'accepted', task: await tx.taskView(taskId), duplicate: true }
  const accepted = verdict.kind === 'accept'
  await tx.insertReport({
    taskId,
    leaseId: body.leaseId,
    worker: body.worker,
    attempt: lease?.attempt ?? null,
    status: body.status,
    summary: body.summary,
    deliverables: body.deliverables ?? [],
    contextScore: body.contextScore ?? null,
    question: body.question ?? null,
    details: keptDetails(body.details, accepted),
    accepted,
    rejection: accepted ? null : verdict.code,
    at: now,
  })
  const subject = { project: t.project, taskId, worker: body.worker }
  if (verdict.kind === 'reject') {
    await tx.appendEvent(event('task.report_rejected', now, subject, { code: verdict.code, status: body.status, leaseId: body.leaseId }))
    return { kind: 'refused', error: new CoordError(verdict.code, verdict.message, { taskId }) }
  }
  const l = lease as LeaseFacts
  const state = afterReport(body.status, t.attempts, t.maxAttempts)
  const result: TaskResult = {
    status: body.status,
    summary: body.summary,
    deliverables: body.deliverables ?? [],
    contextScore: body.contextScore ?? null,
    worker: body.worker,
    attempt: l.attempt,
    reportedAt: iso(now),
    ...(body.question === undefined ? {} : { question: body.question }),
  }
  await tx.updateLease(l.id, { endedAt: l.endedAt ?? now, endReason: body.status })
  const finished = state === 'completed' || state === 'failed' ? now : null
  await tx.updateTask(taskId, { state, result, finishedAt: finished, updatedAt: now })
  if (body.status !== 'blocked') await tx.countWorkerResult(body.worker, body.status)
  if (state === 'completed') {
    await tx.appendEvent(event('task.completed', now, subject, { attempt: l.attempt, deliverables: result.deliverables, contextScore: result.contextScore }))
  } else if (state === 'input-required') {
    await tx.appendEvent(event('task.input_required', now, subject, { attempt: l.attempt, question: body.question ?? body.summary }))
  } else {
    await tx.appendEvent(event('task.failed', now, subject,
      { attempt: l.attempt, final: state === 'failed', willRetry: state === 'submitted', summary: body.summary }))
  }
  await settleProject(tx, t.project, now)
  return { kind: 'accepted', task: await tx.taskView(taskId), duplicate: false }
}

/** End one lapsed lease: requeue its task, or dead-letter it as failed at `maxAttempts`. */
async function expireLease (tx: StoreTx, l: LeaseFacts, now: number): Promise<void> {
  const t = await requireTask(tx, l.taskId)
  const state = afterUnsuccessfulAttempt(t.attempts, t.maxAttempts)
  await tx.updateLease(l.id, { endedAt: now, endReason: 'expired' })
  await tx.updateTask(t.id, { state, finishedAt: state === 'failed' ? now : null, updatedAt: now })
  const subject = { project: t.project, taskId: t.id, worker: l.worker }
  await tx.appendEvent(event('task.lease_expired', now, subject,
    { leaseId: l.id, attempt: l.attempt, expiredAt: iso(l.expiresAt), requeued: state === 'submitted' }))
  if (state === 'failed') {
    const summary = `No report or heartbeat within the lease; ${t.maxAttempts} attempt(s) used (dead-lettered).`
    await tx.appendEvent(event('task.failed', now, subject, { attempt: l.attempt, final: true, willRetry: false, summary }))
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
async function settleProject (tx: StoreTx, name: string, now: number): Promise<void> {
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
