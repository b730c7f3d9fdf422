/**
 * The storage interface the lifecycle talks to. A store persists, locks and queries; it decides
 * nothing. Every rule (which task a worker gets, what a report does, when a project is done, what an
 * event says) lives in `src/lifecycle/`, which runs it inside `transact`, so SQLite and PostgreSQL
 * apply one set of rules (the split pg-boss keeps between `manager.ts` and `plans.ts`).
 *
 * SQLite implements it today (`sqlite-store.ts`); a PostgreSQL store implements the same interface
 * and runs the same contract and behaviour suites.
 *
 * All times are epoch milliseconds. Methods throw `CoordError` STORAGE_UNAVAILABLE (503) when the
 * storage fails (disk full, file locked or replaced) and plain errors for bugs.
 */
import type { Attention, Notice, TaskInput, Task, TaskDetail, TaskNote, TaskPage, TaskResult } from '../schemas/tasks.js'
import type { Question } from '../schemas/workflow.js'
import type { Check, CheckResult } from '../schemas/checks.js'
import type { MetricsHistory } from '../lifecycle/metrics.js'
import type { Event, EventType } from '../schemas/events.js'
import type { ProjectSummary } from '../schemas/workers.js'
import type { TaskState } from '../schemas/common.js'
import type { TaskSpec } from '../lifecycle/task-spec.js'

/** What a worker asks for: optionally one project, optionally one task type. */
export interface ClaimFilter {
  project?: string | undefined
  type?: string | undefined
}

/** Why a lease ended; `null` while it is live. `escalated`: the checks failed too often and the task went to the engineer. */
export type LeaseEnd = 'completed' | 'failed' | 'blocked' | 'expired' | 'canceled' | 'released' | 'escalated'

/** The facts of a task the rules decide on. `leaseId` is the task's latest lease, live or not. */
export interface TaskFacts {
  id: string
  project: string
  state: TaskState
  attempts: number
  maxAttempts: number
  /** Lease length in ms. */
  leaseMs: number
  leaseId: string | null
  type: string
  /** `files.write` as posted (paths and globs). */
  writes: string[]
  dependsOn: string[]
  /** Dependencies not completed yet; the task is offered only at 0. */
  depsPending: number
  checks: Check[]
  review: boolean
  /** Realpath of the workspace root, or null. */
  workspace: string | null
  attention: Attention | null
  checkRejections: number
}

/** A stored lease. Times in ms. */
export interface LeaseFacts {
  id: string
  taskId: string
  worker: string
  attempt: number
  grantedAt: number
  expiresAt: number
  endedAt: number | null
  endReason: LeaseEnd | null
}

/** A stored project. Times in ms. */
export interface ProjectFacts {
  name: string
  createdAt: number
  closedAt: number | null
  finishedAt: number | null
}

/** A stored worker. Times in ms. */
export interface WorkerRow {
  id: string
  firstSeenAt: number
  lastSeenAt: number
  offlineAt: number | null
  tasksCompleted: number
  tasksFailed: number
  currentTask: string | null
  /** Deadline of the worker's unended lease (on `currentTask`), or null; filled by `listWorkers` only. */
  leaseExpiresAt: number | null
}

/** A report to store, accepted or refused. `details` is already capped by the lifecycle. */
export interface ReportRecordInput {
  taskId: string
  leaseId: string
  worker: string
  attempt: number | null
  status: string
  summary: string
  deliverables: string[]
  contextScore: number | null
  question: string | null
  details: Record<string, unknown> | null
  accepted: boolean
  rejection: string | null
  checks: CheckResult[] | null
  /** The request's Idempotency-Key header, or null. */
  idempotencyKey: string | null
  at: number
}

/** An event to append; the store numbers it (`seq`, strictly increasing, never reused). */
export interface EventDraft {
  type: EventType
  at: number
  project: string | null
  taskId: string | null
  worker: string | null
  data: Record<string, unknown>
}

/** Fields of a task a rule may change. */
export interface TaskPatch {
  state?: TaskState
  attempts?: number
  leaseId?: string | null
  result?: TaskResult | null
  finishedAt?: number | null
  depsPending?: number
  maxAttempts?: number
  attention?: Attention | null
  checkRejections?: number
  /** Not offered before this time (ms); 0 = at once. */
  availableAt?: number
  reservedFor?: string | null
  updatedAt: number
}

/** The fields of a task an amendment may replace (already validated and resolved by the lifecycle). */
export interface TaskAmendment {
  description?: string
  acceptance?: string[]
  checks?: Check[]
  priority?: number
  context?: Record<string, unknown>
}

/** Which queued task to pick. Only tasks with no pending dependency and `availableAt <= now` are picked. */
export interface PickOptions {
  /** Epoch ms. */
  now: number
  /** Skip tasks whose latest lease is this worker's and ended `failed` or `expired`. */
  skipRetriesOf?: string
  /** Task ids not to pick (held by a file conflict). */
  exclude?: readonly string[]
}

/** A working task's declared writes. */
export interface WorkingWrites {
  id: string
  writes: string[]
  worker: string | null
}

/**
 * One transaction's view of the store. Reads see the transaction's own writes; everything written
 * commits or rolls back together, events included.
 */
export interface StoreTx {
  /** The stored identity of each id that exists: project, content hash and the task as posted. */
  existingTasks (ids: string[]): Promise<Map<string, { project: string, specHash: string, input: TaskInput }>>
  /** Insert a task; `depsPending` is how many of its dependencies are not completed yet. */
  insertTask (spec: TaskSpec, input: TaskInput, now: number, depsPending: number): Promise<void>
  /** Record that `taskId` waits for `dependsOn`. */
  insertDependency (dependsOn: string, taskId: string): Promise<void>
  /** Ids of the tasks that depend on `taskId`, in posting order. */
  dependents (taskId: string): Promise<string[]>
  /** Append a note to the task's `notes`. */
  appendNote (taskId: string, note: TaskNote): Promise<void>
  /** The worker's reserved task (state submitted, no pending dependency) that matches `filter`, if any. */
  reservedFor (worker: string, filter: ClaimFilter): Promise<string | null>
  /** Working tasks of the project that declared writes (the live side of every file-conflict check). */
  workingWrites (project: string): Promise<WorkingWrites[]>
  task (id: string): Promise<TaskFacts | null>
  /** The task as the API shows it (with its live lease). @throws Error when it does not exist */
  taskView (id: string): Promise<Task>
  updateTask (id: string, patch: TaskPatch): Promise<void>
  /** The best queued task for `filter`: highest priority, then posting order; null when none. Uses an index. */
  pickQueued (filter: ClaimFilter, opts: PickOptions): Promise<TaskFacts | null>

  lease (id: string): Promise<LeaseFacts | null>
  /** The worker's live lease (`endedAt` null), if any: at most one exists (enforced by the store). */
  liveLeaseOf (worker: string): Promise<LeaseFacts | null>
  /** @throws CoordError WORKER_BUSY when the worker already holds a live lease */
  insertLease (lease: LeaseFacts): Promise<void>
  updateLease (id: string, patch: { expiresAt?: number, endedAt?: number | null, endReason?: LeaseEnd | null }): Promise<void>
  /** Live leases whose deadline is at or before `now`, oldest deadline first, at most `limit`. */
  lapsedLeases (now: number, limit: number): Promise<LeaseFacts[]>

  insertReport (report: ReportRecordInput): Promise<void>
  /** The latest report stored for this task and lease, if any (to recognise a retried report). */
  lastReport (taskId: string, leaseId: string): Promise<{ rejection: string | null, idempotencyKey: string | null } | null>

  project (name: string): Promise<ProjectFacts | null>
  /** Create the project if unknown. */
  ensureProject (name: string, now: number): Promise<void>
  updateProject (name: string, patch: { closedAt?: number, finishedAt?: number | null }): Promise<void>
  /** Whether the project has a task in one of `states` (an EXISTS on an index, not a count). */
  hasTaskIn (project: string, states: readonly TaskState[]): Promise<boolean>
  /** Tasks of the project by state. */
  stateCounts (project: string): Promise<Partial<Record<TaskState, number>>>

  worker (id: string): Promise<WorkerRow | null>
  upsertWorker (id: string, patch: { lastSeenAt: number, offlineAt?: number | null, firstSeenAt?: number }): Promise<void>
  countWorkerResult (id: string, status: 'completed' | 'failed'): Promise<void>

  appendEvent (event: EventDraft): Promise<void>

  /**
   * Replace the amended fields of the task, only while it is in state `expected` (compare-and-set).
   * The task as posted (`existingTasks`' input and hash) is kept, so re-posting it stays idempotent.
   * @returns false when the task is not (any more) in `expected`; nothing is written then
   */
  amendTask (id: string, expected: TaskState, fields: TaskAmendment, now: number): Promise<boolean>
  /** Store a question to the engineer; returns its id (`question-<n>`, increasing, never reused). */
  insertQuestion (q: { project: string, taskId: string | null, message: string, by: string | null, at: number }): Promise<string>
  question (id: string): Promise<Question | null>
  /**
   * Record the answer of a question that is still open (compare-and-set on its being open).
   * @returns false when it was already answered (or does not exist); nothing is written then
   */
  answerQuestion (id: string, answer: { message: string, by: string | null, at: number }): Promise<boolean>
  /** Add a notice for the worker (told with its next claim or report); a worker never seen is ignored. */
  addNotice (worker: string, notice: Notice): Promise<void>
  /** The worker's notices not yet told, oldest first, and forget them. */
  takeNotices (worker: string): Promise<Notice[]>
}

/** What a committed transaction changed, as subscribers hear it. */
export interface StoreChange {
  /** Projects named by the events the transaction appended (null stands for worker events). */
  projects: ReadonlySet<string | null>
  /** Event types appended, for cheap filtering. */
  types: ReadonlySet<EventType>
}

/** Filters and page for `listTasks`. `after` is an opaque cursor (the task's sequence number). */
export interface TaskListQuery {
  project?: string | undefined
  state?: TaskState | undefined
  worker?: string | undefined
  type?: string | undefined
  after?: number | undefined
  limit: number
}

/** Whether the store can take writes now; `message` says why not. */
export interface StoreHealth {
  ok: boolean
  message: string
}

/**
 * Checks that the store's backing file is still the one it opened and writable. `check` throws
 * `CoordError` STORAGE_UNAVAILABLE when not; the store calls it before every write transaction and in
 * `health()`.
 */
export interface StorageGuard {
  check (): void
  /** Release what the guard holds (a lock file). */
  close (): void
}

/** A page of a task's history: at most `limit` leases, reports and events each. */
export interface HistoryPage {
  limit: number
}

/** The narrow storage interface. */
export interface Store {
  /**
   * Run `fn` in one transaction that takes the write lock at once (SQLite IMMEDIATE; PostgreSQL
   * SERIALIZABLE or row locks). Commits when `fn` resolves, rolls back when it throws (and rethrows).
   * `fn` must await nothing but `tx` calls. Subscribers hear of the change after the commit.
   */
  transact<T> (fn: (tx: StoreTx) => Promise<T>): Promise<T>
  /**
   * Call `listener` after every committed transaction that appended events, including (for stores
   * shared between processes) those of other processes. Returns the unsubscribe function.
   */
  subscribe (listener: (change: StoreChange) => void): () => void

  /** The worker's live lease as an assignment view, if any (read-only; the lifecycle checks expiry). */
  liveLeaseView (worker: string): Promise<{ task: Task, lease: LeaseFacts } | null>
  /** The earliest deadline of a live lease, or null when none is live. */
  nextLeaseDeadline (): Promise<number | null>
  /** The earliest `availableAt` after `now` of a submitted task (a retry backoff or reservation ending), or null. */
  nextAvailableAt (now: number): Promise<number | null>
  /**
   * Tasks that may need a human or are held, for escalations and holds: states `input-required` and
   * `failed`, plus `submitted` ones (all of them, oldest first), at most `limit` each, optionally of one project.
   */
  attentionTasks (project: string | undefined, limit: number): Promise<{ blocked: Task[], failed: Task[], submitted: Task[] }>
  /** Working tasks of the project that declared writes. */
  workingWrites (project: string): Promise<WorkingWrites[]>
  /** The states of these task ids (unknown ids left out). */
  taskStates (ids: readonly string[]): Promise<Map<string, Task['state']>>
  /** Everything the metrics are computed from, for one project; null when the project does not exist. */
  metricsHistory (project: string, now: number): Promise<MetricsHistory | null>
  /** Workers not declared offline, with their stored `lastSeenAt`. */
  onlineWorkers (): Promise<Array<{ id: string, lastSeenAt: number }>>
  /** Whether the project (or, with none, every project) is finished; false while no project exists. */
  isFinished (project: string | undefined): Promise<boolean>
  getTask (taskId: string): Promise<Task | null>
  /** A task with its history, each list capped at `page.limit` (oldest first). */
  getHistory (taskId: string, page: HistoryPage): Promise<TaskDetail | null>
  /** Tasks in posting order, filtered by every field given; each filter shape is served by an index where one exists. */
  listTasks (query: TaskListQuery): Promise<TaskPage>
  /**
   * The submitted tasks of `project` (or of every project) that can be held at all, oldest first, at most
   * `limit`: those with dependencies, an `availableAt` (backoff or reservation) or declared writes. Whether
   * each one is held right now is for the caller to tell (`holdOf`). Cost grows with these tasks only,
   * not with the plain ones queued beside them.
   */
  listMaybeHeld (project: string | undefined, limit: number): Promise<Task[]>
  /** Workers in order of first request; `after` is the previous page's `nextAfter` (an opaque number). */
  listWorkers (page: { after?: number | undefined, limit: number }): Promise<{ workers: WorkerRow[], nextAfter: number | null }>
  listProjects (project?: string): Promise<ProjectSummary[]>
  /** Open questions to the engineer (no answer yet), oldest first, at most `limit`, optionally of one project. */
  openQuestions (project: string | undefined, limit: number): Promise<Question[]>
  getQuestion (id: string): Promise<Question | null>
  /** Events with `seq > after`, oldest first, optionally for one project (plus worker events). */
  events (after: number, project: string | undefined, limit: number): Promise<Event[]>
  /** Whether writes can be acknowledged now (file still in place, writable, not locked by others). */
  health (): Promise<StoreHealth>
  close (): Promise<void>
}
