/**
 * The task lifecycle: the one owner of every task state change the API can cause. Routes translate HTTP to
 * these calls and back; the store does the atomic writes; this module adds what spans requests — parked
 * long polls, waking them when work appears, and the timers that expire leases and notice silent workers.
 *
 * Times: every `*Ms` is milliseconds; API timestamps are ISO strings.
 */
import type { FastifyBaseLogger } from 'fastify'
import { CoordError } from '../errors.js'
import type { Event, EventPage } from '../schemas/events.js'
import type { Assignment, CreateTasksBody, CreateTasksResult, Lease, NextOutcome, ReportBody, ReportResult, Task, TaskPage } from '../schemas/tasks.js'
import type { ProjectSummary, Status, Worker } from '../schemas/workers.js'
import type { ClaimFilter, Store, StoreHealth, TaskHistory, TaskListQuery } from '../store/store.js'
import { DeadlineTimer } from './deadline-timer.js'
import { workerState } from './rules.js'
import { DEFAULT_PROJECT, toSpec } from './task-spec.js'
import { WaitQueue } from './wait-queue.js'

/** Lifecycle settings, all in milliseconds except `defaultMaxAttempts`. */
export interface LifecycleConfig {
  defaultLeaseMs: number
  defaultMaxAttempts: number
  /** A worker with no request for this long is `offline` (and `worker.offline` is emitted). */
  offlineMs: number
}

/** Where a long-polling worker will take work from. */
type NextMeta = ClaimFilter

const FINISHED_MESSAGE = 'All tasks done: the project is closed and every task is finished. You may stop.'
const EMPTY_MESSAGE = 'No task became available while waiting. Poll again.'

/** Minimum time between two stored `lastSeenAt` updates of one worker, in ms. */
const TOUCH_INTERVAL_MS = 1000

const assigned = (a: Assignment): NextOutcome => ({ status: 'assigned', assignment: a })
const empty = (): NextOutcome => ({ status: 'empty', message: EMPTY_MESSAGE })

export class TaskLifecycle {
  private readonly workers = new WaitQueue<string, NextMeta, NextOutcome>()
  private readonly readers = new WaitQueue<null, null, void>()
  private readonly leaseTimer: DeadlineTimer
  private readonly offlineTimer: DeadlineTimer
  /** When each worker's last request was written to the store (epoch ms). */
  private readonly lastTouch = new Map<string, number>()
  private dispatching = false
  /** Set by `stop()`: long polls answer at once instead of parking again. */
  private stopped = false
  private dispatchAgain = false

  /** @param now clock in epoch ms, replaceable in tests */
  constructor (
    private readonly store: Store,
    private readonly config: LifecycleConfig,
    private readonly log: FastifyBaseLogger,
    private readonly now: () => number = Date.now,
  ) {
    const onError = (err: unknown): void => this.log.error({ err }, 'lifecycle timer failed')
    this.leaseTimer = new DeadlineTimer(() => this.expireLeases(), onError)
    this.offlineTimer = new DeadlineTimer(() => this.detectOffline(), onError)
  }

  /** Expire leases that lapsed while the server was down, then arm the timers. */
  async start (): Promise<void> {
    await this.expireLeases()
    await this.armOfflineTimer()
  }

  /** Stop the timers and answer every parked long poll (204 / empty events), e.g. at shutdown. */
  async stop (): Promise<void> {
    this.stopped = true
    this.leaseTimer.stop()
    this.offlineTimer.stop()
    this.workers.settleAll(() => empty())
    this.readers.settleAll(() => undefined)
  }

  /** `POST /tasks`: create a batch atomically; see `Store.createTasks` for errors. */
  async createTasks (body: CreateTasksBody): Promise<CreateTasksResult> {
    const project = body.project ?? DEFAULT_PROJECT
    const ids = body.tasks.map((t) => t.id).filter((id): id is string => id !== undefined)
    const dup = ids.find((id, i) => ids.indexOf(id) !== i)
    if (dup !== undefined) throw new CoordError('DUPLICATE_TASK_ID', `Task id ${dup} appears more than once in this batch; give each task its own id.`, { taskId: dup })
    const specs = body.tasks.map((t) => toSpec(t, project, { leaseMs: this.config.defaultLeaseMs, maxAttempts: this.config.defaultMaxAttempts }))
    const out = await this.store.createTasks(project, body.tasks, specs, body.close === true, this.now())
    await this.changed()
    return { project, ...out }
  }

  /**
   * `GET /tasks/next`: the worker's current lease if it holds one, else the best queued task, else
   * park for up to `waitMs` until one is posted or freed. Parking a second poll for the same worker
   * answers the first one `empty`, so one worker never holds two fresh leases by accident.
   * @param signal aborts when the client disconnects; nothing is then claimed for it
   */
  async next (worker: string, filter: ClaimFilter, waitMs: number, signal?: AbortSignal): Promise<NextOutcome> {
    await this.touch(worker)
    const current = await this.store.currentAssignment(worker, this.now())
    if (current !== null) return assigned(current)
    const claimed = await this.store.claim(worker, filter, this.now())
    if (claimed !== null) {
      await this.changed()
      return assigned(claimed)
    }
    if (await this.store.isFinished(filter.project)) return { status: 'finished', message: FINISHED_MESSAGE }
    const gone = (): boolean => signal?.aborted === true
    if (waitMs <= 0 || gone() || this.stopped) return empty()
    for (const p of this.workers.entries()) if (p.key === worker) this.workers.take(p, empty())
    const outcome = await this.workers.wait(worker, filter, waitMs, signal, empty)
    if (!gone()) await this.touch(worker)
    return outcome
  }

  /** `POST /tasks/{id}/heartbeat`: extend the lease. @throws CoordError as `Store.heartbeat` */
  async heartbeat (taskId: string, worker: string, leaseId: string): Promise<Lease> {
    const lease = await this.store.heartbeat(taskId, worker, leaseId, this.now())
    await this.touch(worker)
    await this.changed()
    return lease
  }

  /**
   * `POST /tasks/{id}/report`, optionally followed by the worker's next long poll (`next`).
   * A refused report is kept in the task history and the CoordError (409) is rethrown.
   */
  async report (taskId: string, body: ReportBody, next?: { filter: ClaimFilter, waitMs: number, signal?: AbortSignal }): Promise<ReportResult> {
    let outcome
    try {
      outcome = await this.store.report(taskId, body, this.now())
    } finally {
      await this.changed()
    }
    await this.touch(body.worker)
    const result: ReportResult = { accepted: true, duplicate: outcome.duplicate, task: outcome.task }
    if (next !== undefined) result.next = await this.next(body.worker, next.filter, next.waitMs, next.signal)
    return result
  }

  /** `POST /tasks/{id}/cancel`. @throws CoordError TASK_NOT_FOUND, TASK_FINISHED */
  async cancel (taskId: string, reason?: string): Promise<Task> {
    const task = await this.store.cancel(taskId, reason, this.now())
    await this.changed()
    return task
  }

  /** `POST /projects/{project}/close`: no more tasks are coming for the project. */
  async closeProject (project: string): Promise<ProjectSummary> {
    const summary = await this.store.closeProject(project, this.now())
    await this.changed()
    return summary
  }

  /**
   * `GET /events`: events after `after`; when there are none, wait up to `waitMs` for the next one.
   * `project` keeps that project's events plus worker events (which belong to no project).
   */
  async events (after: number, project: string | undefined, limit: number, waitMs: number, signal?: AbortSignal): Promise<EventPage> {
    const deadline = this.now() + waitMs
    let events: Event[] = await this.store.events(after, project, limit)
    while (events.length === 0 && signal?.aborted !== true && !this.stopped && this.now() < deadline) {
      await this.readers.wait(null, null, deadline - this.now(), signal, () => undefined)
      events = await this.store.events(after, project, limit)
    }
    return { events, nextAfter: events.length > 0 ? (events[events.length - 1] as Event).seq : after }
  }

  /** `GET /workers`, with each worker's state derived now. */
  async listWorkers (): Promise<Worker[]> {
    const waiting = this.workers.keys()
    const now = this.now()
    return (await this.store.listWorkers()).map((w) => ({
      id: w.id,
      state: workerState(w.lastSeenAt, now, this.config.offlineMs, w.currentTask !== null, waiting.has(w.id)),
      currentTask: w.currentTask,
      waiting: waiting.has(w.id),
      firstSeenAt: new Date(w.firstSeenAt).toISOString(),
      lastSeenAt: new Date(w.lastSeenAt).toISOString(),
      tasksCompleted: w.tasksCompleted,
      tasksFailed: w.tasksFailed,
    }))
  }

  /** `GET /status`: counts for one project, or for all when `project` is undefined. */
  async status (project?: string): Promise<Status> {
    const projects = await this.store.listProjects(project)
    const counts = { submitted: 0, working: 0, 'input-required': 0, completed: 0, failed: 0, canceled: 0 }
    for (const p of projects) for (const k of Object.keys(counts) as Array<keyof typeof counts>) counts[k] += p.counts[k]
    const workers = await this.listWorkers()
    const tally = (s: Worker['state']): number => workers.filter((w) => w.state === s).length
    return {
      project: project ?? null,
      counts,
      total: projects.reduce((n, p) => n + p.total, 0),
      queued: counts.submitted,
      activeLeases: counts.working,
      workers: { idle: tally('idle'), working: tally('working'), offline: tally('offline'), waiting: workers.filter((w) => w.waiting).length },
      closed: projects.length > 0 && projects.every((p) => p.closed),
      done: projects.length > 0 && projects.every((p) => p.done),
      projects,
    }
  }

  /** `GET /health`: whether the store can take writes now. */
  health (): Promise<StoreHealth> { return this.store.health() }

  getTask (taskId: string): Promise<TaskHistory | null> {
    return this.store.getHistory(taskId)
  }

  listTasks (query: TaskListQuery): Promise<TaskPage> {
    return this.store.listTasks(query)
  }

  listProjects (): Promise<ProjectSummary[]> {
    return this.store.listProjects()
  }

  /**
   * Record that `worker` made a request. Writes at most once a second per worker (each write is a
   * synced transaction); the offline threshold is whole seconds, so nothing observable is lost.
   */
  private async touch (worker: string): Promise<void> {
    const now = this.now()
    if (now - (this.lastTouch.get(worker) ?? -Infinity) < TOUCH_INTERVAL_MS) return
    this.lastTouch.set(worker, now)
    await this.store.touchWorker(worker, now)
    if (!this.offlineTimer.armed) await this.armOfflineTimer()
  }

  /** After any state change: wake event readers, hand queued work to parked workers, re-arm timers. */
  private async changed (): Promise<void> {
    this.readers.settleAll(() => undefined)
    await this.dispatch()
    this.leaseTimer.arm(await this.store.nextLeaseDeadline(), this.now())
  }

  /** Offer queued tasks to parked workers, longest-waiting first; answer `finished` where it applies. */
  private async dispatch (): Promise<void> {
    if (this.dispatching) {
      this.dispatchAgain = true
      return
    }
    this.dispatching = true
    try {
      do {
        this.dispatchAgain = false
        for (const parked of this.workers.entries()) {
          const a = await this.store.claim(parked.key, parked.meta, this.now())
          if (a !== null) {
            // The client may have gone while the claim ran: give the task back, uncounted.
            if (!this.workers.take(parked, assigned(a))) {
              await this.store.release(a.lease.leaseId, this.now())
              this.dispatchAgain = true // workers already passed over may take it now
            }
            this.readers.settleAll(() => undefined)
          } else if (await this.store.isFinished(parked.meta.project)) {
            this.workers.take(parked, { status: 'finished', message: FINISHED_MESSAGE })
          }
        }
      } while (this.dispatchAgain)
    } finally {
      this.dispatching = false
    }
  }

  private async expireLeases (): Promise<void> {
    const lapsed = await this.store.expireLeases(this.now())
    if (lapsed > 0) this.log.info({ lapsed }, 'leases expired; tasks requeued or dead-lettered')
    await this.changed()
  }

  private async armOfflineTimer (): Promise<void> {
    const oldest = await this.store.oldestOnlineLastSeen(this.workers.keys())
    this.offlineTimer.arm(oldest === null ? null : oldest + this.config.offlineMs, this.now())
  }

  private async detectOffline (): Promise<void> {
    const n = await this.store.markOffline(this.now() - this.config.offlineMs + 1, this.workers.keys(), this.now())
    if (n > 0) {
      // The next request of a worker declared offline must reach the store (worker.online).
      this.lastTouch.clear()
      this.readers.settleAll(() => undefined)
    }
    await this.armOfflineTimer()
  }
}
