/**
 * The read side of the SQLite store: lookups and listings that change nothing. `SqliteStore` extends
 * it with the writes. Methods are synchronous underneath (better-sqlite3) and resolve immediately.
 */
import type Database from 'better-sqlite3'
import { CoordError } from '../errors.js'
import { TASK_STATES } from '../schemas/common.js'
import type { Event } from '../schemas/events.js'
import type { Task, TaskPage } from '../schemas/tasks.js'
import type { ProjectSummary } from '../schemas/workers.js'
import type { StorageGuard, StoreHealth, TaskHistory, TaskListQuery, WorkerRow } from './store.js'
import { iso, TASK_SELECT, toEvent, toLeaseRecord, toReportRecord, toTask, type EventRow, type LeaseRow, type ReportRow, type TaskRow } from './sqlite-rows.js'

export class SqliteReads {
  /** Prepared statements by SQL text: better-sqlite3 compiles on every `prepare`, so reuse them. */
  private readonly statements = new Map<string, Database.Statement>()

  /** @param guard checks the file before each write and in `health()`; none for `:memory:` */
  constructor (protected readonly db: Database.Database, protected readonly guard?: StorageGuard) {}

  /** The prepared statement for `source`, compiled once per store. */
  protected sql (source: string): Database.Statement {
    let stmt = this.statements.get(source)
    if (stmt === undefined) {
      stmt = this.db.prepare(source)
      this.statements.set(source, stmt)
    }
    return stmt
  }

  protected taskRow (id: string): TaskRow | undefined {
    return this.sql(`${TASK_SELECT} WHERE t.id = ?`).get(id) as TaskRow | undefined
  }

  protected requireTask (id: string): TaskRow {
    const row = this.taskRow(id)
    if (row === undefined) throw new CoordError('TASK_NOT_FOUND', `No task has id ${id}. List tasks with GET /tasks.`, { taskId: id })
    return row
  }

  async nextLeaseDeadline (): Promise<number | null> {
    return (this.sql('SELECT min(expires_at) AS d FROM leases WHERE ended_at IS NULL').get() as { d: number | null }).d
  }

  async oldestOnlineLastSeen (except: ReadonlySet<string>): Promise<number | null> {
    const rows = this.sql('SELECT id, last_seen_at FROM workers WHERE offline_at IS NULL ORDER BY last_seen_at').all() as Array<{ id: string, last_seen_at: number }>
    return rows.find((r) => !except.has(r.id))?.last_seen_at ?? null
  }

  async isFinished (project: string | undefined): Promise<boolean> {
    if (project !== undefined) {
      const p = this.sql('SELECT finished_at FROM projects WHERE name = ?').get(project) as { finished_at: number | null } | undefined
      return p !== undefined && p.finished_at !== null
    }
    const c = this.sql('SELECT count(*) AS n, count(finished_at) AS f FROM projects').get() as { n: number, f: number }
    return c.n > 0 && c.n === c.f
  }

  async getTask (taskId: string): Promise<Task | null> {
    const row = this.taskRow(taskId)
    return row === undefined ? null : toTask(row)
  }

  async getHistory (taskId: string): Promise<TaskHistory | null> {
    const row = this.taskRow(taskId)
    if (row === undefined) return null
    return {
      task: toTask(row),
      leases: (this.sql('SELECT * FROM leases WHERE task_id = ? ORDER BY granted_at, rowid').all(taskId) as LeaseRow[]).map(toLeaseRecord),
      reports: (this.sql('SELECT * FROM reports WHERE task_id = ? ORDER BY id').all(taskId) as ReportRow[]).map(toReportRecord),
      events: (this.sql('SELECT * FROM events WHERE task_id = ? ORDER BY seq').all(taskId) as EventRow[]).map(toEvent),
    }
  }

  async listTasks (q: TaskListQuery): Promise<TaskPage> {
    const rows = this.sql(`${TASK_SELECT} WHERE t.seq > @after AND (@project IS NULL OR t.project = @project)
      AND (@state IS NULL OR t.state = @state) AND (@type IS NULL OR t.type = @type) AND (@worker IS NULL OR EXISTS (SELECT 1 FROM leases x WHERE x.id = t.lease_id AND x.worker = @worker))
      ORDER BY t.seq LIMIT @limit`).all({ after: q.after ?? 0, project: q.project ?? null, state: q.state ?? null, type: q.type ?? null, worker: q.worker ?? null, limit: q.limit + 1 }) as TaskRow[]
    const more = rows.length > q.limit
    const page = rows.slice(0, q.limit)
    return { tasks: page.map(toTask), nextAfter: more ? (page[page.length - 1] as TaskRow).seq : null }
  }

  async listWorkers (): Promise<WorkerRow[]> {
    const rows = this.sql(`SELECT w.*, (SELECT task_id FROM leases l WHERE l.worker = w.id AND l.ended_at IS NULL ORDER BY granted_at LIMIT 1) AS current_task
      FROM workers w ORDER BY w.first_seen_at, w.id`).all() as Array<{ id: string, first_seen_at: number, last_seen_at: number, offline_at: number | null, tasks_completed: number, tasks_failed: number, current_task: string | null }>
    return rows.map((r) => ({ id: r.id, firstSeenAt: r.first_seen_at, lastSeenAt: r.last_seen_at, offlineAt: r.offline_at, tasksCompleted: r.tasks_completed, tasksFailed: r.tasks_failed, currentTask: r.current_task }))
  }

  async listProjects (project?: string): Promise<ProjectSummary[]> {
    const projects = this.sql('SELECT * FROM projects WHERE (@p IS NULL OR name = @p) ORDER BY created_at, name').all({ p: project ?? null }) as Array<{ name: string, created_at: number, closed_at: number | null, finished_at: number | null }>
    const counts = this.sql('SELECT state, count(*) AS n FROM tasks WHERE project = ? GROUP BY state')
    return projects.map((p) => {
      const c = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as ProjectSummary['counts']
      for (const r of counts.all(p.name) as Array<{ state: keyof ProjectSummary['counts'], n: number }>) c[r.state] = r.n
      return {
        name: p.name, closed: p.closed_at !== null, done: p.finished_at !== null, counts: c, total: Object.values(c).reduce((a, b) => a + b, 0),
        createdAt: iso(p.created_at), closedAt: p.closed_at === null ? null : iso(p.closed_at), finishedAt: p.finished_at === null ? null : iso(p.finished_at),
      }
    })
  }

  async events (after: number, project: string | undefined, limit: number): Promise<Event[]> {
    const rows = this.sql('SELECT * FROM events WHERE seq > @after AND (@p IS NULL OR project = @p OR project IS NULL) ORDER BY seq LIMIT @limit')
    return (rows.all({ after, p: project ?? null, limit }) as EventRow[]).map(toEvent)
  }

  async health (): Promise<StoreHealth> {
    try {
      this.guard?.check()
      this.sql('SELECT 1').get()
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
