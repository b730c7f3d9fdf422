/**
 * The workflow's state changes, as functions of one store transaction (like `operations.ts`): a task
 * completing and releasing its dependents, a failed or canceled task taking its dependents with it, the
 * coordinator's review, and the engineer's answer. Times are epoch ms.
 */
import { CoordError } from '../errors.js'
import type { Attention, Task, TaskNote } from '../schemas/tasks.js'
import type { AnswerBody, ReviewBody } from '../schemas/workflow.js'
import type { StoreTx, TaskFacts, TaskPatch } from '../store/store.js'
import { event, iso } from './events.js'

/** How long (ms) a task sent back by a review or an answer is offered only to the worker that did it. */
export interface ReserveOptions {
  reserveMs: number
}

async function requireTask (tx: StoreTx, id: string): Promise<TaskFacts> {
  const t = await tx.task(id)
  if (t === null) throw new CoordError('TASK_NOT_FOUND', `No task has id ${id}. List tasks with GET /tasks.`, { taskId: id })
  return t
}

/** What task.completed reports of the accepted result. */
export interface CompletionData {
  attempt: number
  deliverables: string[]
  contextScore: number | null
  worker: string | null
}

/**
 * Mark the task completed (task.completed), and count it off each dependent: a dependent whose last
 * dependency this was becomes offerable (task.ready). The caller settles the project. `also` joins the
 * same UPDATE (a report's result), so a completion rewrites the task row once.
 */
export async function completeTask (tx: StoreTx, t: TaskFacts, data: CompletionData, now: number, reviewed = false,
  also: Pick<TaskPatch, 'result'> = {}): Promise<void> {
  await tx.updateTask(t.id, { ...also, state: 'completed', finishedAt: now, attention: null, reservedFor: null, updatedAt: now })
  await tx.appendEvent(event('task.completed', now, { project: t.project, taskId: t.id, worker: data.worker },
    { attempt: data.attempt, deliverables: data.deliverables, contextScore: data.contextScore, ...(reviewed ? { reviewed } : {}) }))
  const dependents = await tx.dependents(t.id)
  for (const id of dependents) {
    const d = await tx.task(id)
    if (d === null || d.state !== 'submitted' || d.depsPending <= 0) continue
    const depsPending = d.depsPending - 1
    await tx.updateTask(id, { depsPending, updatedAt: now })
    if (depsPending === 0) await tx.appendEvent(event('task.ready', now, { project: d.project, taskId: id }, { dependencies: d.dependsOn }))
  }
  // A late report can complete a task that had been dead-lettered: the dependents canceled with it wait again.
  await reviveDependents(tx, t, now, dependents)
}

/**
 * A task ended failed or canceled: every task waiting for it (transitively) can never start, so it is
 * canceled with the reason in `attention` (kind `dependency`) and a task.canceled event naming the
 * dependency. An answer that revives the task revives them too (`reviveDependents`).
 */
export async function cancelDependents (tx: StoreTx, t: TaskFacts, ending: 'failed' | 'canceled', now: number): Promise<void> {
  const queue: Array<{ id: string, cause: string, root: string }> = (await tx.dependents(t.id)).map((id) => ({ id, cause: t.id, root: ending }))
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const d = await tx.task(item.id)
    if (d === null || d.state !== 'submitted') continue
    const message = `Canceled because its dependency ${item.cause} ended ${item.cause === t.id ? ending : 'canceled'}.`
    const attention: Attention = { kind: 'dependency', message, at: iso(now), worker: null, dependency: item.cause }
    await tx.updateTask(d.id, { state: 'canceled', finishedAt: now, attention, updatedAt: now })
    await tx.appendEvent(event('task.canceled', now, { project: d.project, taskId: d.id },
      { previousState: 'submitted', reason: message, dependency: item.cause }))
    for (const id of await tx.dependents(d.id)) queue.push({ id, cause: d.id, root: ending })
  }
}

/** Undo `cancelDependents` for a task that goes back to the queue: its dependency-canceled dependents wait again. */
async function reviveDependents (tx: StoreTx, t: TaskFacts, now: number, dependentsOfT?: string[]): Promise<void> {
  const queue = [t.id]
  for (let cause = queue.shift(); cause !== undefined; cause = queue.shift()) {
    for (const id of cause === t.id && dependentsOfT !== undefined ? dependentsOfT : await tx.dependents(cause)) {
      const d = await tx.task(id)
      if (d === null || d.state !== 'canceled' || d.attention?.kind !== 'dependency' || d.attention.dependency !== cause) continue
      const states = await Promise.all(d.dependsOn.map((dep) => tx.task(dep)))
      const depsPending = states.filter((s) => s?.state !== 'completed').length
      await tx.updateTask(id, { state: 'submitted', finishedAt: null, attention: null, depsPending, updatedAt: now })
      await tx.appendEvent(event('task.requeued', now, { project: d.project, taskId: id },
        { reason: `its dependency ${cause} was given another try`, leaseId: '' }))
      queue.push(id)
    }
  }
}

/** The worker a sent-back task is reserved for: the one that did it, unless it already works on something else. */
async function reserveFor (tx: StoreTx, worker: string | null, now: number, opts: ReserveOptions):
Promise<{ reservedFor: string | null, availableAt: number }> {
  if (worker === null || opts.reserveMs <= 0 || (await tx.liveLeaseOf(worker)) !== null) return { reservedFor: null, availableAt: 0 }
  return { reservedFor: worker, availableAt: now + opts.reserveMs }
}

/**
 * `POST /tasks/{id}/review`: accept a task waiting in review-required (it completes, its dependents may
 * start) or send it back with feedback (queued again, offered first to the worker that did it).
 * @throws CoordError TASK_NOT_FOUND, NOT_IN_REVIEW, FEEDBACK_REQUIRED
 */
export async function review (tx: StoreTx, taskId: string, body: ReviewBody, now: number, opts: ReserveOptions): Promise<Task> {
  const t = await requireTask(tx, taskId)
  if (t.state !== 'review-required') {
    throw new CoordError('NOT_IN_REVIEW', `Task ${taskId} is ${t.state}, not review-required: only a reported, checked task can be reviewed.`,
      { taskId, state: t.state })
  }
  if (body.decision === 'changes' && body.feedback === undefined) {
    throw new CoordError('FEEDBACK_REQUIRED', 'decision `changes` needs `feedback`: say what the worker must change.', { taskId })
  }
  const view = await tx.taskView(taskId)
  const worker = view.result?.worker ?? null
  const note: TaskNote = { kind: 'review', decision: body.decision, message: body.feedback ?? 'Accepted.', by: body.by ?? null, at: iso(now) }
  await tx.appendNote(taskId, note)
  if (body.decision === 'accept') {
    const r = view.result
    const data = { attempt: r?.attempt ?? t.attempts, deliverables: r?.deliverables ?? [], contextScore: r?.contextScore ?? null, worker }
    await completeTask(tx, t, data, now, true)
  } else {
    const reserved = await reserveFor(tx, worker, now, opts)
    await tx.updateTask(taskId, { state: 'submitted', finishedAt: null, ...reserved, updatedAt: now })
    await tx.appendEvent(event('task.changes_requested', now, { project: t.project, taskId, worker },
      { feedback: body.feedback as string, by: body.by ?? null, reservedFor: reserved.reservedFor }))
  }
  return tx.taskView(taskId)
}

/**
 * `POST /tasks/{id}/answer`: the engineer's answer, appended to the task's notes. A task waiting for the
 * engineer (input-required) or failed for good goes back to the queue, offered first to the worker that
 * asked (a failed task gets one more attempt, and its dependency-canceled dependents wait again); a
 * submitted or working task just gets the note. A failed task of a finished project reopens the project
 * (project.reopened): it finishes again once that attempt ends, so the escalation's action always works.
 * @throws CoordError TASK_NOT_FOUND, NOTHING_TO_ANSWER (completed, canceled or review-required)
 */
export async function answer (tx: StoreTx, taskId: string, body: AnswerBody, now: number, opts: ReserveOptions): Promise<Task> {
  const t = await requireTask(tx, taskId)
  const refusal = t.state === 'completed' || t.state === 'canceled'
    ? `Task ${taskId} is ${t.state}; post a new task for further work.`
    : t.state === 'review-required'
      ? `Task ${taskId} waits for review: use POST /tasks/${taskId}/review with decision accept or changes.`
      : null
  if (refusal !== null) throw new CoordError('NOTHING_TO_ANSWER', refusal, { taskId, state: t.state })
  const view = await tx.taskView(taskId)
  const question = t.attention?.message ?? (t.state === 'failed' ? view.result?.summary : undefined)
  const requeue = t.state === 'input-required' || t.state === 'failed'
  const asker = requeue ? t.attention?.worker ?? view.result?.worker ?? null : null
  const reserved = requeue ? await reserveFor(tx, asker, now, opts) : { reservedFor: null, availableAt: 0 }
  await tx.appendNote(taskId, {
    kind: 'answer',
    message: body.message,
    by: body.by ?? null,
    at: iso(now),
    ...(question === undefined ? {} : { question }),
    ...(asker === null ? {} : { worker: asker, reservedUntil: reserved.reservedFor === null ? null : iso(reserved.availableAt) }),
  })
  if (requeue) {
    // A failed task gets one more attempt: the claim counts it, and one more failure dead-letters it again.
    const maxAttempts = t.state === 'failed' ? Math.max(t.maxAttempts, t.attempts + 1) : undefined
    // The engineer stepped in: the checks get a fresh budget of rejections.
    await tx.updateTask(taskId, {
      state: 'submitted',
      finishedAt: null,
      attention: null,
      checkRejections: 0,
      ...reserved,
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
      updatedAt: now,
    })
    if (t.state === 'failed') await reviveDependents(tx, t, now)
  }
  await tx.appendEvent(event('task.answered', now, { project: t.project, taskId, worker: asker ?? t.attention?.worker ?? null }, {
    by: body.by ?? null,
    previousState: t.state,
    requeued: requeue,
    ...(requeue ? { reservedFor: reserved.reservedFor } : {}),
    ...(question === undefined ? {} : { question }),
    answer: body.message,
  }))
  if (t.state === 'failed') await reopenProject(tx, t.project, taskId, now)
  return tx.taskView(taskId)
}

/** A finished project gets a task back (an answered dead letter): it is open again until that task ends. */
async function reopenProject (tx: StoreTx, project: string, taskId: string, now: number): Promise<void> {
  const p = await tx.project(project)
  if (p?.finishedAt == null) return
  await tx.updateProject(project, { finishedAt: null })
  await tx.appendEvent(event('project.reopened', now, { project, taskId },
    { reason: `the engineer answered failed task ${taskId}: it gets another attempt`, taskId }))
}

/**
 * A fresh claim of a task answered for `answer.worker` went to `claimer` instead: on the first claim since
 * the answer, record why (task.reservation_lapsed) and leave the asker a notice for its next claim or report.
 * @param t the task as it was before this claim (its `leaseId` is the lease before this one)
 */
export async function tellAskerOfHandOn (tx: StoreTx, t: TaskFacts, answer: TaskNote, claimer: string, now: number): Promise<void> {
  const asker = answer.worker ?? null
  if (asker === null || asker === claimer) return
  const before = t.leaseId === null ? null : await tx.lease(t.leaseId)
  if (before !== null && before.grantedAt > Date.parse(answer.at)) return
  const busy = await tx.liveLeaseOf(asker)
  const why = answer.reservedUntil == null
    ? `you were working on another task when it was answered${busy === null ? '' : ` (you now hold ${busy.taskId})`}`
    : `it was held for you until ${answer.reservedUntil} and you did not poll for work by then`
  const message = `Your question on task ${t.id} was answered, but the task went to ${claimer}: ${why}. ` +
    `You need not do anything; the answer is in its notes (GET /tasks/${t.id}).`
  await tx.addNotice(asker, { taskId: t.id, message, at: iso(now) })
  await tx.appendEvent(event('task.reservation_lapsed', now, { project: t.project, taskId: t.id, worker: asker },
    { asker, claimedBy: claimer, reason: why }))
}
