/**
 * The SQLite side of one transaction: `StoreTx` over better-sqlite3 prepared statements. Persistence
 * only; every decision is the lifecycle's. Methods run synchronously and resolve at once, which is
 * what lets a transaction stay on one connection without interleaving (see `SqliteStore.transact`).
 */
import { CoordError } from '../errors.js'
import type { TaskState } from '../schemas/common.js'
import type { EventType } from '../schemas/events.js'
import type { Task, TaskInput } from '../schemas/tasks.js'
import type { TaskSpec } from '../lifecycle/task-spec.js'
import type {
  ClaimFilter, EventDraft, LeaseEnd, LeaseFacts, PickOptions, ProjectFacts, ReportRecordInput, StoreTx, TaskFacts, TaskPatch, WorkerRow,
} from './store.js'
import { sqlInt, TASK_SELECT, toTask, type LeaseRow, type TaskRow } from './sqlite-rows.js'
import type { Statements } from './sqlite-statements.js'

/** Claim queries by filter shape: each one walks an index in claim order (priority, then posting order). */
const PICK_WHERE: Record<string, string> = {
  none: "t.state = 'submitted'",
  project: "t.project = @project AND t.state = 'submitted'",
  type: "t.type = @type AND t.state = 'submitted'",
  both: "t.project = @project AND t.type = @type AND t.state = 'submitted'",
}
const SKIP_RETRIES = `AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.id = t.lease_id AND l.worker = @worker
  AND l.end_reason IN ('failed', 'expired'))`

function filterShape (f: ClaimFilter): string {
  if (f.project !== undefined) return f.type !== undefined ? 'both' : 'project'
  return f.type !== undefined ? 'type' : 'none'
}

/** The claim query for a filter (named parameters @project, @type, @worker as the filter needs). */
export function pickSql (filter: ClaimFilter, skipRetries: boolean): string {
  return `SELECT t.id FROM tasks t WHERE ${PICK_WHERE[filterShape(filter)] as string} ${skipRetries ? SKIP_RETRIES : ''} ` +
    'ORDER BY t.priority DESC, t.seq LIMIT 1'
}

export function toLeaseFacts (r: LeaseRow): LeaseFacts {
  return {
    id: r.id,
    taskId: r.task_id,
    worker: r.worker,
    attempt: r.attempt,
    grantedAt: r.granted_at,
    expiresAt: r.expires_at,
    endedAt: r.ended_at,
    endReason: r.end_reason,
  }
}

/** The task as posted, for a 409's list of differing fields; unreadable text reads as an empty task. */
function parseInput (text: string): TaskInput {
  try {
    const v: unknown = JSON.parse(text)
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as TaskInput
  } catch { /* fall through */ }
  return { description: '' }
}

/** A `workers` row as SQLite returns it, with the worker's live task when the query joins it. */
export interface WorkerDbRow {
  id: string
  first_seen_at: number
  last_seen_at: number
  offline_at: number | null
  tasks_completed: number
  tasks_failed: number
  current_task?: string | null
}

export function toWorkerRow (r: WorkerDbRow): WorkerRow {
  return {
    id: r.id,
    firstSeenAt: r.first_seen_at,
    lastSeenAt: r.last_seen_at,
    offlineAt: r.offline_at,
    tasksCompleted: r.tasks_completed,
    tasksFailed: r.tasks_failed,
    currentTask: r.current_task ?? null,
  }
}

/** One transaction's statements. Collects the projects and types of the events it appends. */
export class SqliteTx implements StoreTx {
  readonly projects = new Set<string | null>()
  readonly types = new Set<EventType>()

  constructor (private readonly sql: Statements) {}

  async existingTasks (ids: string[]): Promise<Map<string, { project: string, specHash: string, input: TaskInput }>> {
    const found = new Map<string, { project: string, specHash: string, input: TaskInput }>()
    const stmt = this.sql('SELECT project, spec_hash, input FROM tasks WHERE id = ?')
    for (const id of ids) {
      const r = stmt.get(id) as { project: string, spec_hash: string, input: string } | undefined
      if (r !== undefined) found.set(id, { project: r.project, specHash: r.spec_hash, input: parseInput(r.input) })
    }
    return found
  }

  async insertTask (s: TaskSpec, input: TaskInput, now: number): Promise<void> {
    this.sql(`INSERT INTO tasks (id, project, type, description, context, acceptance, files, priority, lease_ms,
      max_attempts, input, spec_hash, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?)`)
      .run(s.id, s.project, s.type, s.description, JSON.stringify(s.context), JSON.stringify(s.acceptance), JSON.stringify(s.files),
        s.priority, s.leaseMs, s.maxAttempts, JSON.stringify(input), s.hash, now, now)
  }

  async task (id: string): Promise<TaskFacts | null> {
    const r = this.sql(`SELECT t.id, t.project, t.state, ${sqlInt('attempts')}, ${sqlInt('max_attempts')}, ${sqlInt('lease_ms')}, t.lease_id
      FROM tasks t WHERE t.id = ?`).get(id) as
      { id: string, project: string, state: TaskState, attempts: number, max_attempts: number, lease_ms: number, lease_id: string | null } | undefined
    if (r === undefined) return null
    return { id: r.id, project: r.project, state: r.state, attempts: r.attempts, maxAttempts: r.max_attempts, leaseMs: r.lease_ms, leaseId: r.lease_id }
  }

  async taskView (id: string): Promise<Task> {
    const row = this.sql(`${TASK_SELECT} WHERE t.id = ?`).get(id) as TaskRow | undefined
    if (row === undefined) throw new Error(`task ${id} vanished inside its transaction`)
    return toTask(row)
  }

  async updateTask (id: string, p: TaskPatch): Promise<void> {
    const sets: string[] = ['updated_at = @updatedAt']
    const values: Record<string, unknown> = { id, updatedAt: p.updatedAt }
    if (p.state !== undefined) { sets.push('state = @state'); values.state = p.state }
    if (p.attempts !== undefined) { sets.push('attempts = @attempts'); values.attempts = p.attempts }
    if (p.leaseId !== undefined) { sets.push('lease_id = @leaseId'); values.leaseId = p.leaseId }
    if (p.result !== undefined) { sets.push('result = @result'); values.result = p.result === null ? null : JSON.stringify(p.result) }
    if (p.finishedAt !== undefined) { sets.push('finished_at = @finishedAt'); values.finishedAt = p.finishedAt }
    this.sql(`UPDATE tasks SET ${sets.join(', ')} WHERE id = @id`).run(values)
  }

  async pickQueued (filter: ClaimFilter, opts: PickOptions = {}): Promise<string | null> {
    const skip = opts.skipRetriesOf !== undefined
    const sql = pickSql(filter, skip)
    const params: Record<string, unknown> = {}
    if (filter.project !== undefined) params.project = filter.project
    if (filter.type !== undefined) params.type = filter.type
    if (skip) params.worker = opts.skipRetriesOf
    const r = this.sql(sql).get(params) as { id: string } | undefined
    return r?.id ?? null
  }

  async lease (id: string): Promise<LeaseFacts | null> {
    const r = this.sql('SELECT * FROM leases WHERE id = ?').get(id) as LeaseRow | undefined
    return r === undefined ? null : toLeaseFacts(r)
  }

  async liveLeaseOf (worker: string): Promise<LeaseFacts | null> {
    const r = this.sql('SELECT * FROM leases WHERE worker = ? AND ended_at IS NULL').get(worker) as LeaseRow | undefined
    return r === undefined ? null : toLeaseFacts(r)
  }

  async insertLease (l: LeaseFacts): Promise<void> {
    try {
      this.sql('INSERT INTO leases (id, task_id, worker, attempt, granted_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(l.id, l.taskId, l.worker, l.attempt, l.grantedAt, l.expiresAt)
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new CoordError('WORKER_BUSY', `Worker ${l.worker} already holds a live lease; finish or report it first.`, { worker: l.worker })
      }
      throw err
    }
  }

  async updateLease (id: string, p: { expiresAt?: number, endedAt?: number | null, endReason?: LeaseEnd | null }): Promise<void> {
    const sets: string[] = []
    const values: Record<string, unknown> = { id }
    if (p.expiresAt !== undefined) { sets.push('expires_at = @expiresAt'); values.expiresAt = p.expiresAt }
    if (p.endedAt !== undefined) { sets.push('ended_at = @endedAt'); values.endedAt = p.endedAt }
    if (p.endReason !== undefined) { sets.push('end_reason = @endReason'); values.endReason = p.endReason }
    if (sets.length > 0) this.sql(`UPDATE leases SET ${sets.join(', ')} WHERE id = @id`).run(values)
  }

  async lapsedLeases (now: number, limit: number): Promise<LeaseFacts[]> {
    const rows = this.sql('SELECT * FROM leases WHERE ended_at IS NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?').all(now, limit) as LeaseRow[]
    return rows.map(toLeaseFacts)
  }

  async insertReport (r: ReportRecordInput): Promise<void> {
    this.sql(`INSERT INTO reports (task_id, lease_id, worker, attempt, status, summary, deliverables, context_score, question, details,
      accepted, rejection, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(r.taskId, r.leaseId, r.worker, r.attempt,
      r.status, r.summary, JSON.stringify(r.deliverables), r.contextScore, r.question, r.details === null ? null : JSON.stringify(r.details),
      r.accepted ? 1 : 0, r.rejection, r.at)
  }

  async project (name: string): Promise<ProjectFacts | null> {
    const r = this.sql('SELECT name, created_at, closed_at, finished_at FROM projects WHERE name = ?').get(name) as
      { name: string, created_at: number, closed_at: number | null, finished_at: number | null } | undefined
    return r === undefined ? null : { name: r.name, createdAt: r.created_at, closedAt: r.closed_at, finishedAt: r.finished_at }
  }

  async ensureProject (name: string, now: number): Promise<void> {
    this.sql('INSERT OR IGNORE INTO projects (name, created_at) VALUES (?, ?)').run(name, now)
  }

  async updateProject (name: string, p: { closedAt?: number, finishedAt?: number }): Promise<void> {
    if (p.closedAt !== undefined) this.sql('UPDATE projects SET closed_at = ? WHERE name = ?').run(p.closedAt, name)
    if (p.finishedAt !== undefined) this.sql('UPDATE projects SET finished_at = ? WHERE name = ?').run(p.finishedAt, name)
  }

  async hasTaskIn (project: string, states: readonly TaskState[]): Promise<boolean> {
    const stmt = this.sql('SELECT EXISTS (SELECT 1 FROM tasks WHERE project = ? AND state = ?) AS e')
    return states.some((s) => (stmt.get(project, s) as { e: number }).e === 1)
  }

  async stateCounts (project: string): Promise<Partial<Record<TaskState, number>>> {
    const rows = this.sql('SELECT state, count(*) AS n FROM tasks WHERE project = ? GROUP BY state').all(project) as Array<{ state: TaskState, n: number }>
    return Object.fromEntries(rows.map((r) => [r.state, r.n]))
  }

  async worker (id: string): Promise<WorkerRow | null> {
    const r = this.sql('SELECT * FROM workers WHERE id = ?').get(id) as WorkerDbRow | undefined
    return r === undefined ? null : toWorkerRow(r)
  }

  async upsertWorker (id: string, p: { lastSeenAt: number, offlineAt?: number | null, firstSeenAt?: number }): Promise<void> {
    this.sql(`INSERT INTO workers (id, first_seen_at, last_seen_at, offline_at) VALUES (@id, @first, @last, @offline)
      ON CONFLICT (id) DO UPDATE SET last_seen_at = @last, offline_at = CASE WHEN @keepOffline THEN offline_at ELSE @offline END`)
      .run({ id, first: p.firstSeenAt ?? p.lastSeenAt, last: p.lastSeenAt, offline: p.offlineAt ?? null, keepOffline: p.offlineAt === undefined ? 1 : 0 })
  }

  async countWorkerResult (id: string, status: 'completed' | 'failed'): Promise<void> {
    const column = status === 'completed' ? 'tasks_completed' : 'tasks_failed'
    this.sql(`UPDATE workers SET ${column} = ${column} + 1 WHERE id = ?`).run(id)
  }

  async appendEvent (e: EventDraft): Promise<void> {
    this.sql('INSERT INTO events (type, project, task_id, worker, data, at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(e.type, e.project, e.taskId, e.worker, JSON.stringify(e.data), e.at)
    this.projects.add(e.project)
    this.types.add(e.type)
  }
}
