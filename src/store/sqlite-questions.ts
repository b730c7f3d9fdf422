/**
 * SQLite statements for the coordinator's questions to the engineer, workers' notices and task
 * amendments (migration 006). Persistence only: the lifecycle decides who may ask, answer or amend.
 * Reads are total, as in `sqlite-rows.ts`: unreadable stored JSON reads as empty.
 */
import { Compile } from 'typebox/compile'
import type { TaskState } from '../schemas/common.js'
import { Notice as NoticeSchema, type Notice } from '../schemas/tasks.js'
import type { Question } from '../schemas/workflow.js'
import { iso } from './sqlite-rows.js'
import type { Statements } from './sqlite-statements.js'
import type { TaskAmendment } from './store.js'

interface QuestionRow {
  seq: number
  project: string
  task_id: string | null
  message: string
  asked_by: string | null
  asked_at: number
  answer: string | null
  answered_by: string | null
  answered_at: number | null
}

const QUESTION_SELECT = 'SELECT seq, project, task_id, message, asked_by, asked_at, answer, answered_by, answered_at FROM questions'

/** `question-<n>` to n, or null for any other text. */
function seqOf (id: string): number | null {
  const m = /^question-(\d{1,15})$/.exec(id)
  return m === null ? null : Number(m[1])
}

function toQuestion (r: QuestionRow): Question {
  return {
    id: `question-${r.seq}`,
    project: r.project,
    taskId: r.task_id,
    message: r.message,
    by: r.asked_by,
    askedAt: iso(r.asked_at),
    answer: r.answer,
    answeredBy: r.answered_by,
    answeredAt: r.answered_at === null ? null : iso(r.answered_at),
  }
}

/** The question `id`, or null. */
export function readQuestion (sql: Statements, id: string): Question | null {
  const seq = seqOf(id)
  if (seq === null) return null
  const r = sql(`${QUESTION_SELECT} WHERE seq = ?`).get(seq) as QuestionRow | undefined
  return r === undefined ? null : toQuestion(r)
}

/** Open questions, oldest first (served by the partial index `questions_open`). */
export function readOpenQuestions (sql: Statements, project: string | undefined, limit: number): Question[] {
  const rows = project === undefined
    ? sql(`${QUESTION_SELECT} WHERE answered_at IS NULL ORDER BY seq LIMIT ?`).all(limit)
    : sql(`${QUESTION_SELECT} WHERE project = ? AND answered_at IS NULL ORDER BY seq LIMIT ?`).all(project, limit)
  return (rows as QuestionRow[]).map(toQuestion)
}

/** Insert a question; its id comes from the row's key (max + 1: never reused, questions are never deleted). */
export function insertQuestion (sql: Statements, q: { project: string, taskId: string | null, message: string, by: string | null, at: number }): string {
  const r = sql('INSERT INTO questions (project, task_id, message, asked_by, asked_at) VALUES (?, ?, ?, ?, ?)')
    .run(q.project, q.taskId, q.message, q.by, q.at)
  return `question-${Number(r.lastInsertRowid)}`
}

/** Answer an open question; false when it is answered already or unknown. */
export function answerQuestion (sql: Statements, id: string, a: { message: string, by: string | null, at: number }): boolean {
  const seq = seqOf(id)
  if (seq === null) return false
  return sql('UPDATE questions SET answer = ?, answered_by = ?, answered_at = ? WHERE seq = ? AND answered_at IS NULL')
    .run(a.message, a.by, a.at, seq).changes === 1
}

const isNotice = ((c) => (v: unknown) => c.Check(v))(Compile(NoticeSchema))

/** Append a notice to the worker's list. */
export function addNotice (sql: Statements, worker: string, n: Notice): void {
  sql(`UPDATE workers SET notices = json_insert(CASE WHEN json_valid(notices) AND json_type(notices) = 'array' THEN notices ELSE '[]' END,
    '$[#]', json(?)) WHERE id = ?`).run(JSON.stringify(n), worker)
}

/** The worker's notices, emptied; a worker with none costs one read. */
export function takeNotices (sql: Statements, worker: string): Notice[] {
  const r = sql('SELECT notices FROM workers WHERE id = ?').get(worker) as { notices: string } | undefined
  if (r === undefined || r.notices === '[]') return []
  sql("UPDATE workers SET notices = '[]' WHERE id = ?").run(worker)
  try {
    const v: unknown = JSON.parse(r.notices)
    return Array.isArray(v) ? v.filter(isNotice) as Notice[] : []
  } catch {
    return []
  }
}

/** Columns of an amendment and how each is stored. */
const AMEND_COLUMNS: Array<[keyof TaskAmendment, string, boolean]> = [
  ['description', 'description', false], ['acceptance', 'acceptance', true], ['checks', 'checks', true],
  ['priority', 'priority', false], ['context', 'context', true],
]

/** Write an amendment while the task is in `expected`; false (nothing written) when it is not. */
export function amendTask (sql: Statements, id: string, expected: TaskState, f: TaskAmendment, now: number): boolean {
  const sets = ['updated_at = @now']
  const values: Record<string, unknown> = { id, expected, now }
  for (const [field, col, isJson] of AMEND_COLUMNS) {
    if (f[field] === undefined) continue
    sets.push(`${col} = @${field}`)
    values[field] = isJson ? JSON.stringify(f[field]) : f[field]
  }
  return sql(`UPDATE tasks SET ${sets.join(', ')} WHERE id = @id AND state = @expected`).run(values).changes === 1
}
