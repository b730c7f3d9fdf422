/**
 * Row shapes of the SQLite schema and their mapping to API objects. Times: epoch ms in, ISO out.
 *
 * Reads are total: a stored value that today's rules would reject (written by another version, a
 * migration or a hand edit) never makes a read, a claim or the event feed fail. The rule, per kind:
 * - integer columns of a task (`TASK_INTEGERS`): a non-integer (NULL, text, a real such as Infinity)
 *   reads as the column's default; an integer out of range is clamped into it. Applied in SQL by
 *   `TASK_SELECT`, so the store's writes (a claim's `now + lease_ms`) see the same values;
 * - other integers (attempt, context score): a non-integer reads as the fallback given below;
 * - times: a value that is not a finite epoch ms within the Date range reads as
 *   1970-01-01T00:00:00.000Z, or null where the field may be null;
 * - JSON columns: text that does not parse, or parses to the wrong shape, reads as the empty value
 *   (`{}`, `[]`, no files) and a report result as null; arrays of strings drop non-string items;
 * - a task state this version does not know reads as `input-required` (needs a human; never claimed);
 * - text columns holding another type read as its string form; an unknown event type is passed
 *   through unchanged (feed readers skip types they do not know; skipping the event here would
 *   stall `after` cursors).
 */
import { Compile } from 'typebox/compile'
import { Type, type TSchema } from 'typebox'
import type { Event, EventType } from '../schemas/events.js'
import {
  Attention as AttentionSchema, TaskNote as TaskNoteSchema, TaskResult as TaskResultSchema,
  type Attention, type Lease, type LeaseRecord, type ReportRecord, type Task, type TaskNote, type TaskResult,
} from '../schemas/tasks.js'
import { Check as CheckSchema, CheckResult as CheckResultSchema, type Check, type CheckResult } from '../schemas/checks.js'
import { TASK_STATES, type TaskState } from '../schemas/common.js'
import type { LeaseEnd } from '../lifecycle/rules.js'

/** Largest |epoch ms| a Date can hold (ECMA-262 §21.4.1.1). */
const MAX_DATE_MS = 8.64e15

/** Epoch ms to ISO 8601; a value that is no valid time reads as the epoch (see the rule above). */
export const iso = (ms: number): string => new Date(typeof ms === 'number' && Math.abs(ms) <= MAX_DATE_MS ? ms : 0).toISOString()
const isoOrNull = (ms: number | null): string | null => (typeof ms === 'number' && Math.abs(ms) <= MAX_DATE_MS ? iso(ms) : null)

/** `v` if it is a safe integer, else `fallback`. */
const int = (v: unknown, fallback: number): number => (Number.isSafeInteger(v) ? v as number : fallback)
const intOrNull = (v: unknown): number | null => (Number.isSafeInteger(v) ? v as number : null)
/** Text columns: the string, or the string form of whatever else is stored. */
const str = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v))
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : str(v))

/** Parse JSON text and check it against `schema`; anything else is `fallback`. */
function json<T> (check: (v: unknown) => boolean, text: unknown, fallback: T): T {
  if (typeof text !== 'string') return fallback
  try {
    const value: unknown = JSON.parse(text)
    return check(value) ? value as T : fallback
  } catch {
    return fallback
  }
}
const checker = (schema: TSchema): ((v: unknown) => boolean) => {
  const compiled = Compile(schema)
  return (v) => compiled.Check(v)
}
const isObject = checker(Type.Record(Type.String(), Type.Unknown()))
const isTaskResult = checker(TaskResultSchema)
const isAttention = checker(AttentionSchema)
/** A task's `attention` column, or null when it is absent or not a valid Attention. */
export const attentionOf = (text: unknown): Attention | null => json<Attention | null>(isAttention, text, null)
const itemsOf = <T>(schema: TSchema) => {
  const check = checker(schema)
  return (text: unknown): T[] => {
    const v = json<unknown>(() => true, text, [])
    return Array.isArray(v) ? v.filter((x) => check(x)) as T[] : []
  }
}
/** A task's `checks` column: the valid checks of the stored JSON array. */
export const checksOf = itemsOf<Check>(CheckSchema)
/** A task's `notes` column: the valid notes of the stored JSON array (anything else is left out). */
export const notesOf = itemsOf<TaskNote>(TaskNoteSchema)
const checkResultsOf = itemsOf<CheckResult>(CheckResultSchema)
/** The strings of an array; anything else is `[]`. */
const stringItems = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [])
/** A JSON array-of-strings column (dependsOn, deliverables): its strings; anything else is `[]`. */
export const strings = (text: unknown): string[] => stringItems(json<unknown>(() => true, text, []))
/** A task's `files` column: its read and write lists (strings only). */
export const files = (text: unknown): Task['files'] => {
  const f = json<Record<string, unknown>>(isObject, text, {})
  return { read: stringItems(f.read), write: stringItems(f.write) }
}

/**
 * Integer columns of `tasks`: [minimum, maximum, default]. The ranges are the API's (TaskInput and
 * the server config); the defaults are ConfigSchema's defaults (120 s lease, 3 attempts).
 */
export const TASK_INTEGERS = {
  priority: [-1000, 1000, 0],
  lease_ms: [1000, 86_400_000, 120_000],
  max_attempts: [1, 100, 3],
  attempts: [0, 1_000_000, 0],
} as const

/** SQL for a task integer column made total (see the rule above), aliased to its own name. */
export const sqlInt = (col: keyof typeof TASK_INTEGERS): string => {
  const [min, max, fallback] = TASK_INTEGERS[col]
  return `CASE WHEN typeof(t.${col}) = 'integer' THEN max(${min}, min(t.${col}, ${max})) ELSE ${fallback} END AS ${col}`
}

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
  depends_on: string
  checks: string
  review: number
  workspace: string | null
  notes: string
  attention: string | null
  check_rejections: number
  available_at: number
  reserved_for: string | null
  /** From the join with the live lease. */
  live_worker: string | null
  live_expires_at: number | null
}

/** Select tasks joined with their live lease, integer columns made total; append WHERE/ORDER as needed. */
export const TASK_SELECT = `SELECT t.seq, t.id, t.project, t.type, t.description, t.context, t.acceptance, t.files,
  ${sqlInt('priority')}, ${sqlInt('lease_ms')}, ${sqlInt('max_attempts')}, ${sqlInt('attempts')},
  t.input, t.spec_hash, t.state, t.lease_id, t.result, t.created_at, t.updated_at, t.finished_at,
  t.depends_on, t.checks, t.review, t.workspace, t.notes, t.attention, t.check_rejections, t.available_at, t.reserved_for,
  l.worker AS live_worker, l.expires_at AS live_expires_at
  FROM tasks t LEFT JOIN leases l ON l.id = t.lease_id AND l.ended_at IS NULL`

/** A task integer column's value under the rule above (for rows that did not come through TASK_SELECT). */
function taskInt (col: keyof typeof TASK_INTEGERS, v: unknown): number {
  const [min, max, fallback] = TASK_INTEGERS[col]
  return Number.isSafeInteger(v) ? Math.max(min, Math.min(v as number, max)) : fallback
}

const KNOWN_STATES: ReadonlySet<string> = new Set(TASK_STATES)

/** A task row as the API shows it; never throws (see the rule at the top). */
export function toTask (r: TaskRow): Task {
  return {
    id: str(r.id),
    project: str(r.project),
    type: str(r.type),
    description: str(r.description),
    context: json(isObject, r.context, {}),
    acceptance: strings(r.acceptance),
    files: files(r.files),
    priority: taskInt('priority', r.priority),
    leaseSeconds: Math.round(taskInt('lease_ms', r.lease_ms) / 1000),
    maxAttempts: taskInt('max_attempts', r.max_attempts),
    state: KNOWN_STATES.has(r.state) ? r.state : 'input-required',
    attempts: taskInt('attempts', r.attempts),
    worker: strOrNull(r.live_worker),
    leaseExpiresAt: isoOrNull(r.live_expires_at),
    result: json<TaskResult | null>(isTaskResult, r.result, null),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    finishedAt: isoOrNull(r.finished_at),
    dependsOn: strings(r.depends_on),
    checks: checksOf(r.checks),
    review: r.review === 1,
    workspace: strOrNull(r.workspace),
    notes: notesOf(r.notes),
    attention: attentionOf(r.attention),
    checkRejections: Math.max(0, int(r.check_rejections, 0)),
    availableAt: Number.isSafeInteger(r.available_at) && r.available_at > 0 ? iso(r.available_at) : null,
    reservedFor: strOrNull(r.reserved_for),
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

/** A lease as the API shows it; `leaseMs` is the task's lease length in ms. Never throws. */
export function toLease (r: LeaseRow, leaseMs: number): Lease {
  return {
    leaseId: str(r.id),
    taskId: str(r.task_id),
    worker: str(r.worker),
    attempt: Math.max(1, int(r.attempt, 1)),
    grantedAt: iso(r.granted_at),
    expiresAt: iso(r.expires_at),
    leaseSeconds: Math.round(taskInt('lease_ms', leaseMs) / 1000),
  }
}

/** One lease of a task's history. Never throws. */
export function toLeaseRecord (r: LeaseRow): LeaseRecord {
  return {
    leaseId: str(r.id),
    worker: str(r.worker),
    attempt: int(r.attempt, 1),
    grantedAt: iso(r.granted_at),
    expiresAt: iso(r.expires_at),
    endedAt: isoOrNull(r.ended_at),
    endReason: strOrNull(r.end_reason),
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
  checks: string | null
  created_at: number
}

/** One report of a task's history, accepted or not. Never throws. */
export function toReportRecord (r: ReportRow): ReportRecord {
  const details = r.details === null ? undefined : json<Record<string, unknown> | undefined>(isObject, r.details, {})
  return {
    leaseId: str(r.lease_id),
    worker: str(r.worker),
    attempt: intOrNull(r.attempt),
    status: str(r.status),
    summary: str(r.summary),
    deliverables: strings(r.deliverables),
    contextScore: intOrNull(r.context_score),
    ...(r.question === null || r.question === undefined ? {} : { question: str(r.question) }),
    ...(details === undefined ? {} : { details }),
    accepted: r.accepted === 1,
    rejection: strOrNull(r.rejection),
    ...(r.checks === null || r.checks === undefined ? {} : { checks: checkResultsOf(r.checks) }),
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

/** One event of the feed. Never throws; an unknown type is passed through (see the rule above). */
export function toEvent (r: EventRow): Event {
  return {
    seq: r.seq,
    type: str(r.type) as EventType,
    at: iso(r.at),
    project: strOrNull(r.project),
    taskId: strOrNull(r.task_id),
    worker: strOrNull(r.worker),
    data: json(isObject, r.data, {}),
  }
}
