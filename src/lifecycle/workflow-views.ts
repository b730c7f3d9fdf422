/**
 * Derived views of the workflow, as pure functions of what the store holds and what the lifecycle
 * remembers: why a submitted task is held, and the engineer's escalation queue. Computed on read, so
 * they can never disagree with the tasks they describe. Times are epoch ms; views carry ISO strings.
 */
import type { TaskState } from '../schemas/common.js'
import type { Hold, Task, TaskNote } from '../schemas/tasks.js'
import type { Escalation, Question } from '../schemas/workflow.js'
import type { ClaimFilter, Store, WorkingWrites } from '../store/store.js'
import { iso } from './events.js'
import { storedOverlaps as writeOverlaps } from './file-globs.js'

/**
 * Why the submitted task `t` is not offered now, or null (offered, or not submitted). Reasons in the
 * order a claim checks them: dependencies, reservation or backoff, overlapping writes.
 * @param states states of `t.dependsOn`; @param working the project's working tasks with declared writes
 */
export function holdOf (t: Task, now: number, states: ReadonlyMap<string, TaskState>, working: readonly WorkingWrites[]): Hold | null {
  if (t.state !== 'submitted') return null
  const open = t.dependsOn.filter((id) => states.get(id) !== 'completed')
  if (open.length > 0) {
    return { kind: 'dependencies', tasks: open, message: `waiting for ${open.map((id) => `${id} (${states.get(id) ?? 'unknown'})`).join(', ')}` }
  }
  const until = t.availableAt === null ? 0 : Date.parse(t.availableAt)
  if (until > now) {
    const at = iso(until)
    return t.reservedFor !== null
      ? { kind: 'reserved', until: at, message: `offered only to ${t.reservedFor} (who did it) until ${at}, then to anyone` }
      : { kind: 'backoff', until: at, message: `retry after a failed attempt, not before ${at}` }
  }
  const clashes = working.filter((w) => w.id !== t.id).map((w) => ({ w, pair: writeOverlaps(t.files.write, w.writes)[0] })).filter((c) => c.pair !== undefined)
  if (clashes.length > 0) {
    return {
      kind: 'files',
      tasks: clashes.map((c) => c.w.id),
      message: 'held while overlapping writes are worked on: ' +
        clashes.map((c) => `${c.w.id}${c.w.worker === null ? '' : ` (${c.w.worker})`} writes ${c.pair?.b ?? ''}, this task ${c.pair?.a ?? ''}`).join('; '),
    }
  }
  return null
}

/**
 * Whether the engineer answered `t` since it was last worked on: its latest note is an answer (a review
 * note after it means the work was redone since). With it, `answer` is that note, for the worker to read
 * before the description.
 */
export function answeredOf (t: Pick<Task, 'notes'>): { answered: boolean, answer?: TaskNote } {
  const last = t.notes[t.notes.length - 1]
  return last?.kind === 'answer' ? { answered: true, answer: last } : { answered: false }
}

/** What a connected worker last polled for. */
export interface Poller {
  worker: string
  filter: ClaimFilter
}

/** Whether a poll with `filter` could be given `t`. */
function takes (filter: ClaimFilter, t: Task): boolean {
  return (filter.project === undefined || filter.project === t.project) && (filter.type === undefined || filter.type === t.type)
}

const describePoll = (p: Poller): string =>
  `${p.worker} (${p.filter.type === undefined ? 'any type' : `type ${p.filter.type}`}${p.filter.project === undefined ? '' : `, project ${p.filter.project}`})`

/** Inputs of the escalation queue. */
export interface EscalationInputs {
  blocked: readonly Task[]
  failed: readonly Task[]
  /** Submitted tasks not held (their dependencies completed, no backoff, no file hold). */
  ready: readonly Task[]
  pollers: readonly Poller[]
  now: number
  /** A ready task nobody connected can take is escalated after waiting this long (ms). */
  unclaimableMs: number
  /** The coordinator's open questions to the engineer. */
  questions?: readonly Question[]
}

/**
 * The engineer's queue: every task that needs a human, oldest first. Kinds: `question` (a worker
 * reported blocked), `checks` (checks failed too often), `conflict` (deliverables collide with another
 * task's declared writes), `failed` (attempts used up), `unclaimable` (no connected worker polls for the
 * task's type or project, for longer than `unclaimableMs`). The coordinator's open questions come as kind
 * `question` with `taskId` null and their `questionId`.
 */
export function escalations (inp: EscalationInputs): Escalation[] {
  const out: Escalation[] = []
  for (const t of inp.blocked) {
    const kind = t.attention?.kind === 'checks' || t.attention?.kind === 'conflict' ? t.attention.kind : 'question'
    const message = t.attention?.message ?? t.result?.question ?? t.result?.summary ?? 'The task needs the engineer.'
    out.push(item(t, kind, message, t.attention?.worker ?? t.result?.worker ?? null, t.attention?.at ?? t.updatedAt,
      `POST /tasks/${t.id}/answer with { "message": "..." } (the task goes back to the queue), or POST /tasks/${t.id}/cancel`))
  }
  for (const t of inp.failed) {
    const message = `Failed for good after ${t.attempts} attempt(s): ${t.result?.summary ?? 'no report or heartbeat within the lease'}`
    out.push(item(t, 'failed', message, t.result?.worker ?? null, t.finishedAt ?? t.updatedAt,
      `POST /tasks/${t.id}/answer with guidance (one more attempt; a finished project reopens for it)`))
  }
  for (const t of inp.ready) {
    const waitedMs = inp.now - Date.parse(t.updatedAt)
    if (waitedMs < inp.unclaimableMs || inp.pollers.some((p) => takes(p.filter, t))) continue
    const polling = inp.pollers.length === 0 ? 'no worker is connected' : `connected: ${inp.pollers.map(describePoll).join(', ')}`
    const message = `No connected worker takes type "${t.type}" in project ${t.project} (${polling}); waiting ${Math.round(waitedMs / 1000)} s.`
    out.push(item(t, 'unclaimable', message, null, t.updatedAt,
      `start a worker that polls with type=${t.type} (or no type), or POST /tasks/${t.id}/cancel`))
  }
  for (const q of inp.questions ?? []) {
    out.push({
      taskId: null,
      questionId: q.id,
      project: q.project,
      kind: 'question',
      state: 'input-required',
      type: 'question',
      message: `The coordinator${q.by === null ? '' : ` (${q.by})`} asks${q.taskId === null ? '' : ` about task ${q.taskId}`}: ${q.message}`,
      worker: null,
      since: q.askedAt,
      attempts: 0,
      action: `POST /questions/${q.id}/answer with { "message": "..." } (the coordinator's wait wakes with it)`,
    })
  }
  return out.sort((a, b) => a.since.localeCompare(b.since) || (a.taskId ?? '').localeCompare(b.taskId ?? ''))
}

function item (t: Task, kind: Escalation['kind'], message: string, worker: string | null, since: string, action: string): Escalation {
  return { taskId: t.id, project: t.project, kind, state: t.state, type: t.type, message, worker, since, attempts: t.attempts, action }
}

/** `tasks` with `hold` set on the submitted ones (read from the store: dependency states, the working writes). Times in ms. */
export async function withHolds<T extends Task> (store: Store, tasks: T[], now: number): Promise<T[]> {
  const waiting = tasks.filter((t) => t.state === 'submitted')
  if (waiting.length === 0) return tasks
  const states = await store.taskStates([...new Set(waiting.flatMap((t) => t.dependsOn))])
  const working = new Map<string, WorkingWrites[]>()
  for (const t of waiting) {
    if (t.files.write.length > 0 && !working.has(t.project)) working.set(t.project, await store.workingWrites(t.project))
  }
  return tasks.map((t) => (t.state === 'submitted' ? { ...t, hold: holdOf(t, now, states, working.get(t.project) ?? []) } : t))
}

/** The escalation queue read from the store (at most 500 tasks of each kind), with the lifecycle's view of who polls. */
export async function readEscalations (store: Store, project: string | undefined,
  live: { now: number, pollers: readonly Poller[], unclaimableMs: number }): Promise<Escalation[]> {
  const { blocked, failed, submitted } = await store.attentionTasks(project, 500)
  const states = await store.taskStates([...new Set(submitted.flatMap((t) => t.dependsOn))])
  const ready = submitted.filter((t) => (t.availableAt === null || Date.parse(t.availableAt) <= live.now) &&
    t.dependsOn.every((d) => states.get(d) === 'completed'))
  const questions = await store.openQuestions(project, 500)
  return escalations({ blocked, failed, ready, questions, ...live })
}
