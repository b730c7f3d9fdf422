/**
 * The storage interface the lifecycle talks to. Each method is one atomic transaction; state changes
 * append their events in the same transaction, so an acknowledged change and its event survive a crash
 * together. SQLite implements it today (`sqlite-store.ts`); a PostgreSQL store implements the same
 * interface and passes the same contract tests (`test/store-contract.test.ts`).
 *
 * All times are epoch milliseconds. Methods throw `CoordError` for caller mistakes (unknown task,
 * stale lease, conflict) and plain errors for storage failures.
 */
import type { TaskInput, Assignment, Lease, Task, ReportBody, TaskDetail, TaskPage } from '../schemas/tasks.js'
import type { Event } from '../schemas/events.js'
import type { ProjectSummary } from '../schemas/workers.js'
import type { TaskState } from '../schemas/common.js'
import type { TaskSpec } from '../lifecycle/task-spec.js'

/** What a worker asks for: optionally one project, optionally one task type. */
export interface ClaimFilter {
  project?: string | undefined
  type?: string | undefined
}

/** Result of a batch create. */
export interface CreateOutcome {
  created: string[]
  existing: string[]
  closed: boolean
}

/** A task with its full history (the `GET /tasks/{id}` answer). */
export type TaskHistory = TaskDetail

/** Result of an accepted report. */
export interface ReportOutcome {
  task: Task
  duplicate: boolean
}

/** A stored worker, before its state is derived. Times in ms. */
export interface WorkerRow {
  id: string
  firstSeenAt: number
  lastSeenAt: number
  offlineAt: number | null
  tasksCompleted: number
  tasksFailed: number
  currentTask: string | null
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

/** The narrow storage interface. */
export interface Store {
  /**
   * Create a batch atomically. Ids that exist with the same content hash are reported as `existing`.
   * @throws CoordError TASK_CONFLICT (same id, other content; nothing created), PROJECT_CLOSED
   */
  createTasks (project: string, inputs: TaskInput[], specs: TaskSpec[], close: boolean, now: number): Promise<CreateOutcome>
  /** The worker's live lease, if it holds one (the oldest, should it hold several). */
  currentAssignment (worker: string, now: number): Promise<Assignment | null>
  /**
   * Claim the best queued task for this worker (priority, then posting order), or null. A task whose
   * latest lease this worker failed or let lapse comes last: retries go to someone else when possible.
   */
  claim (worker: string, filter: ClaimFilter, now: number): Promise<Assignment | null>
  /** Give a just-claimed task back without counting the attempt (its requester had gone). */
  release (leaseId: string, now: number): Promise<void>
  /**
   * Extend a lease by the task's lease length from `now`; revives a lapsed lease nobody else took.
   * @throws CoordError TASK_NOT_FOUND, LEASE_* , TASK_CANCELED
   */
  heartbeat (taskId: string, worker: string, leaseId: string, now: number): Promise<Lease>
  /**
   * Apply a worker's report. A refused report is still stored in the task's history before throwing.
   * @throws CoordError TASK_NOT_FOUND, LEASE_*, TASK_CANCELED, TASK_FINISHED
   */
  report (taskId: string, body: ReportBody, now: number): Promise<ReportOutcome>
  /** End every lease whose deadline is at or before `now`; returns how many lapsed. */
  expireLeases (now: number): Promise<number>
  /** The earliest deadline of a live lease, or null when none is live. */
  nextLeaseDeadline (): Promise<number | null>
  /**
   * Cancel a task that is not finished; ends its live lease.
   * @throws CoordError TASK_NOT_FOUND, TASK_FINISHED
   */
  cancel (taskId: string, reason: string | undefined, now: number): Promise<Task>
  /** Mark a project closed (no more tasks coming); creates it if unknown. */
  closeProject (project: string, now: number): Promise<ProjectSummary>
  /** Record that a worker made a request; registers it on first sight (emits worker.registered / worker.online). */
  touchWorker (worker: string, now: number): Promise<void>
  /** Declare offline (emit worker.offline) every worker silent since before `silentSince`, except `except`. */
  markOffline (silentSince: number, except: ReadonlySet<string>, now: number): Promise<number>
  /** The earliest `lastSeenAt` among workers not yet declared offline, or null. */
  oldestOnlineLastSeen (except: ReadonlySet<string>): Promise<number | null>
  /** Whether the project (or, with none, every project) is done; false while no project exists. */
  isFinished (project: string | undefined): Promise<boolean>
  getTask (taskId: string): Promise<Task | null>
  getHistory (taskId: string): Promise<TaskHistory | null>
  listTasks (query: TaskListQuery): Promise<TaskPage>
  listWorkers (): Promise<WorkerRow[]>
  listProjects (project?: string): Promise<ProjectSummary[]>
  /** Events with `seq > after`, oldest first, optionally for one project. */
  events (after: number, project: string | undefined, limit: number): Promise<Event[]>
  /** Whether writes can be acknowledged now (file still in place, writable, not locked by others). */
  health (): Promise<StoreHealth>
  close (): Promise<void>
}
