/**
 * What a coordinator waits for: the project done, any task finished, given tasks finished, or
 * something that needs it ("attention", decided by `needsAPerson` alone: a task failed for good, a
 * worker blocked on a question, a task waiting for review, a task escalated to the engineer (its
 * checks failed too often, or a file conflict), a worker gone offline having lost its task, an
 * engineer's answer to a task or to the coordinator's question). Only the watched project's events
 * count. Shared by `coord wait` and the MCP server's `wait_for` tool; it only reads
 * through the typed `CoordClient`, and the caller keeps the event cursor.
 *
 * How: the current state first (finished tasks and a done project count at once), then the event
 * feed `GET /events?after=` in chained long polls until the time is spent. Every event after the
 * cursor is looked at exactly once, so consecutive waits that pass the returned `after` on neither
 * miss nor repeat one.
 *
 * Times: `waitS`, `sliceS`, `waitedS` are seconds (as in the API); the clock is `Date.now()` ms.
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { CallOptions, CoordClient } from './client.js'
import { CoordApiError } from './client-errors.js'
import type { Event } from '../src/schemas/events.js'
import type { TaskState } from '../src/schemas/common.js'

/** Shortest time between two polls of the feed, in ms (no busy loop when the server cannot wait). */
const MIN_POLL_MS = 1000
/** Events per page; a full page is followed by the next one at once. */
const PAGE = 500

/** Task states from which a task never moves again. */
export const FINISHED_STATES: readonly TaskState[] = ['completed', 'failed', 'canceled']

/** What to wait for. */
export interface WaitSpec {
  /** The project to watch; without it, the project of the given tasks (or every project). */
  project?: string
  /** Wait until every one of these tasks is finished (then `until` is ignored). */
  tasks?: string[]
  /** Without `tasks`: `done` = the project finished (closed, every task finished); `any` = any task of it finished. Default `done`. */
  until?: 'done' | 'any'
  /**
   * Last event seq already seen (0 = from the start of the feed), or a function giving it for the
   * feed watched (a project, or null for the whole feed) once that is known from the named tasks.
   */
  after: number | ((project: string | null) => number)
}

/** How long to wait and who hears how it goes. */
export interface WaitOptions extends CallOptions {
  /** Seconds to wait in all (0 = look once, no waiting). */
  waitS: number
  /** Longest single poll in seconds (default: all the remaining time; the server caps it). */
  sliceS?: number
  /** Called once per relevant event, in seq order, as it is seen. */
  onEvent?: (event: Event) => void
  /** Called after each poll that brought nothing decisive while time remains: seconds waited so far and in all. */
  onProgress?: (waitedS: number, totalS: number) => void
  /** Clock in epoch ms, replaceable in tests. */
  now?: () => number
}

/** Why the coordinator is needed (or told: an answer from the engineer). */
export interface Attention {
  /** task_review = a task waits in review-required; task_escalated = checks failed too often or a file conflict (see `kind`). */
  reason: 'task_failed' | 'task_blocked' | 'task_review' | 'task_escalated' | 'worker_offline' | 'task_answered' | 'question_answered'
  seq: number
  taskId: string | null
  worker: string | null
  /** The failure summary, the worker's question, the deliverables to review, why it was escalated, or when the worker (that lost `taskId`) was last seen. */
  message: string
  /** task_escalated: the escalation kind (`checks`, `conflict`); question_answered: the question id. */
  kind?: string
}

/**
 * How a wait ended: `done` the awaited condition happened (exit 0), `attention` something needs the
 * coordinator (exit 5; wins when both happened), `timeout` neither within the time (exit 2).
 */
export interface WaitResult {
  outcome: 'done' | 'attention' | 'timeout'
  /** What was awaited, in words. */
  condition: string
  /** Whether the awaited condition happened (true with `done`; may be true with `attention`). */
  met: boolean
  project: string | null
  /** Pass as `after` to the next wait. */
  after: number
  /** Seconds this wait took, rounded. */
  waitedS: number
  /** Tasks seen finishing in this wait (from events), and for given tasks their current states. */
  finished: Array<{ taskId: string, state: TaskState }>
  /** Given tasks not finished yet (empty without `tasks`). */
  pending: string[]
  attention: Attention[]
  /** One sentence for a chat: what happened and what to do next. */
  message: string
}

/** The task state a finishing event leaves its task in, or null for other events. */
function finishedState (e: Event): TaskState | null {
  if (e.type === 'task.completed') return 'completed'
  if (e.type === 'task.canceled') return 'canceled'
  if (e.type === 'task.failed' && e.data.final === true) return 'failed'
  return null
}

/**
 * What needs a person: the one predicate `coord wait` and MCP `wait_for` wake on (exit 5 / outcome
 * `attention`). An event needs the coordinator when
 * - a task failed for good (`task.failed` with `final`),
 * - a worker asks a question (`task.input_required`),
 * - a task waits for review (`task.review_required`),
 * - a task was escalated to the engineer (`task.escalated`),
 * - a worker went offline having lost its task (`worker.offline` naming a task: its lease lapsed
 *   without a heartbeat, so that chat has stopped; the task was re-offered or dead-lettered).
 * Nothing else wakes a wait: a worker working within its lease is never offline, and one that goes
 * quiet holding nothing (`worker.offline` without a task), `worker.online` and other workers' or other
 * projects' events need no one. To wake on another event type, add it here.
 * @param project the project watched (null = every project): an event of another project never wakes
 * @returns the attention, or null when the event needs no one
 */
export function needsAPerson (e: Event, project: string | null): Attention | null {
  if (project !== null && e.project !== project) return null
  const base = { seq: e.seq, taskId: e.taskId, worker: e.worker }
  if (e.type === 'task.failed' && e.data.final === true) return { ...base, reason: 'task_failed', message: String(e.data.summary ?? '') }
  if (e.type === 'task.input_required') return { ...base, reason: 'task_blocked', message: String(e.data.question ?? '') }
  if (e.type === 'task.review_required') {
    const files = Array.isArray(e.data.deliverables) ? e.data.deliverables.map(String) : []
    return { ...base, reason: 'task_review', message: files.length === 0 ? 'no deliverables named' : `deliverables: ${files.join(', ')}` }
  }
  if (e.type === 'task.escalated') return { ...base, reason: 'task_escalated', kind: String(e.data.kind ?? ''), message: String(e.data.message ?? '') }
  if (e.type === 'worker.offline' && e.taskId !== null) return { ...base, reason: 'worker_offline', message: `last seen ${String(e.data.lastSeenAt ?? '?')}` }
  // The engineer answered a worker's question (the task may need amending) or the coordinator's own.
  if (e.type === 'task.answered') return { ...base, reason: 'task_answered', message: answerText(e) }
  if (e.type === 'question.answered') return { ...base, reason: 'question_answered', kind: String(e.data.questionId ?? ''), message: answerText(e) }
  return null
}

/** `question → answer (by …)` of an answer event. */
function answerText (e: Event): string {
  const q = e.data.question === undefined ? '' : `"${String(e.data.question)}" → `
  return `${q}"${String(e.data.answer ?? '(see the task\'s notes)')}"${e.data.by == null ? '' : ` (by ${String(e.data.by)})`}`
}

/** What one wait has seen so far: the named tasks' states, finishes, attention. */
class Seen {
  readonly finished: WaitResult['finished'] = []
  readonly attention: Attention[] = []
  /** A finish of any task (for `until: any`). */
  anyFinished = false
  /** A project.finished event since the status was last read. */
  projectFinished = false

  /**
   * @param states the named tasks' states by id (empty: every task counts)
   * @param project the project watched, null for every project
   */
  constructor (readonly states: Map<string, TaskState>, readonly project: string | null) {}

  /** Take in one event; true when it matters to the coordinator (to print it). */
  see (e: Event): boolean {
    const state = finishedState(e)
    const need = needsAPerson(e, this.project)
    const mine = this.states.size === 0 || (e.taskId !== null && this.states.has(e.taskId))
    if (state !== null && e.taskId !== null && mine) {
      this.finished.push({ taskId: e.taskId, state })
      if (this.states.has(e.taskId)) this.states.set(e.taskId, state)
      this.anyFinished = true
    }
    if (e.type === 'project.finished') this.projectFinished = true
    // A lost task that is not one of the named ones still needs the coordinator (a chat stopped), and
    // so does the answer to its own question.
    if (need !== null && (need.reason === 'worker_offline' || need.reason === 'question_answered' || mine)) this.attention.push(need)
    return (state !== null && mine) || need !== null || e.type.startsWith('project.') || e.type === 'task.reservation_lapsed'
  }

  /** Named tasks not finished yet. */
  pending (): string[] {
    return [...this.states].filter(([, s]) => !FINISHED_STATES.includes(s)).map(([id]) => id)
  }
}

/**
 * Wait until `spec`'s condition holds, something needs the coordinator, or `opts.waitS` seconds pass.
 * @throws CoordApiError (e.g. 404 TASK_NOT_FOUND for a named task, 400 bad project name),
 *   CoordConnectionError, or the signal's reason when aborted
 */
export async function waitUntil (client: CoordClient, spec: WaitSpec, opts: WaitOptions): Promise<WaitResult> {
  const now = opts.now ?? Date.now
  const start = now()
  const deadline = start + opts.waitS * 1000
  const named = [...new Set(spec.tasks ?? [])]
  const states = new Map<string, TaskState>()
  const projects = new Set<string>()
  for (const id of named) {
    const { task } = await client.getTask(id)
    states.set(id, task.state)
    projects.add(task.project)
  }
  // Watch one project's feed when every named task belongs to it; else the whole feed.
  const project = spec.project ?? (projects.size === 1 ? [...projects][0] as string : null)
  const until = named.length > 0 ? 'tasks' : spec.until ?? 'done'
  // `done` is read from the status (for all projects: every project done), at the start and after
  // a project.finished event; the other conditions follow from the events.
  // A project not created yet (404 PROJECT_NOT_FOUND) is not done: wait for its tasks to come.
  const isDone = async (): Promise<boolean> => (await client.status(project ?? undefined).catch((err: unknown) => {
    if (err instanceof CoordApiError && err.code === 'PROJECT_NOT_FOUND') return { done: false }
    throw err
  })).done
  const seen = new Seen(states, project)
  let met = until === 'done' && await isDone()
  let after = typeof spec.after === 'function' ? spec.after(project) : spec.after
  let drain = true
  for (;;) {
    const remainingS = Math.max(0, Math.ceil((deadline - now()) / 1000))
    const asked = now()
    const waitS = drain ? 0 : Math.min(remainingS, opts.sliceS ?? remainingS)
    const page = await client.events({ after, wait: waitS, limit: PAGE, ...(project === null ? {} : { project }) }, { signal: opts.signal })
    for (const e of page.events) if (seen.see(e)) opts.onEvent?.(e)
    after = page.nextAfter
    // A full page: more events are there already; read them before deciding or waiting.
    drain = page.events.length === PAGE
    if (drain) continue
    if (until === 'tasks') met = seen.pending().length === 0
    if (until === 'any') met = seen.anyFinished
    if (until === 'done' && !met && seen.projectFinished) {
      seen.projectFinished = false
      met = await isDone()
    }
    if (met || seen.attention.length > 0 || remainingS === 0 || now() >= deadline) break
    // An empty page at once (the server allows no wait, or is closing) must not become a busy loop.
    if (waitS > 0 && page.events.length === 0 && now() - asked < MIN_POLL_MS) {
      await delay(Math.min(MIN_POLL_MS, Math.max(0, deadline - now())), undefined, { signal: opts.signal })
    }
    opts.onProgress?.(Math.round((now() - start) / 1000), opts.waitS)
  }
  const finished = [...seen.finished]
  // Named tasks that were finished before this wait are reported too, with their state.
  for (const [taskId, state] of states) {
    if (FINISHED_STATES.includes(state) && !finished.some((f) => f.taskId === taskId)) finished.push({ taskId, state })
  }
  const condition = until === 'tasks'
    ? `tasks ${named.join(', ')} finished`
    : until === 'any' ? `any task of ${project === null ? 'any project' : `project ${project}`} finished` : `project ${project ?? '(all)'} done`
  const outcome = seen.attention.length > 0 ? 'attention' : met ? 'done' : 'timeout'
  const waitedS = Math.round((now() - start) / 1000)
  const message = describe(outcome, condition, seen.attention, waitedS)
  return { outcome, condition, met, project, after, waitedS, finished, pending: seen.pending(), attention: seen.attention, message }
}

function describe (outcome: WaitResult['outcome'], condition: string, attention: Attention[], waitedS: number): string {
  if (outcome === 'done') return `Done: ${condition}.`
  if (outcome === 'timeout') return `Nothing decisive within ${waitedS} s (waiting for: ${condition}). Wait again to keep waiting; the cursor is saved.`
  const what = attention.map((a) => {
    const task = `task ${a.taskId ?? '?'}`
    switch (a.reason) {
      case 'worker_offline': return `worker ${a.worker ?? '?'} went offline and lost ${task} (no heartbeat within its lease; the task was re-offered)`
      case 'task_blocked': return `${task} is blocked: ${a.message}`
      case 'task_review': return `${task} waits for your review (${a.message})`
      case 'task_escalated': return `${task} was escalated (${a.kind ?? '?'}): ${a.message}`
      case 'task_failed': return `${task} failed for good: ${a.message}`
      case 'task_answered': return `${task} was answered: ${a.message}`
      case 'question_answered': return `your question ${a.kind ?? '?'} was answered: ${a.message}`
    }
    return task
  })
  return `Needs you: ${what.join('; ')}. Answer, review, re-post or cancel, then wait again.`
}
