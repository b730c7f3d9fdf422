/**
 * The task lifecycle: the one owner of every task state change the API can cause. Routes translate
 * HTTP to these calls and back; each change is one store transaction running the rules of
 * `operations.ts`; this class adds what spans requests — parked long polls and their wake-ups (driven
 * by the store's change notifications, so a change made elsewhere wakes them too), worker presence,
 * and the timers that expire leases and notice silent workers. The parked-poll dispatch lives in
 * `dispatch.ts` (`PollDispatcher`), the timers in `lifecycle-timers.ts` (`LifecycleTimers`) and the
 * read-only views in `lifecycle-views.ts` (`LifecycleViews`); this class owns all three and passes them
 * what they need. The report path lives in `report-path.ts` (`ReportPath`). The settings types live in
 * `lifecycle-config.ts` and are re-exported here.
 *
 * A request whose transaction committed never fails because of what runs after the commit (waking
 * others, re-arming timers, recording presence): such failures are logged and retried.
 *
 * Times: every `*Ms` is milliseconds; API timestamps are ISO strings.
 */
import type { FastifyBaseLogger } from 'fastify'
import { CoordError } from '../errors.js'
import type { EventPage } from '../schemas/events.js'
import type {
  CreateTasksBody, CreateTasksResult, Lease, NextOutcome, ReportBody, ReportResult, Task, TaskDetail, TaskPage,
} from '../schemas/tasks.js'
import type { ProjectSummary, Status, Worker } from '../schemas/workers.js'
import type { AmendBody, AnswerBody, Escalation, Question, QuestionBody, ReviewBody } from '../schemas/workflow.js'
import type { ProjectMetrics } from '../schemas/metrics.js'
import type { ClaimFilter, Store, StoreChange, StoreHealth, StoreTx, TaskListQuery } from '../store/store.js'
import { prepareBatch } from './batch-input.js'
import * as ops from './operations.js'
import { createTasks } from './create-ops.js'
import * as workflow from './workflow-ops.js'
import { amend } from './amend-ops.js'
import * as questions from './question-ops.js'
import { assigned, empty, finished, PollDispatcher } from './dispatch.js'
import { LifecycleTimers } from './lifecycle-timers.js'
import { LifecycleViews } from './lifecycle-views.js'
import { ReportPath, type ReportNext } from './report-path.js'
import { WORKFLOW_DEFAULTS, type LifecycleConfig, type WorkflowConfig } from './lifecycle-config.js'
import { PresenceTable } from './presence.js'
import { DEFAULT_PROJECT, toSpec } from './task-spec.js'
import { ReaderQueue } from './reader-queue.js'
import { answeredOf } from './workflow-views.js'

export type { LifecycleConfig, WorkflowConfig } from './lifecycle-config.js'
export { WORKFLOW_DEFAULTS } from './lifecycle-config.js'

/** Event types after which a parked poll may get a task, or learn that its project finished. */
const WAKING = new Set([
  'task.created', 'task.requeued', 'task.lease_expired', 'task.failed', 'project.finished', 'task.ready', 'task.changes_requested', 'task.answered',
])
/** Event types after which a task held by overlapping writes may be free (a working task stopped working). */
const RELEASING = new Set(['task.completed', 'task.review_required', 'task.input_required', 'task.escalated', 'task.canceled'])

export class TaskLifecycle {
  /** The parked long polls and the claims made for them. */
  private readonly polls: PollDispatcher
  private readonly readers = new ReaderQueue()
  private readonly presence = new PresenceTable()
  /** Lease expiry, offline detection, the retry/reservation wake-up and the presence flush. */
  private readonly timers: LifecycleTimers
  /** The read-only views (escalations, workers, status, tasks, projects, metrics). */
  private readonly views: LifecycleViews
  /** `report`, with its checks and the claim or poll that may follow it. */
  private readonly reportPath: ReportPath
  /** Set once a claim passed a task over for overlapping writes: from then on, a working task stopping wakes parked polls. */
  private readonly claimNotes: ops.ClaimNotes = {}
  /** What each worker last polled for, for the `unclaimable` escalation. */
  private readonly pollFilters = new Map<string, ClaimFilter>()
  private readonly workflow: WorkflowConfig
  /** Set by `stop()`: long polls answer at once instead of parking. */
  private stopped = false
  private readonly unsubscribe: () => void

  /** @param now clock in epoch ms, replaceable in tests */
  constructor (
    private readonly store: Store,
    private readonly config: LifecycleConfig,
    private readonly log: FastifyBaseLogger,
    private readonly now: () => number = Date.now
  ) {
    this.timers = new LifecycleTimers({
      store,
      log,
      now,
      settings: config,
      presence: this.presence,
      waiting: (w) => this.polls.has(w),
      wakeAll: () => this.polls.wake('all'),
    })
    this.workflow = { ...WORKFLOW_DEFAULTS, ...config.workflow }
    this.polls = new PollDispatcher({
      store,
      log,
      now,
      claimNotes: this.claimNotes,
      leaseDue: (a) => this.timers.leaseDue(a),
      availableDue: (at) => this.timers.availableDue(at),
      afterCommit: (what, fn) => this.afterCommit(what, fn),
    })
    this.views = new LifecycleViews({
      store,
      now,
      presence: this.presence,
      waiting: (w) => this.polls.has(w),
      pollFilters: this.pollFilters,
      offlineMs: config.offlineMs,
      unclaimableMs: this.workflow.unclaimableMs,
    })
    this.reportPath = new ReportPath({
      store,
      log,
      now,
      polls: this.polls,
      claimNotes: this.claimNotes,
      workflow: this.workflow,
      stopped: () => this.stopped,
      leaseDue: (a) => this.timers.leaseDue(a),
      availableDue: (at) => this.timers.availableDue(at),
      afterCommit: (what, fn) => this.afterCommit(what, fn),
      touch: (worker) => this.touch(worker),
      next: (worker, filter, waitMs, signal) => this.next(worker, filter, waitMs, signal),
    })
    this.unsubscribe = store.subscribe((change) => this.changed(change))
  }

  /** Load presence, expire leases that lapsed while the server was down, then arm the timers. */
  async start (): Promise<void> {
    this.presence.load(await this.store.onlineWorkers())
    await this.timers.start()
  }

  /** Stop the timers, answer every parked long poll (204 / empty events) and flush presence. */
  async stop (): Promise<void> {
    this.stopped = true
    this.timers.stop()
    this.polls.settleAll()
    this.readers.wakeAll()
    this.unsubscribe()
    await this.timers.flushPresence()
  }

  /** Whether the store can acknowledge writes now. */
  health (): Promise<StoreHealth> {
    return this.store.health()
  }

  /**
   * `POST /tasks`: create a batch atomically.
   * @throws CoordError DUPLICATE_TASK_ID, INVALID_WORKSPACE, INVALID_TASK, TASK_CONFLICT, PROJECT_CLOSED, UNKNOWN_DEPENDENCY,
   *   DEPENDENCY_CYCLE, DEPENDENCY_FAILED
   */
  async createTasks (body: CreateTasksBody): Promise<CreateTasksResult> {
    const project = body.project ?? DEFAULT_PROJECT
    const ids = body.tasks.map((t) => t.id).filter((id): id is string => id !== undefined)
    const dup = ids.find((id, i) => ids.indexOf(id) !== i)
    if (dup !== undefined) {
      throw new CoordError('DUPLICATE_TASK_ID', `Task id ${dup} appears more than once in this batch; give each task its own id.`, { taskId: dup })
    }
    const { workspace, tasks } = prepareBatch(body, this.workflow)
    body = { ...body, tasks }
    const batch = { review: body.review === true, workspace }
    const specs = body.tasks.map((t) => toSpec(t, project, { leaseMs: this.config.defaultLeaseMs, maxAttempts: this.config.defaultMaxAttempts }, batch))
    const now = this.now()
    const out = await this.polls.transactServing(now, async (tx, serve) => {
      const out = await createTasks(tx, project, body.tasks, specs, body.close === true, now)
      if (out.created.length > 0) await serve(this.polls.groupsFor(new Set([project])))
      return out
    })
    return { project, ...out }
  }

  /**
   * `GET /tasks/next`: the worker's current lease if it holds one, else the best queued task, else
   * park for up to `waitMs` until one is posted or freed. The poll is parked before the first claim,
   * so a task posted meanwhile cannot be missed. Parking a second poll for the same worker answers
   * the first one `empty`, so one worker never holds two fresh leases by accident.
   * @param signal aborts when the client disconnects; nothing is then claimed for it
   */
  async next (worker: string, filter: ClaimFilter, waitMs: number, signal?: AbortSignal): Promise<NextOutcome> {
    await this.touch(worker)
    this.pollFilters.set(worker, filter)
    const current = await this.store.liveLeaseView(worker)
    if (current !== null && current.lease.expiresAt > this.now()) {
      const dependencies = await ops.dependencyResults((id) => this.store.getTask(id), current.task.dependsOn)
      return assigned({
        task: current.task, lease: ops.leaseView(current.lease, current.task.leaseSeconds * 1000), resumed: true, dependencies, ...answeredOf(current.task),
      })
    }
    if (waitMs <= 0 || signal?.aborted === true || this.stopped) {
      const now = this.now()
      const a = await this.store.transact((tx) => ops.claim(tx, worker, filter, now, this.claimNotes))
      if (a !== null) {
        this.timers.leaseDue(a)
        return assigned(a)
      }
      return (await this.store.isFinished(filter.project)) ? finished() : empty()
    }
    const result = await this.polls.park(worker, filter, waitMs, signal)
    if (!isAborted(signal)) await this.afterCommit('presence', () => this.touch(worker))
    return result
  }

  /** `POST /tasks/{id}/heartbeat`: extend the lease. @throws CoordError as `operations.heartbeat` */
  async heartbeat (taskId: string, worker: string, leaseId: string): Promise<Lease> {
    const now = this.now()
    const lease = await this.store.transact((tx) => ops.heartbeat(tx, taskId, worker, leaseId, now))
    this.timers.leaseDue({ lease })
    await this.afterCommit('presence', () => this.touch(worker))
    return lease
  }

  /**
   * `POST /tasks/{id}/report`, optionally followed by the worker's next long poll (`next`). A refused
   * report is kept in the task history and its CoordError (409) thrown. Once the report is committed,
   * a failing `next` answers `empty` (poll again) rather than an error. The answer's `task` is the
   * slim `ReportedTask` (new state, retry, finish time): the reporter already has the rest.
   */
  async report (taskId: string, body: ReportBody, next?: ReportNext, idempotencyKey?: string): Promise<ReportResult> {
    return this.reportPath.report(taskId, body, next, idempotencyKey)
  }

  /** `POST /tasks/{id}/cancel`. @throws CoordError TASK_NOT_FOUND, TASK_FINISHED */
  async cancel (taskId: string, reason?: string): Promise<Task> {
    const now = this.now()
    return this.store.transact((tx) => ops.cancel(tx, taskId, reason, now))
  }

  /** `POST /tasks/{id}/review`. @throws CoordError as `workflow.review` */
  async review (taskId: string, body: ReviewBody): Promise<Task> {
    const now = this.now()
    const t = await this.store.transact(async (tx) => {
      const t = await workflow.review(tx, taskId, body, now, { reserveMs: this.workflow.reserveMs })
      await ops.settleProject(tx, t.project, now)
      return tx.taskView(taskId)
    })
    this.polls.reservedTask(t)
    return t
  }

  /** `POST /tasks/{id}/answer`. @throws CoordError as `workflow.answer` */
  async answer (taskId: string, body: AnswerBody): Promise<Task> {
    const now = this.now()
    const t = await this.store.transact((tx) => workflow.answer(tx, taskId, body, now, { reserveMs: this.workflow.reserveMs }))
    this.polls.reservedTask(t)
    return t
  }

  /** `PATCH /tasks/{id}`. @throws CoordError as `amend-ops.amend` */
  async amend (taskId: string, body: AmendBody): Promise<Task> {
    const now = this.now()
    return this.store.transact((tx) => amend(tx, taskId, body, now, this.workflow))
  }

  /** `POST /questions`: the coordinator asks the engineer. @throws CoordError TASK_NOT_FOUND */
  async ask (body: QuestionBody): Promise<Question> {
    const now = this.now()
    return this.store.transact((tx) => questions.ask(tx, body, now))
  }

  /** `POST /questions/{id}/answer`. @throws CoordError QUESTION_NOT_FOUND, ALREADY_ANSWERED */
  async answerQuestion (id: string, body: AnswerBody): Promise<Question> {
    const now = this.now()
    return this.store.transact((tx) => questions.answerQuestion(tx, id, body, now))
  }

  /** `GET /questions/{id}`. @throws CoordError QUESTION_NOT_FOUND */
  async question (id: string): Promise<Question> {
    const q = await this.store.getQuestion(id)
    if (q === null) throw new CoordError('QUESTION_NOT_FOUND', `No question has id ${id}. List open ones with GET /escalations.`, { questionId: id })
    return q
  }

  /** `GET /escalations`: what needs a human, oldest first (see `workflow-views.escalations`). */
  escalations (project?: string): Promise<Escalation[]> {
    return this.views.escalations(project)
  }

  /** `GET /projects/{project}/metrics`. @throws CoordError PROJECT_NOT_FOUND */
  metrics (project: string): Promise<ProjectMetrics> {
    return this.views.metrics(project)
  }

  /** Tasks with `hold` set on the submitted ones: why each is not offered now. */
  withHolds<T extends Task> (tasks: T[]): Promise<T[]> {
    return this.views.withHolds(tasks)
  }

  /** `POST /projects/{project}/close`: no more tasks are coming for the project. */
  async closeProject (project: string): Promise<ProjectSummary> {
    const now = this.now()
    return this.store.transact(async (tx: StoreTx) => {
      await ops.closeProject(tx, project, now)
      return ops.projectSummary(tx, project)
    })
  }

  /**
   * `GET /events`: events after `after`; when there are none, wait up to `waitMs` for the next one.
   * `project` keeps that project's events plus worker events (which belong to no project). The reader
   * parks before each read, so an event committed in between still wakes it.
   */
  async events (after: number, project: string | undefined, limit: number, waitMs: number, signal?: AbortSignal): Promise<EventPage> {
    const deadline = this.now() + waitMs
    for (;;) {
      const left = deadline - this.now()
      const parked = left > 0 && !this.stopped && signal?.aborted !== true ? this.readers.park(left, signal) : null
      const events = await this.store.events(after, project, limit)
      const last = events[events.length - 1]
      if (last !== undefined || parked === null) {
        parked?.cancel()
        return { events, nextAfter: last?.seq ?? after }
      }
      await parked.woken
    }
  }

  /** `GET /workers`: one page, with each worker's state derived now. */
  listWorkers (page: { after?: number | undefined, limit: number }): Promise<{ workers: Worker[], nextAfter: number | null }> {
    return this.views.listWorkers(page)
  }

  /** `GET /status`: counts for one project, or for all when `project` is undefined. */
  status (project?: string): Promise<Status> {
    return this.views.status(project)
  }

  /** A task with its history, each list capped at `limit` entries; a submitted task says why it is held. */
  getTask (taskId: string, limit: number): Promise<TaskDetail | null> {
    return this.views.getTask(taskId, limit)
  }

  /** A page of tasks; submitted ones say why they are held. */
  listTasks (query: TaskListQuery): Promise<TaskPage> {
    return this.views.listTasks(query)
  }

  /** Every project with its task counts, oldest first. */
  listProjects (): Promise<ProjectSummary[]> {
    return this.views.listProjects()
  }

  /** Run post-commit work; a failure is logged, never answered. */
  private async afterCommit (what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn()
    } catch (err) {
      this.log.error({ err }, `${what} failed after a committed change`)
    }
  }

  /**
   * Record that `worker` made a request: in memory, unless the store must hear it now (first
   * request: worker.registered; back after being declared offline: worker.online).
   */
  private async touch (worker: string): Promise<void> {
    const now = this.now()
    if (this.presence.touch(worker, now)) {
      await this.store.transact((tx) => ops.seeWorker(tx, worker, now))
      this.presence.stored(worker, now)
    }
    this.timers.watchOffline()
  }

  /** After every committed change with events: wake event readers and offer work to parked polls the change may concern. */
  private changed (change: StoreChange): void {
    this.readers.wakeAll()
    const types = [...change.types]
    if (types.some((t) => WAKING.has(t)) || (this.claimNotes.heldByFiles === true && types.some((t) => RELEASING.has(t)))) {
      this.polls.wake(change.projects)
    }
  }
}

function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}
