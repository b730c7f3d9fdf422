/**
 * The read side of the SQLite store: lookups and listings that change nothing. `SqliteStore` extends
 * it with transactions. Methods are synchronous underneath (better-sqlite3) and resolve immediately;
 * storage failures become STORAGE_UNAVAILABLE.
 */
import type Database from 'better-sqlite3'
import { TASK_STATES } from '../schemas/common.js'
import type { Event } from '../schemas/events.js'
import type { Task, TaskDetail, TaskPage } from '../schemas/tasks.js'
import type { ProjectSummary } from '../schemas/workers.js'
import type { HistoryPage, LeaseFacts, StorageGuard, StoreHealth, TaskListQuery, WorkerRow, WorkingWrites } from './store.js'
import type { MetricsHistory } from '../lifecycle/metrics.js'
import type { TaskState } from '../schemas/common.js'
import {
  iso, notesOf, sqlInt, TASK_SELECT, toEvent, toLeaseRecord, toReportRecord, toTask, type EventRow, type LeaseRow, type ReportRow, type TaskRow,
} from './sqlite-rows.js'
import { statementCache, type Statements } from './sqlite-statements.js'
import { toLeaseFacts, toWorkerRow, workingWrites, type WorkerDbRow } from './sqlite-tx.js'
import { asStorageError } from './storage-errors.js'
import { readOpenQuestions, readQuestion } from './sqlite-questions.js'
import type { Question } from '../schemas/workflow.js'

const sqlIntLease = sqlInt('lease_ms')

/**
 * The tasks of one state, oldest change first, of one project or all: `project IN (...)` lets the lookup
 * walk the (project, state) index per project instead of scanning every task.
 */
export const ATTENTION_SQL = `${TASK_SELECT} WHERE t.project IN (SELECT name FROM projects WHERE @project IS NULL OR name = @project)
  AND t.state = @state ORDER BY t.updated_at, t.seq LIMIT @limit`

/** `listTasks`' statement for the filters `q` gives, built once per shape. */
const listSqls = new Map<string, string>()
/**
 * Only the filters given appear in the WHERE clause (no `@x IS NULL OR ...`), so SQLite can use an index:
 * with a project and a state it walks `tasks_project_state`, whose entries for one (project, state) are
 * already in posting order (the index ends with the rowid, which is `seq`).
 */
export function listSql (q: Pick<TaskListQuery, 'project' | 'state' | 'type' | 'worker'>): string {
  const key = `${String(q.project !== undefined)}${String(q.state !== undefined)}${String(q.type !== undefined)}${String(q.worker !== undefined)}`
  let sql = listSqls.get(key)
  if (sql === undefined) {
    const where = [
      't.seq > @after',
      ...(q.project === undefined ? [] : ['t.project = @project']),
      ...(q.state === undefined ? [] : ['t.state = @state']),
      ...(q.type === undefined ? [] : ['t.type = @type']),
      ...(q.worker === undefined ? [] : ['EXISTS (SELECT 1 FROM leases x WHERE x.id = t.lease_id AND x.worker = @worker)']),
    ]
    listSqls.set(key, sql = `${TASK_SELECT} WHERE ${where.join(' AND ')} ORDER BY t.seq LIMIT @limit`)
  }
  return sql
}

/** The condition of the partial index `tasks_maybe_held` (migration 005), spelled the same so SQLite can use it. */
const MAYBE_HELD = "t.state = 'submitted' AND (t.depends_on <> '[]' OR t.available_at > 0 OR t.has_writes = 1)"
const MAYBE_HELD_FROM = TASK_SELECT.replace('FROM tasks t ', 'FROM tasks t INDEXED BY tasks_maybe_held ')
/** `listMaybeHeld` for one project: the index gives posting order. */
export const MAYBE_HELD_SQL = `${MAYBE_HELD_FROM} WHERE t.project = @project AND ${MAYBE_HELD} ORDER BY t.seq LIMIT @limit`

export class SqliteReads {
  /** Prepared statements by SQL text. */
  protected readonly sql: Statements
  /** Settles when the last transaction queued so far has ended (see `SqliteStore.transact`). */
  protected tail: Promise<void> = Promise.resolve()

  /** @param guard checks the file before each write and in `health()`; none for `:memory:` */
  constructor (protected readonly db: Database.Database, protected readonly guard?: StorageGuard) {
    this.sql = statementCache(db)
  }

  /** Run a read once no transaction is open; storage failures become STORAGE_UNAVAILABLE. */
  private async read<T> (fn: () => T): Promise<T> {
    while (this.db.inTransaction) await this.tail
    try {
      return fn()
    } catch (err) {
      throw asStorageError(err)
    }
  }

  private taskRow (id: string): TaskRow | undefined {
    return this.sql(`${TASK_SELECT} WHERE t.id = ?`).get(id) as TaskRow | undefined
  }

  async liveLeaseView (worker: string): Promise<{ task: Task, lease: LeaseFacts } | null> {
    return this.read(() => {
      const l = this.sql('SELECT * FROM leases WHERE worker = ? AND ended_at IS NULL').get(worker) as LeaseRow | undefined
      if (l === undefined) return null
      const row = this.taskRow(l.task_id)
      return row === undefined ? null : { task: toTask(row), lease: toLeaseFacts(l) }
    })
  }

  async nextLeaseDeadline (): Promise<number | null> {
    return this.read(() => (this.sql('SELECT min(expires_at) AS d FROM leases WHERE ended_at IS NULL').get() as { d: number | null }).d)
  }

  async nextAvailableAt (now: number): Promise<number | null> {
    // INDEXED BY: without statistics SQLite would walk every submitted task instead of the few with a backoff.
    return this.read(() => (this.sql(`SELECT min(available_at) AS d FROM tasks INDEXED BY tasks_available
      WHERE state = 'submitted' AND available_at > 0 AND available_at > ?`).get(now) as { d: number | null }).d)
  }

  async attentionTasks (project: string | undefined, limit: number): Promise<{ blocked: Task[], failed: Task[], submitted: Task[] }> {
    return this.read(() => {
      const of = (state: TaskState): Task[] => (this.sql(ATTENTION_SQL).all({ state, project: project ?? null, limit }) as TaskRow[]).map(toTask)
      return { blocked: of('input-required'), failed: of('failed'), submitted: of('submitted') }
    })
  }

  async workingWrites (project: string): Promise<WorkingWrites[]> {
    return this.read(() => workingWrites(this.sql, project))
  }

  async taskStates (ids: readonly string[]): Promise<Map<string, TaskState>> {
    return this.read(() => {
      const rows = this.sql('SELECT id, state FROM tasks WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(ids)) as
        Array<{ id: string, state: TaskState }>
      return new Map(rows.map((r) => [r.id, r.state]))
    })
  }

  /**
   * First and last request of each worker that held one of `leases` (of `project`), and the end of its
   * latest lease in another project before its first lease here: where its waiting for this project began.
   * One pass over the other projects' ended leases of these workers. Times in ms.
   */
  private leaseHolders (project: string, leases: LeaseRow[]): NonNullable<MetricsHistory['workers']> {
    const firstGrant = new Map<string, number>()
    for (const l of leases) firstGrant.set(l.worker, Math.min(firstGrant.get(l.worker) ?? Infinity, l.granted_at))
    if (firstGrant.size === 0) return []
    const ids = JSON.stringify([...firstGrant.keys()])
    const rows = this.sql('SELECT id, first_seen_at, last_seen_at FROM workers WHERE id IN (SELECT value FROM json_each(?))').all(ids) as
      Array<{ id: string, first_seen_at: number, last_seen_at: number }>
    const elsewhere = this.sql(`SELECT l.worker, l.ended_at FROM leases l JOIN tasks t ON t.id = l.task_id
      WHERE l.worker IN (SELECT value FROM json_each(?)) AND t.project <> ? AND l.ended_at IS NOT NULL`).all(ids, project) as
      Array<{ worker: string, ended_at: number }>
    const busyUntil = new Map<string, number>()
    for (const e of elsewhere) {
      if (e.ended_at <= (firstGrant.get(e.worker) ?? 0)) busyUntil.set(e.worker, Math.max(busyUntil.get(e.worker) ?? 0, e.ended_at))
    }
    return rows.map((w) => ({ id: w.id, firstSeenAt: w.first_seen_at, lastSeenAt: w.last_seen_at, busyElsewhereUntil: busyUntil.get(w.id) ?? null }))
  }

  async metricsHistory (project: string, now: number): Promise<MetricsHistory | null> {
    return this.read(() => {
      if (this.sql('SELECT 1 FROM projects WHERE name = ?').get(project) === undefined) return null
      const tasks = this.sql(`SELECT t.id, t.type, t.state, t.created_at, t.finished_at, ${sqlIntLease}, t.notes FROM tasks t WHERE t.project = ?`)
        .all(project) as Array<{ id: string, type: string, state: TaskState, created_at: number, finished_at: number | null, lease_ms: number, notes: string }>
      const leases = this.sql('SELECT l.* FROM leases l JOIN tasks t ON t.id = l.task_id WHERE t.project = ?').all(project) as LeaseRow[]
      const reports = this.sql(`SELECT r.task_id, r.worker, r.status, r.accepted, r.rejection, r.context_score, r.created_at
        FROM reports r JOIN tasks t ON t.id = r.task_id WHERE t.project = ?`).all(project) as
        Array<{ task_id: string, worker: string, status: string, accepted: number, rejection: string | null, context_score: number | null, created_at: number }>
      const finishedAt = (this.sql('SELECT finished_at FROM projects WHERE name = ?').get(project) as { finished_at: number | null }).finished_at
      const notes: MetricsHistory['notes'] = []
      for (const t of tasks) {
        for (const n of notesOf(t.notes)) {
          notes.push({ taskId: t.id, kind: n.kind, decision: n.decision ?? null, by: n.by, at: Date.parse(n.at) })
        }
      }
      return {
        project,
        now,
        tasks: tasks.map((t) => ({ id: t.id, type: t.type, state: t.state, createdAt: t.created_at, finishedAt: t.finished_at, leaseMs: t.lease_ms })),
        leases: leases.map((l) => ({
          taskId: l.task_id,
          worker: l.worker,
          attempt: l.attempt,
          grantedAt: l.granted_at,
          expiresAt: l.expires_at,
          endedAt: l.ended_at,
          endReason: l.end_reason === 'escalated' ? 'blocked' : l.end_reason,
        })),
        reports: reports.map((r) => ({
          taskId: r.task_id,
          worker: r.worker,
          status: r.status,
          accepted: r.accepted === 1,
          rejection: r.rejection,
          contextScore: r.context_score,
          at: r.created_at,
        })),
        notes,
        finishedAt,
        workers: this.leaseHolders(project, leases),
      }
    })
  }

  async onlineWorkers (): Promise<Array<{ id: string, lastSeenAt: number }>> {
    return this.read(() => (this.sql('SELECT id, last_seen_at FROM workers WHERE offline_at IS NULL').all() as Array<{ id: string, last_seen_at: number }>)
      .map((r) => ({ id: r.id, lastSeenAt: r.last_seen_at })))
  }

  async isFinished (project: string | undefined): Promise<boolean> {
    return this.read(() => {
      if (project !== undefined) {
        const p = this.sql('SELECT finished_at FROM projects WHERE name = ?').get(project) as { finished_at: number | null } | undefined
        return p !== undefined && p.finished_at !== null
      }
      const c = this.sql('SELECT count(*) AS n, count(finished_at) AS f FROM projects').get() as { n: number, f: number }
      return c.n > 0 && c.n === c.f
    })
  }

  async getTask (taskId: string): Promise<Task | null> {
    return this.read(() => {
      const row = this.taskRow(taskId)
      return row === undefined ? null : toTask(row)
    })
  }

  async getHistory (taskId: string, page: HistoryPage): Promise<TaskDetail | null> {
    return this.read(() => {
      const row = this.taskRow(taskId)
      if (row === undefined) return null
      const n = page.limit
      return {
        task: toTask(row),
        leases: (this.sql('SELECT * FROM leases WHERE task_id = ? ORDER BY granted_at, rowid LIMIT ?').all(taskId, n) as LeaseRow[]).map(toLeaseRecord),
        reports: (this.sql('SELECT * FROM reports WHERE task_id = ? ORDER BY id LIMIT ?').all(taskId, n) as ReportRow[]).map(toReportRecord),
        events: (this.sql('SELECT * FROM events WHERE task_id = ? ORDER BY seq LIMIT ?').all(taskId, n) as EventRow[]).map(toEvent),
      }
    })
  }

  async listTasks (q: TaskListQuery): Promise<TaskPage> {
    return this.read(() => {
      const params: Record<string, unknown> = { after: q.after ?? 0, limit: q.limit + 1 }
      for (const k of ['project', 'state', 'type', 'worker'] as const) if (q[k] !== undefined) params[k] = q[k]
      const rows = this.sql(listSql(q)).all(params) as TaskRow[]
      const more = rows.length > q.limit
      const page = rows.slice(0, q.limit)
      return { tasks: page.map(toTask), nextAfter: more ? (page[page.length - 1] as TaskRow).seq : null }
    })
  }

  async listMaybeHeld (project: string | undefined, limit: number): Promise<Task[]> {
    return this.read(() => {
      // Across projects: the oldest `limit` of each project (an index walk each), merged. One statement
      // over every project would sort all their candidates, and in a project whose tasks all declare
      // writes that is its whole queue.
      const names = project === undefined ? this.sql('SELECT name FROM projects').pluck().all() as string[] : [project]
      const rows = names.flatMap((p) => this.sql(MAYBE_HELD_SQL).all({ project: p, limit }) as TaskRow[])
      if (names.length > 1) rows.sort((a, b) => a.seq - b.seq)
      return rows.slice(0, limit).map(toTask)
    })
  }

  async listWorkers (page: { after?: number | undefined, limit: number }): Promise<{ workers: WorkerRow[], nextAfter: number | null }> {
    return this.read(() => {
      // A worker holds at most one unended lease (a unique index), so the join adds no rows.
      const rows = this.sql(`SELECT w.rowid AS cursor, w.*, l.task_id AS current_task, l.expires_at AS lease_expires_at
        FROM workers w LEFT JOIN leases l ON l.worker = w.id AND l.ended_at IS NULL WHERE w.rowid > ? ORDER BY w.rowid LIMIT ?`)
        .all(page.after ?? 0, page.limit + 1) as Array<WorkerDbRow & { cursor: number }>
      const more = rows.length > page.limit
      const kept = rows.slice(0, page.limit)
      return { workers: kept.map(toWorkerRow), nextAfter: more ? (kept[kept.length - 1] as { cursor: number }).cursor : null }
    })
  }

  async listProjects (project?: string): Promise<ProjectSummary[]> {
    return this.read(() => {
      const projects = this.sql('SELECT * FROM projects WHERE (@p IS NULL OR name = @p) ORDER BY created_at, name').all({ p: project ?? null }) as
        Array<{ name: string, created_at: number, closed_at: number | null, finished_at: number | null }>
      const counts = this.sql('SELECT state, count(*) AS n FROM tasks WHERE project = ? GROUP BY state')
      return projects.map((p) => {
        const c = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as ProjectSummary['counts']
        for (const r of counts.all(p.name) as Array<{ state: keyof ProjectSummary['counts'], n: number }>) if (r.state in c) c[r.state] = r.n
        return {
          name: p.name,
          closed: p.closed_at !== null,
          done: p.finished_at !== null,
          counts: c,
          total: Object.values(c).reduce((a, b) => a + b, 0),
          createdAt: iso(p.created_at),
          closedAt: p.closed_at === null ? null : iso(p.closed_at),
          finishedAt: p.finished_at === null ? null : iso(p.finished_at),
        }
      })
    })
  }

  async openQuestions (project: string | undefined, limit: number): Promise<Question[]> {
    return this.read(() => readOpenQuestions(this.sql, project, limit))
  }

  async getQuestion (id: string): Promise<Question | null> {
    return this.read(() => readQuestion(this.sql, id))
  }

  async events (after: number, project: string | undefined, limit: number): Promise<Event[]> {
    return this.read(() => {
      const rows = project === undefined
        ? this.sql('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?').all(after, limit)
        : this.sql('SELECT * FROM events WHERE seq > @after AND (project = @p OR project IS NULL) ORDER BY seq LIMIT @limit').all({ after, p: project, limit })
      return (rows as EventRow[]).map(toEvent)
    })
  }

  async health (): Promise<StoreHealth> {
    try {
      this.guard?.check()
      await this.read(() => this.sql('SELECT 1').get())
      return { ok: true, message: 'ok' }
    } catch (err) {
      return { ok: false, message: (err as Error).message }
    }
  }

  async close (): Promise<void> {
    this.db.close()
    this.guard?.close()
  }
}
