/** Row shapes of the SQLite schema and their mapping to API objects. Times: epoch ms in, ISO out. */
import type { Event, EventType } from '../schemas/events.js'
import type { Lease, LeaseRecord, ReportRecord, Task, TaskResult } from '../schemas/tasks.js'
import type { TaskState } from '../schemas/common.js'
import type { LeaseEnd } from '../lifecycle/rules.js'

/** Epoch ms to ISO 8601. */
export const iso = (ms: number): string => new Date(ms).toISOString()
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms))

export interface TaskRow {
  seq: number
  id: string
  project: string
  type: string
  description: string
  context: string
  acceptance: string
  files: string
  priority: number
  lease_ms: number
  max_attempts: number
  input: string
  spec_hash: string
  state: TaskState
  attempts: number
  lease_id: string | null
  result: string | null
  created_at: number
  updated_at: number
  finished_at: number | null
  /** From the join with the live lease. */
  live_worker: string | null
  live_expires_at: number | null
}

/** Select tasks joined with their live lease; append WHERE/ORDER as needed. */
export const TASK_SELECT = `SELECT t.*, l.worker AS live_worker, l.expires_at AS live_expires_at
  FROM tasks t LEFT JOIN leases l ON l.id = t.lease_id AND l.ended_at IS NULL`

export function toTask (r: TaskRow): Task {
  return {
    id: r.id,
    project: r.project,
    type: r.type,
    description: r.description,
    context: JSON.parse(r.context),
    acceptance: JSON.parse(r.acceptance),
    files: JSON.parse(r.files),
    priority: r.priority,
    leaseSeconds: Math.round(r.lease_ms / 1000),
    maxAttempts: r.max_attempts,
    state: r.state,
    attempts: r.attempts,
    worker: r.live_worker,
    leaseExpiresAt: isoOrNull(r.live_expires_at),
    result: r.result === null ? null : (JSON.parse(r.result) as TaskResult),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    finishedAt: isoOrNull(r.finished_at),
  }
}

export interface LeaseRow {
  id: string
  task_id: string
  worker: string
  attempt: number
  granted_at: number
  expires_at: number
  ended_at: number | null
  end_reason: LeaseEnd | null
}

export function toLease (r: LeaseRow, leaseMs: number): Lease {
  return {
    leaseId: r.id,
    taskId: r.task_id,
    worker: r.worker,
    attempt: r.attempt,
    grantedAt: iso(r.granted_at),
    expiresAt: iso(r.expires_at),
    leaseSeconds: Math.round(leaseMs / 1000),
  }
}

export function toLeaseRecord (r: LeaseRow): LeaseRecord {
  return {
    leaseId: r.id,
    worker: r.worker,
    attempt: r.attempt,
    grantedAt: iso(r.granted_at),
    expiresAt: iso(r.expires_at),
    endedAt: isoOrNull(r.ended_at),
    endReason: r.end_reason,
  }
}

export interface ReportRow {
  lease_id: string
  worker: string
  attempt: number | null
  status: string
  summary: string
  deliverables: string
  context_score: number | null
  question: string | null
  details: string | null
  accepted: number
  rejection: string | null
  created_at: number
}

export function toReportRecord (r: ReportRow): ReportRecord {
  return {
    leaseId: r.lease_id,
    worker: r.worker,
    attempt: r.attempt,
    status: r.status,
    summary: r.summary,
    deliverables: JSON.parse(r.deliverables),
    contextScore: r.context_score,
    ...(r.question === null ? {} : { question: r.question }),
    ...(r.details === null ? {} : { details: JSON.parse(r.details) }),
    accepted: r.accepted === 1,
    rejection: r.rejection,
    reportedAt: iso(r.created_at),
  }
}

export interface EventRow {
  seq: number
  type: EventType
  project: string | null
  task_id: string | null
  worker: string | null
  data: string
  at: number
}

export function toEvent (r: EventRow): Event {
  return { seq: r.seq, type: r.type, at: iso(r.at), project: r.project, taskId: r.task_id, worker: r.worker, data: JSON.parse(r.data) }
}
