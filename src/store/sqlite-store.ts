/**
 * The embedded SQLite store (better-sqlite3): one file, WAL, every state change in one IMMEDIATE
 * transaction together with its events. `synchronous = FULL`, so an acknowledged change survives even a
 * power loss, not only `kill -9`.
 */
import { randomUUID } from 'node:crypto'
import { CoordError } from '../errors.js'
import { afterReport, afterUnsuccessfulAttempt, judge, OPEN_STATES, projectDone, type LeaseFacts } from '../lifecycle/rules.js'
import type { EventType } from '../schemas/events.js'
import type { Assignment, Lease, ReportBody, Task, TaskInput, TaskResult } from '../schemas/tasks.js'
import type { ProjectSummary } from '../schemas/workers.js'
import type { TaskSpec } from '../lifecycle/task-spec.js'
import { differingFields } from '../lifecycle/task-spec.js'
import type { ClaimFilter, CreateOutcome, ReportOutcome, Store } from './store.js'
import { iso, toLease, toTask, type LeaseRow, type TaskRow } from './sqlite-rows.js'
import { SqliteReads } from './sqlite-reads.js'
import { asStorageError } from './storage-errors.js'

/** Queued tasks a worker may claim, best first: priority, then posting order. */
const CLAIM_SELECT = `SELECT t.id FROM tasks t WHERE t.state = 'submitted' AND (@project IS NULL OR t.project = @project)
  AND (@type IS NULL OR t.type = @type)`
const CLAIM_ORDER = 'ORDER BY t.priority DESC, t.seq LIMIT 1'
const OPEN_LIST = OPEN_STATES.map((s) => `'${s}'`).join(', ')

interface EventFields { project?: string | null, taskId?: string | null, worker?: string | null, data?: Record<string, unknown> }

/** SQLite implementation of `Store`: the writes, each one IMMEDIATE transaction, on top of the reads. */
export class SqliteStore extends SqliteReads implements Store {

  /** Run `fn` in one IMMEDIATE transaction; storage failures become STORAGE_UNAVAILABLE. */
  private tx<T> (fn: () => T): T {
    this.guard?.check()
    try {
      return this.db.transaction(fn).immediate()
    } catch (err) {
      throw asStorageError(err)
    }
  }

  private emit (type: EventType, now: number, f: EventFields = {}): void {
    this.sql('INSERT INTO events (type, project, task_id, worker, data, at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(type, f.project ?? null, f.taskId ?? null, f.worker ?? null, JSON.stringify(f.data ?? {}), now)
  }

  private ensureProject (name: string, now: number): void {
    this.sql('INSERT OR IGNORE INTO projects (name, created_at) VALUES (?, ?)').run(name, now)
  }

  /** Mark the project finished (and emit project.finished) once it is closed and has no open task. */
  private settleProject (name: string, now: number): void {
    const p = this.sql('SELECT closed_at, finished_at FROM projects WHERE name = ?').get(name) as { closed_at: number | null, finished_at: number | null } | undefined
    if (p === undefined || p.finished_at !== null) return
    const open = (this.sql(`SELECT count(*) AS n FROM tasks WHERE project = ? AND state IN (${OPEN_LIST})`).get(name) as { n: number }).n
    if (!projectDone(p.closed_at !== null, open)) return
    this.sql('UPDATE projects SET finished_at = ? WHERE name = ?').run(now, name)
    const counts = this.sql('SELECT state, count(*) AS n FROM tasks WHERE project = ? GROUP BY state').all(name)
    this.emit('project.finished', now, { project: name, data: { counts: Object.fromEntries((counts as Array<{ state: string, n: number }>).map((c) => [c.state, c.n])) } })
  }

  async createTasks (project: string, inputs: TaskInput[], specs: TaskSpec[], close: boolean, now: number): Promise<CreateOutcome> {
    return this.tx(() => {
      this.ensureProject(project, now)
      const created: string[] = []
      const existing: string[] = []
      const conflicts: Array<{ id: string, fields: string[] }> = []
      const fresh: Array<[TaskSpec, TaskInput]> = []
      specs.forEach((spec, i) => {
        const input = inputs[i] as TaskInput
        const old = this.sql('SELECT project, spec_hash, input FROM tasks WHERE id = ?').get(spec.id) as { project: string, spec_hash: string, input: string } | undefined
        if (old === undefined) fresh.push([spec, input])
        else if (old.spec_hash === spec.hash) existing.push(spec.id)
        else conflicts.push({ id: spec.id, fields: differingFields(JSON.parse(old.input), old.project, input, project) })
      })
      if (conflicts.length > 0) {
        throw new CoordError('TASK_CONFLICT', `Task ${conflicts.map((c) => c.id).join(', ')} already exists with different content (${[...new Set(conflicts.flatMap((c) => c.fields))].join(', ')}). Use a new id, or re-post the identical task. Nothing in this batch was created.`, { conflicts })
      }
      const closedAt = (this.sql('SELECT closed_at FROM projects WHERE name = ?').get(project) as { closed_at: number | null }).closed_at
      if (closedAt !== null && fresh.length > 0) {
        throw new CoordError('PROJECT_CLOSED', `Project ${project} was closed at ${iso(closedAt)}: no more tasks can be added. Post them to a new project.`, { project })
      }
      const insert = this.sql(`INSERT INTO tasks (id, project, type, description, context, acceptance, files, priority, lease_ms,
        max_attempts, input, spec_hash, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?)`)
      for (const [s, input] of fresh) {
        insert.run(s.id, project, s.type, s.description, JSON.stringify(s.context), JSON.stringify(s.acceptance), JSON.stringify(s.files),
          s.priority, s.leaseMs, s.maxAttempts, JSON.stringify(input), s.hash, now, now)
        this.emit('task.created', now, { project, taskId: s.id, data: { type: s.type, priority: s.priority } })
        created.push(s.id)
      }
      if (close) this.closeProjectTx(project, now)
      return { created, existing, closed: close || closedAt !== null }
    })
  }

  async currentAssignment (worker: string, now: number): Promise<Assignment | null> {
    const lease = this.sql('SELECT * FROM leases WHERE worker = ? AND ended_at IS NULL AND expires_at > ? ORDER BY granted_at LIMIT 1').get(worker, now) as LeaseRow | undefined
    if (lease === undefined) return null
    const row = this.requireTask(lease.task_id)
    return { task: toTask(row), lease: toLease(lease, row.lease_ms), resumed: true }
  }

  async claim (worker: string, filter: ClaimFilter, now: number): Promise<Assignment | null> {
    return this.tx(() => {
      // A task this worker just failed (or let lapse) goes to it again only when nothing else is queued.
      const params = { project: filter.project ?? null, type: filter.type ?? null, worker }
      const pick = (this.sql(`${CLAIM_SELECT} AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.id = t.lease_id AND l.worker = @worker
        AND l.end_reason IN ('failed', 'expired')) ${CLAIM_ORDER}`).get(params) ?? this.sql(`${CLAIM_SELECT} ${CLAIM_ORDER}`).get(params)) as { id: string } | undefined
      if (pick === undefined) return null
      const t = this.requireTask(pick.id)
      const lease: LeaseRow = { id: randomUUID(), task_id: t.id, worker, attempt: t.attempts + 1, granted_at: now, expires_at: now + t.lease_ms, ended_at: null, end_reason: null }
      this.sql('INSERT INTO leases (id, task_id, worker, attempt, granted_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(lease.id, lease.task_id, worker, lease.attempt, now, lease.expires_at)
      this.sql("UPDATE tasks SET state = 'working', attempts = ?, lease_id = ?, updated_at = ? WHERE id = ?").run(lease.attempt, lease.id, now, t.id)
      this.emit('task.claimed', now, { project: t.project, taskId: t.id, worker, data: { leaseId: lease.id, attempt: lease.attempt, expiresAt: iso(lease.expires_at) } })
      return { task: toTask(this.requireTask(t.id)), lease: toLease(lease, t.lease_ms), resumed: false }
    })
  }

  async release (leaseId: string, now: number): Promise<void> {
    this.tx(() => {
      const l = this.sql('SELECT * FROM leases WHERE id = ? AND ended_at IS NULL').get(leaseId) as LeaseRow | undefined
      if (l === undefined) return
      this.sql("UPDATE leases SET ended_at = ?, end_reason = 'released' WHERE id = ?").run(now, leaseId)
      this.sql("UPDATE tasks SET state = 'submitted', attempts = attempts - 1, updated_at = ? WHERE id = ?").run(now, l.task_id)
      const t = this.requireTask(l.task_id)
      this.emit('task.requeued', now, { project: t.project, taskId: t.id, worker: l.worker, data: { reason: 'released: the worker disconnected before receiving it', leaseId } })
    })
  }

  private leaseFacts (t: TaskRow, leaseId: string): [LeaseRow | undefined, LeaseFacts | null] {
    const l = this.sql('SELECT * FROM leases WHERE id = ? AND task_id = ?').get(leaseId, t.id) as LeaseRow | undefined
    if (l === undefined) return [undefined, null]
    return [l, { worker: l.worker, attempt: l.attempt, endReason: l.end_reason, latest: t.lease_id === l.id }]
  }

  private latestWorker (t: TaskRow): string | null {
    if (t.lease_id === null) return null
    return (this.sql('SELECT worker FROM leases WHERE id = ?').get(t.lease_id) as { worker: string }).worker
  }

  async heartbeat (taskId: string, worker: string, leaseId: string, now: number): Promise<Lease> {
    return this.tx(() => {
      const t = this.requireTask(taskId)
      const [l, facts] = this.leaseFacts(t, leaseId)
      const verdict = judge({ state: t.state, attempts: t.attempts, maxAttempts: t.max_attempts, latestWorker: this.latestWorker(t) }, facts, worker, null)
      if (verdict.kind === 'reject') throw new CoordError(verdict.code, verdict.message, { taskId, state: t.state })
      const lease = l as LeaseRow
      lease.expires_at = now + t.lease_ms
      this.sql('UPDATE leases SET expires_at = ?, ended_at = NULL, end_reason = NULL WHERE id = ?').run(lease.expires_at, leaseId)
      if (t.state !== 'working') {
        // Revive a lapsed lease nobody else took: the worker was slow, not gone.
        this.sql("UPDATE tasks SET state = 'working', updated_at = ? WHERE id = ?").run(now, taskId)
        this.emit('task.claimed', now, { project: t.project, taskId, worker, data: { leaseId, attempt: lease.attempt, expiresAt: iso(lease.expires_at), revived: true } })
      }
      return toLease(lease, t.lease_ms)
    })
  }

  async report (taskId: string, body: ReportBody, now: number): Promise<ReportOutcome> {
    const out = this.tx(() => {
      const t = this.requireTask(taskId)
      const [l, facts] = this.leaseFacts(t, body.leaseId)
      const verdict = judge({ state: t.state, attempts: t.attempts, maxAttempts: t.max_attempts, latestWorker: this.latestWorker(t) }, facts, body.worker, body.status)
      if (verdict.kind === 'duplicate') return { task: toTask(t), duplicate: true }
      const accepted = verdict.kind === 'accept'
      this.sql(`INSERT INTO reports (task_id, lease_id, worker, attempt, status, summary, deliverables, context_score, question, details,
        accepted, rejection, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(taskId, body.leaseId, body.worker, l?.attempt ?? null,
        body.status, body.summary, JSON.stringify(body.deliverables ?? []), body.contextScore ?? null, body.question ?? null,
        body.details === undefined ? null : JSON.stringify(body.details), accepted ? 1 : 0, accepted ? null : verdict.code, now)
      if (verdict.kind === 'reject') {
        this.emit('task.report_rejected', now, { project: t.project, taskId, worker: body.worker, data: { code: verdict.code, status: body.status, leaseId: body.leaseId } })
        return verdict
      }
      const lease = l as LeaseRow
      const state = afterReport(body.status, t.attempts, t.max_attempts)
      const result: TaskResult = {
        status: body.status, summary: body.summary, deliverables: body.deliverables ?? [], contextScore: body.contextScore ?? null,
        worker: body.worker, attempt: lease.attempt, reportedAt: iso(now), ...(body.question === undefined ? {} : { question: body.question }),
      }
      this.sql('UPDATE leases SET ended_at = coalesce(ended_at, ?), end_reason = ? WHERE id = ?').run(now, body.status, lease.id)
      const finished = state === 'completed' || state === 'failed' ? now : null
      this.sql('UPDATE tasks SET state = ?, result = ?, updated_at = ?, finished_at = ? WHERE id = ?').run(state, JSON.stringify(result), now, finished, taskId)
      if (body.status === 'completed') this.sql('UPDATE workers SET tasks_completed = tasks_completed + 1 WHERE id = ?').run(body.worker)
      if (body.status === 'failed') this.sql('UPDATE workers SET tasks_failed = tasks_failed + 1 WHERE id = ?').run(body.worker)
      const ev = { project: t.project, taskId, worker: body.worker }
      if (state === 'completed') this.emit('task.completed', now, { ...ev, data: { attempt: lease.attempt, deliverables: result.deliverables, contextScore: result.contextScore } })
      else if (state === 'input-required') this.emit('task.input_required', now, { ...ev, data: { attempt: lease.attempt, question: body.question ?? body.summary } })
      else this.emit('task.failed', now, { ...ev, data: { attempt: lease.attempt, final: state === 'failed', willRetry: state === 'submitted', summary: body.summary } })
      this.settleProject(t.project, now)
      return { task: toTask(this.requireTask(taskId)), duplicate: false }
    })
    if ('kind' in out) throw new CoordError(out.code, out.message, { taskId })
    return out
  }

  async expireLeases (now: number): Promise<number> {
    return this.tx(() => {
      const lapsed = this.sql('SELECT * FROM leases WHERE ended_at IS NULL AND expires_at <= ?').all(now) as LeaseRow[]
      for (const l of lapsed) {
        const t = this.requireTask(l.task_id)
        const state = afterUnsuccessfulAttempt(t.attempts, t.max_attempts)
        this.sql("UPDATE leases SET ended_at = ?, end_reason = 'expired' WHERE id = ?").run(now, l.id)
        this.sql('UPDATE tasks SET state = ?, updated_at = ?, finished_at = ? WHERE id = ?').run(state, now, state === 'failed' ? now : null, t.id)
        const ev = { project: t.project, taskId: t.id, worker: l.worker }
        this.emit('task.lease_expired', now, { ...ev, data: { leaseId: l.id, attempt: l.attempt, expiredAt: iso(l.expires_at), requeued: state === 'submitted' } })
        if (state === 'failed') {
          this.emit('task.failed', now, { ...ev, data: { attempt: l.attempt, final: true, willRetry: false, summary: `No report or heartbeat within the lease; ${t.max_attempts} attempt(s) used (dead-lettered).` } })
          this.settleProject(t.project, now)
        }
      }
      return lapsed.length
    })
  }

  async cancel (taskId: string, reason: string | undefined, now: number): Promise<Task> {
    return this.tx(() => {
      const t = this.requireTask(taskId)
      if (t.state === 'canceled') return toTask(t)
      if (t.state === 'completed' || t.state === 'failed') {
        throw new CoordError('TASK_FINISHED', `Task ${taskId} is already ${t.state}; only unfinished tasks can be canceled.`, { taskId, state: t.state })
      }
      this.sql("UPDATE leases SET ended_at = ?, end_reason = 'canceled' WHERE task_id = ? AND ended_at IS NULL").run(now, taskId)
      this.sql("UPDATE tasks SET state = 'canceled', updated_at = ?, finished_at = ? WHERE id = ?").run(now, now, taskId)
      this.emit('task.canceled', now, { project: t.project, taskId, worker: t.live_worker, data: { previousState: t.state, reason: reason ?? null } })
      this.settleProject(t.project, now)
      return toTask(this.requireTask(taskId))
    })
  }

  private closeProjectTx (project: string, now: number): void {
    this.ensureProject(project, now)
    const changed = this.sql('UPDATE projects SET closed_at = ? WHERE name = ? AND closed_at IS NULL').run(now, project).changes
    if (changed > 0) this.emit('project.closed', now, { project })
    this.settleProject(project, now)
  }

  async touchWorker (worker: string, now: number): Promise<void> {
    this.tx(() => {
      const w = this.sql('SELECT offline_at FROM workers WHERE id = ?').get(worker) as { offline_at: number | null } | undefined
      if (w === undefined) {
        this.sql('INSERT INTO workers (id, first_seen_at, last_seen_at) VALUES (?, ?, ?)').run(worker, now, now)
        this.emit('worker.registered', now, { worker })
        return
      }
      if (w.offline_at !== null) this.emit('worker.online', now, { worker, data: { offlineSince: iso(w.offline_at) } })
      this.sql('UPDATE workers SET last_seen_at = ?, offline_at = NULL WHERE id = ?').run(now, worker)
    })
  }

  async markOffline (silentSince: number, except: ReadonlySet<string>, now: number): Promise<number> {
    return this.tx(() => {
      const silent = this.sql('SELECT id, last_seen_at FROM workers WHERE offline_at IS NULL AND last_seen_at < ?').all(silentSince) as Array<{ id: string, last_seen_at: number }>
      let n = 0
      for (const w of silent) {
        if (except.has(w.id)) continue
        this.sql('UPDATE workers SET offline_at = ? WHERE id = ?').run(now, w.id)
        const current = this.sql('SELECT task_id FROM leases WHERE worker = ? AND ended_at IS NULL LIMIT 1').get(w.id) as { task_id: string } | undefined
        this.emit('worker.offline', now, { worker: w.id, taskId: current?.task_id ?? null, data: { lastSeenAt: iso(w.last_seen_at) } })
        n++
      }
      return n
    })
  }

  async closeProject (project: string, now: number): Promise<ProjectSummary> {
    this.tx(() => this.closeProjectTx(project, now))
    return (await this.listProjects(project))[0] as ProjectSummary
  }
}
