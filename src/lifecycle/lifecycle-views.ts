/**
 * The lifecycle's read-only views: escalations, workers, status, tasks, projects and metrics. Nothing
 * here writes to the store; each view reads it and adds what only the lifecycle knows in memory (worker
 * presence, parked polls, what each worker last polled for), taken explicitly through `ViewDeps`.
 *
 * Times: every `*Ms` and `now` is epoch / milliseconds; API timestamps are ISO strings.
 */
import { CoordError } from '../errors.js'
import type { Task, TaskDetail, TaskPage } from '../schemas/tasks.js'
import type { ProjectSummary, Status, Worker } from '../schemas/workers.js'
import type { Escalation } from '../schemas/workflow.js'
import type { ProjectMetrics } from '../schemas/metrics.js'
import type { ClaimFilter, Store, TaskListQuery } from '../store/store.js'
import { computeMetrics } from './metrics.js'
import { readEscalations, withHolds, type Poller } from './workflow-views.js'
import { presenceState, type PresenceTable } from './presence.js'

/** What the views take from the lifecycle. */
export interface ViewDeps {
  store: Store
  /** Clock in epoch ms. */
  now: () => number
  /** The lifecycle's presence table (read only here): last-seen times not yet written to the store. */
  presence: PresenceTable
  /** Whether `worker` has a parked poll: such a worker is `waiting` and counts as present. */
  waiting: (worker: string) => boolean
  /** What each worker last polled for (the lifecycle's live map), for the `unclaimable` escalation. */
  pollFilters: ReadonlyMap<string, ClaimFilter>
  /** A worker with no request for this long (ms) is `offline`. */
  offlineMs: number
  /** A ready task no connected worker polls for is escalated after this long (ms). */
  unclaimableMs: number
}

/** A page of workers: `nextAfter` is the cursor for the next page, null after the last. */
export interface WorkerPage {
  workers: Worker[]
  nextAfter: number | null
}

/** The read-only views the lifecycle's read methods delegate to; see the module comment. */
export class LifecycleViews {
  constructor (private readonly deps: ViewDeps) {}

  /** What needs a human, oldest first (see `workflow-views.escalations`); `project` undefined means all. */
  async escalations (project?: string): Promise<Escalation[]> {
    const { store, presence, pollFilters, offlineMs, unclaimableMs } = this.deps
    const now = this.deps.now()
    const pollers: Poller[] = []
    for (const [worker, filter] of pollFilters) {
      const seen = presence.lastSeen(worker)
      const present = this.deps.waiting(worker) || (seen !== undefined && now - seen < offlineMs)
      // A worker silent on a live lease is working (see `presenceState`): it polls again when done.
      if (present || ((await store.liveLeaseView(worker))?.lease.expiresAt ?? 0) > now) pollers.push({ worker, filter })
    }
    return readEscalations(store, project, { now, pollers, unclaimableMs })
  }

  /** The metrics of `project`. @throws CoordError PROJECT_NOT_FOUND */
  async metrics (project: string): Promise<ProjectMetrics> {
    const h = await this.deps.store.metricsHistory(project, this.deps.now())
    if (h === null) throw new CoordError('PROJECT_NOT_FOUND', `No project is named ${project}. List projects with GET /projects.`, { project })
    // Last-seen times not flushed yet are in memory: a worker waiting now is waiting until now.
    const workers = h.workers?.map((w) => ({ ...w, lastSeenAt: this.seenAt(w.id, w.lastSeenAt) }))
    return computeMetrics(workers === undefined ? h : { ...h, workers })
  }

  /** When `worker` was last seen (epoch ms): now while it waits in a long poll, else the later of memory and `stored`. */
  private seenAt (worker: string, stored: number): number {
    if (this.deps.waiting(worker)) return this.deps.now()
    return Math.max(stored, this.deps.presence.lastSeen(worker) ?? 0)
  }

  /** Tasks with `hold` set on the submitted ones: why each is not offered now. */
  withHolds<T extends Task> (tasks: T[]): Promise<T[]> {
    return withHolds(this.deps.store, tasks, this.deps.now())
  }

  /** One page of workers (`after` is the cursor, `limit` the page size), with each worker's state derived now. */
  async listWorkers (page: { after?: number | undefined, limit: number }): Promise<WorkerPage> {
    const { store, presence, offlineMs } = this.deps
    const now = this.deps.now()
    const stored = await store.listWorkers(page)
    const workers = stored.workers.map((w) => {
      const waiting = this.deps.waiting(w.id)
      const lastSeen = Math.max(w.lastSeenAt, presence.lastSeen(w.id) ?? 0)
      const state = presenceState({ now, lastSeenAt: lastSeen, offlineMs, waiting, leaseExpiresAt: w.leaseExpiresAt })
      return {
        id: w.id,
        state,
        currentTask: w.currentTask,
        waiting: state === 'waiting',
        firstSeenAt: new Date(w.firstSeenAt).toISOString(),
        lastSeenAt: new Date(lastSeen).toISOString(),
        leaseExpiresAt: w.leaseExpiresAt === null ? null : new Date(w.leaseExpiresAt).toISOString(),
        leaseSecondsLeft: w.leaseExpiresAt === null ? null : Math.max(0, Math.ceil((w.leaseExpiresAt - now) / 1000)),
        lostTask: presence.lostTask(w.id)?.taskId ?? null,
        tasksCompleted: w.tasksCompleted,
        tasksFailed: w.tasksFailed,
      }
    })
    return { workers, nextAfter: stored.nextAfter }
  }

  /** Counts for one project, or for all when `project` is undefined; `held` lists at most 100 held tasks (looked for among the 500 oldest that can be held). */
  async status (project?: string): Promise<Status> {
    const projects = await this.deps.store.listProjects(project)
    const counts = { submitted: 0, working: 0, 'input-required': 0, 'review-required': 0, completed: 0, failed: 0, canceled: 0 }
    for (const p of projects) for (const k of Object.keys(counts) as Array<keyof typeof counts>) counts[k] += p.counts[k]
    const { workers } = await this.listWorkers({ limit: Number.MAX_SAFE_INTEGER })
    const tally = (s: Worker['state']): number => workers.filter((w) => w.state === s).length
    const held = (await this.withHolds(await this.deps.store.listMaybeHeld(project, 500)))
      .flatMap((t) => (t.hold == null ? [] : [{ taskId: t.id, project: t.project, kind: t.hold.kind, message: t.hold.message }])).slice(0, 100)
    return {
      project: project ?? null,
      counts,
      total: projects.reduce((n, p) => n + p.total, 0),
      queued: counts.submitted,
      activeLeases: counts.working,
      workers: { idle: tally('idle'), working: tally('working'), offline: tally('offline'), waiting: tally('waiting') },
      held,
      closed: projects.length > 0 && projects.every((p) => p.closed),
      done: projects.length > 0 && projects.every((p) => p.done),
      projects,
    }
  }

  /** A task with its history, each list capped at `limit` entries, or null when there is no such task; a submitted task says why it is held. */
  async getTask (taskId: string, limit: number): Promise<TaskDetail | null> {
    const d = await this.deps.store.getHistory(taskId, { limit })
    if (d === null) return null
    const [task] = await this.withHolds([d.task])
    return { ...d, task: task as Task }
  }

  /** A page of tasks; submitted ones say why they are held. */
  async listTasks (query: TaskListQuery): Promise<TaskPage> {
    const page = await this.deps.store.listTasks(query)
    return { ...page, tasks: await this.withHolds(page.tasks) }
  }

  /** Every project's summary (counts, closed, done). */
  listProjects (): Promise<ProjectSummary[]> {
    return this.deps.store.listProjects()
  }
}
