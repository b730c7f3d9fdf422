/**
 * Every state change of the task lifecycle, as a function of one store transaction: the rules of
 * `rules.ts` applied to the facts the store reads, and the events of `events.ts` appended with the
 * change. `TaskLifecycle` runs each inside `store.transact`; stores only persist.
 *
 * Times are epoch ms (`now`); API objects carry ISO strings.
 */
import { uuid7 } from './uuid7.js'
import { CoordError } from '../errors.js'
import type { Assignment, DependencyResult, Lease, ReportBody, Task } from '../schemas/tasks.js'
import type { ProjectSummary } from '../schemas/workers.js'
import { TASK_STATES } from '../schemas/common.js'
import type { ClaimFilter, LeaseFacts, StoreTx, TaskFacts, WorkingWrites } from '../store/store.js'
import { event, iso } from './events.js'
import { storedOverlaps as writeOverlaps } from './file-globs.js'
import { afterUnsuccessfulAttempt, attemptsAfterRelease, cancelRefusal, judge, OPEN_STATES, projectDone } from './rules.js'
import { cancelDependents, tellAskerOfHandOn } from './workflow-ops.js'
import { answeredOf } from './workflow-views.js'
import type { LostTask } from './presence.js'

/** What a claim noticed: whether a task was passed over because its writes overlap a working task's. */
export interface ClaimNotes {
  heldByFiles?: boolean
}

/** Most tasks one claim passes over for file conflicts before giving up (the rest wait for the next claim). */
const MAX_HELD_SKIPS = 64

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

/** The task `id` as the store holds it. @throws CoordError TASK_NOT_FOUND */
export async function requireTask (tx: StoreTx, id: string): Promise<TaskFacts> {
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

async function assignment (tx: StoreTx, t: TaskFacts, lease: LeaseFacts, resumed: boolean, now: number): Promise<Assignment> {
  const dependencies = t.dependsOn.length === 0 ? [] : await dependencyResults((id) => tx.taskView(id).catch(() => null), t.dependsOn)
  const task = await tx.taskView(t.id)
  const answered = answeredOf(task)
  // A fresh claim of an answered task by someone else than the asker: the asker hears where it went.
  if (!resumed && answered.answer !== undefined) await tellAskerOfHandOn(tx, t, answered.answer, lease.worker, now)
  const notices = resumed ? [] : await tx.takeNotices(lease.worker)
  return { task, lease: leaseView(lease, t.leaseMs), resumed, dependencies, ...answered, ...(notices.length === 0 ? {} : { notices }) }
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
    if (held.expiresAt > now) return assignment(tx, await requireTask(tx, held.taskId), held, true, now)
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
  return assignment(tx, t, lease, false, now)
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

/**
 * The verdict of `judge` on a heartbeat (`status` null) or report from `worker` naming `leaseId` on task `t`,
 * with that lease when it belongs to `t` (else `lease` null).
 */
export async function judged (tx: StoreTx, t: TaskFacts, leaseId: string, worker: string, status: ReportBody['status'] | null) {
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

/**
 * End one lapsed lease: requeue its task at once (a lapsed lease is not the task's fault), or dead-letter it as failed at `maxAttempts`.
 * Returns the task's project.
 */
async function expireLease (tx: StoreTx, l: LeaseFacts, now: number): Promise<string> {
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
  return t.project
}

/** End up to `limit` leases whose deadline is at or before `now`; returns how many lapsed. */
export async function expireLeases (tx: StoreTx, now: number, limit: number): Promise<number> {
  return (await expireLapsed(tx, now, limit)).length
}

/** Like `expireLeases`, returning each expired lease's worker and task (with its project). */
export async function expireLapsed (tx: StoreTx, now: number, limit: number): Promise<Array<{ worker: string } & LostTask>> {
  const lapsed = await tx.lapsedLeases(now, limit)
  const out: Array<{ worker: string } & LostTask> = []
  for (const l of lapsed) {
    out.push({ worker: l.worker, taskId: l.taskId, project: await expireLease(tx, l, now) })
  }
  return out
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

// Worker presence changes (seeWorker, markOffline) live in presence-ops.ts; re-exported so callers keep `ops.*`.
export { markOffline, seeWorker, type OfflineCandidate } from './presence-ops.js'
