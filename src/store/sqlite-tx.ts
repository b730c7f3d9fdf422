/**
 * The SQLite side of one transaction: `StoreTx` over better-sqlite3 prepared statements. Persistence
 * only; every decision is the lifecycle's. Methods run synchronously and resolve at once, which is
 * what lets a transaction stay on one connection without interleaving (see `SqliteStore.transact`).
 */
import { CoordError } from '../errors.js'
import type { TaskState } from '../schemas/common.js'
import type { EventType } from '../schemas/events.js'
import type { Notice, Task, TaskInput, TaskNote } from '../schemas/tasks.js'
import type { Question } from '../schemas/workflow.js'
import type { TaskSpec } from '../lifecycle/task-spec.js'
import type {
  ClaimFilter, EventDraft, LeaseEnd, LeaseFacts, PickOptions, ProjectFacts, ReportRecordInput, StoreTx, TaskAmendment, TaskFacts, TaskPatch, WorkerRow,
  WorkingWrites,
} from './store.js'
import * as q from './sqlite-questions.js'
import { attentionOf, checksOf, files, sqlInt, strings, TASK_SELECT, toTask, type LeaseRow, type TaskRow } from './sqlite-rows.js'
import type { Statements } from './sqlite-statements.js'

/** Claim queries by filter shape: each one walks an index in claim order (priority, then posting order). */
const PICK_WHERE: Record<string, string> = {
  none: "t.state = 'submitted'",
  project: "t.project = @project AND t.state = 'submitted'",
  type: "t.type = @type AND t.state = 'submitted'",
  both: "t.project = @project AND t.type = @type AND t.state = 'submitted'",
}
/** Offered only once every dependency completed and any backoff or reservation is over. */
const READY = 'AND t.deps_pending = 0 AND t.available_at <= @now'
const EXCLUDE = 'AND t.id NOT IN (SELECT value FROM json_each(@exclude))'
const SKIP_RETRIES = `AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.id = t.lease_id AND l.worker = @worker
  AND l.end_reason IN ('failed', 'expired'))`

function filterShape (f: ClaimFilter): string {
  if (f.project !== undefined) return f.type !== undefined ? 'both' : 'project'
  return f.type !== undefined ? 'type' : 'none'
}

/** The columns of `TaskFacts`, read by the lookup by id and by the claim query (so a claim reads its task once). */
const FACTS_COLUMNS = `t.id, t.project, t.state, ${sqlInt('attempts')}, ${sqlInt('max_attempts')}, ${sqlInt('lease_ms')}, t.lease_id,
  t.type, t.files, t.depends_on, t.deps_pending, t.checks, t.review, t.workspace, t.attention, t.check_rejections`
const TASK_FACTS_SQL = `SELECT ${FACTS_COLUMNS} FROM tasks t WHERE t.id = ?`
const TASK_VIEW_SQL = `${TASK_SELECT} WHERE t.id = ?`

/** A `TaskPatch` field, its column, and how its value is stored (JSON text for objects). */
type PatchColumn = [keyof Omit<TaskPatch, 'updatedAt'>, string, ((v: unknown) => unknown)?]
const PATCH_COLUMNS: PatchColumn[] = [
  ['state', 'state'], ['attempts', 'attempts'], ['leaseId', 'lease_id'], ['result', 'result', JSON.stringify], ['finishedAt', 'finished_at'],
  ['maxAttempts', 'max_attempts'], ['depsPending', 'deps_pending'], ['attention', 'attention', JSON.stringify],
  ['checkRejections', 'check_rejections'], ['availableAt', 'available_at'], ['reservedFor', 'reserved_for'],
]
/** UPDATE statements by the set of patched fields (a bit per PATCH_COLUMNS entry), built once each. */
const patchSqls = new Map<number, string>()
function patchSql (mask: number): string {
  let sql = patchSqls.get(mask)
  if (sql === undefined) {
    const sets = ['updated_at = @updatedAt', ...PATCH_COLUMNS.filter((_, i) => (mask & (1 << i)) !== 0).map(([f, col]) => `${col} = @${f}`)]
    patchSqls.set(mask, sql = `UPDATE tasks SET ${sets.join(', ')} WHERE id = @id`)
  }
  return sql
}

/** UPDATE statements of a lease by patched fields (bit 1 expiresAt, 2 endedAt, 4 endReason). */
const LEASE_PATCH_SQL = Array.from({ length: 8 }, (_, mask) => {
  const sets = [['expires_at = @expiresAt', 1], ['ended_at = @endedAt', 2], ['end_reason = @endReason', 4]] as const
  return `UPDATE leases SET ${sets.filter(([, bit]) => (mask & bit) !== 0).map(([set]) => set).join(', ')} WHERE id = @id`
})

/** Claim queries by shape and options, built once each. */
const pickSqls = new Map<string, string>()

/** The claim query for a filter (named parameters @now, and @project, @type, @worker, @exclude as the filter needs). */
export function pickSql (filter: ClaimFilter, skipRetries: boolean, exclude = false): string {
  const key = `${filterShape(filter)} ${String(skipRetries)} ${String(exclude)}`
  let sql = pickSqls.get(key)
  if (sql === undefined) pickSqls.set(key, sql = buildPickSql(filter, skipRetries, exclude))
  return sql
}

function buildPickSql (filter: ClaimFilter, skipRetries: boolean, exclude: boolean): string {
  return `SELECT ${FACTS_COLUMNS} FROM tasks t WHERE ${PICK_WHERE[filterShape(filter)] as string} ${READY} ${skipRetries ? SKIP_RETRIES : ''} ` +
    `${exclude ? EXCLUDE : ''} ORDER BY t.priority DESC, t.seq LIMIT 1`
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
  lease_expires_at?: number | null
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
    leaseExpiresAt: r.lease_expires_at ?? null,
  }
}

interface FactsRow {
  id: string
  project: string
  state: TaskState
  attempts: number
  max_attempts: number
  lease_ms: number
  lease_id: string | null
  type: string
  files: string
  depends_on: string
  deps_pending: number
  checks: string
  review: number
  workspace: string | null
  attention: string | null
  check_rejections: number
}

/** The facts of a task row read with `FACTS_COLUMNS`, JSON columns through sqlite-rows' total readers. */
function toFacts (r: FactsRow): TaskFacts {
  return {
    id: r.id,
    project: r.project,
    state: r.state,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    leaseMs: r.lease_ms,
    leaseId: r.lease_id,
    type: r.type,
    writes: files(r.files).write,
    dependsOn: strings(r.depends_on),
    depsPending: Number.isSafeInteger(r.deps_pending) ? r.deps_pending : 0,
    checks: checksOf(r.checks),
    review: r.review === 1,
    workspace: r.workspace,
    attention: attentionOf(r.attention),
    checkRejections: Number.isSafeInteger(r.check_rejections) ? r.check_rejections : 0,
  }
}

/** Working tasks of `project` that declared writes (served by the partial index `tasks_working_writes`). */
export function workingWrites (sql: Statements, project: string): WorkingWrites[] {
  const rows = sql(`SELECT t.id, t.files, l.worker FROM tasks t LEFT JOIN leases l ON l.id = t.lease_id AND l.ended_at IS NULL
    WHERE t.project = ? AND t.state = 'working' AND t.has_writes = 1`).all(project) as Array<{ id: string, files: string, worker: string | null }>
  return rows.map((r) => {
    return { id: r.id, writes: files(r.files).write, worker: r.worker }
  })
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

  async insertTask (s: TaskSpec, input: TaskInput, now: number, depsPending: number): Promise<void> {
    this.sql(`INSERT INTO tasks (id, project, type, description, context, acceptance, files, priority, lease_ms,
      max_attempts, input, spec_hash, state, created_at, updated_at, depends_on, deps_pending, checks, review, workspace, has_writes)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(s.id, s.project, s.type, s.description, JSON.stringify(s.context), JSON.stringify(s.acceptance), JSON.stringify(s.files),
        s.priority, s.leaseMs, s.maxAttempts, JSON.stringify(input), s.hash, now, now, JSON.stringify(s.dependsOn), depsPending,
        JSON.stringify(s.checks), s.review ? 1 : 0, s.workspace, s.files.write.length > 0 ? 1 : 0)
  }

  async insertDependency (dependsOn: string, taskId: string): Promise<void> {
    this.sql('INSERT OR IGNORE INTO task_deps (depends_on, task_id) VALUES (?, ?)').run(dependsOn, taskId)
  }

  async dependents (taskId: string): Promise<string[]> {
    const rows = this.sql(`SELECT d.task_id AS id FROM task_deps d JOIN tasks t ON t.id = d.task_id
      WHERE d.depends_on = ? ORDER BY t.seq`).all(taskId) as Array<{ id: string }>
    return rows.map((r) => r.id)
  }

  async appendNote (taskId: string, note: TaskNote): Promise<void> {
    this.sql(`UPDATE tasks SET notes = json_insert(CASE WHEN json_valid(notes) AND json_type(notes) = 'array' THEN notes ELSE '[]' END,
      '$[#]', json(?)) WHERE id = ?`).run(JSON.stringify(note), taskId)
  }

  async reservedFor (worker: string, filter: ClaimFilter): Promise<string | null> {
    // INDEXED BY: without statistics SQLite would walk every submitted task instead of the few reserved ones.
    const r = this.sql(`SELECT t.id FROM tasks t INDEXED BY tasks_reserved WHERE t.reserved_for = @worker AND t.state = 'submitted' AND t.deps_pending = 0
      AND (@project IS NULL OR t.project = @project) AND (@type IS NULL OR t.type = @type) ORDER BY t.priority DESC, t.seq LIMIT 1`)
      .get({ worker, project: filter.project ?? null, type: filter.type ?? null }) as { id: string } | undefined
    return r?.id ?? null
  }

  async workingWrites (project: string): Promise<WorkingWrites[]> {
    return workingWrites(this.sql, project)
  }

  async task (id: string): Promise<TaskFacts | null> {
    const r = this.sql(TASK_FACTS_SQL).get(id) as FactsRow | undefined
    return r === undefined ? null : toFacts(r)
  }

  async taskView (id: string): Promise<Task> {
    const row = this.sql(TASK_VIEW_SQL).get(id) as TaskRow | undefined
    if (row === undefined) throw new Error(`task ${id} vanished inside its transaction`)
    return toTask(row)
  }

  async updateTask (id: string, p: TaskPatch): Promise<void> {
    const values: Record<string, unknown> = { id, updatedAt: p.updatedAt }
    let mask = 0
    for (let i = 0; i < PATCH_COLUMNS.length; i++) {
      const [field, , encode] = PATCH_COLUMNS[i] as PatchColumn
      const v = p[field]
      if (v === undefined) continue
      mask |= 1 << i
      values[field] = encode === undefined || v === null ? v : encode(v)
    }
    this.sql(patchSql(mask)).run(values)
  }

  async pickQueued (filter: ClaimFilter, opts: PickOptions): Promise<TaskFacts | null> {
    const skip = opts.skipRetriesOf !== undefined
    const exclude = opts.exclude !== undefined && opts.exclude.length > 0
    const sql = pickSql(filter, skip, exclude)
    const params: Record<string, unknown> = { now: opts.now }
    if (filter.project !== undefined) params.project = filter.project
    if (filter.type !== undefined) params.type = filter.type
    if (skip) params.worker = opts.skipRetriesOf
    if (exclude) params.exclude = JSON.stringify(opts.exclude)
    const r = this.sql(sql).get(params) as FactsRow | undefined
    return r === undefined ? null : toFacts(r)
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
    const mask = (p.expiresAt !== undefined ? 1 : 0) | (p.endedAt !== undefined ? 2 : 0) | (p.endReason !== undefined ? 4 : 0)
    if (mask !== 0) this.sql(LEASE_PATCH_SQL[mask] as string).run({ id, expiresAt: p.expiresAt, endedAt: p.endedAt, endReason: p.endReason })
  }

  async lapsedLeases (now: number, limit: number): Promise<LeaseFacts[]> {
    const rows = this.sql('SELECT * FROM leases WHERE ended_at IS NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?').all(now, limit) as LeaseRow[]
    return rows.map(toLeaseFacts)
  }

  async insertReport (r: ReportRecordInput): Promise<void> {
    this.sql(`INSERT INTO reports (task_id, lease_id, worker, attempt, status, summary, deliverables, context_score, question, details,
      accepted, rejection, checks, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(r.taskId, r.leaseId,
      r.worker, r.attempt, r.status, r.summary, JSON.stringify(r.deliverables), r.contextScore, r.question,
      r.details === null ? null : JSON.stringify(r.details), r.accepted ? 1 : 0, r.rejection, r.checks === null ? null : JSON.stringify(r.checks),
      r.idempotencyKey, r.at)
  }

  async lastReport (taskId: string, leaseId: string): Promise<{ rejection: string | null, idempotencyKey: string | null } | null> {
    const r = this.sql(`SELECT rejection, idempotency_key FROM reports WHERE task_id = ? AND lease_id = ?
      ORDER BY id DESC LIMIT 1`).get(taskId, leaseId) as { rejection: string | null, idempotency_key: string | null } | undefined
    return r === undefined ? null : { rejection: r.rejection, idempotencyKey: r.idempotency_key }
  }

  async project (name: string): Promise<ProjectFacts | null> {
    const r = this.sql('SELECT name, created_at, closed_at, finished_at FROM projects WHERE name = ?').get(name) as
      { name: string, created_at: number, closed_at: number | null, finished_at: number | null } | undefined
    return r === undefined ? null : { name: r.name, createdAt: r.created_at, closedAt: r.closed_at, finishedAt: r.finished_at }
  }

  async ensureProject (name: string, now: number): Promise<void> {
    this.sql('INSERT OR IGNORE INTO projects (name, created_at) VALUES (?, ?)').run(name, now)
  }

  async updateProject (name: string, p: { closedAt?: number, finishedAt?: number | null }): Promise<void> {
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

  async amendTask (id: string, expected: TaskState, fields: TaskAmendment, now: number): Promise<boolean> {
    return q.amendTask(this.sql, id, expected, fields, now)
  }

  async insertQuestion (question: { project: string, taskId: string | null, message: string, by: string | null, at: number }): Promise<string> {
    return q.insertQuestion(this.sql, question)
  }

  async question (id: string): Promise<Question | null> {
    return q.readQuestion(this.sql, id)
  }

  async answerQuestion (id: string, answer: { message: string, by: string | null, at: number }): Promise<boolean> {
    return q.answerQuestion(this.sql, id, answer)
  }

  async addNotice (worker: string, notice: Notice): Promise<void> {
    q.addNotice(this.sql, worker, notice)
  }

  async takeNotices (worker: string): Promise<Notice[]> {
    return q.takeNotices(this.sql, worker)
  }
}
