/**
 * The coordinator's questions to the engineer: asked (`question.asked`), listed in the escalation queue
 * (kind `question`, no task lease), answered once (`question.answered`, which wakes the coordinator's
 * `coord wait`). Each change and its event in one transaction; the answer is a compare-and-set on the
 * question being open. Times are epoch ms.
 */
import { CoordError } from '../errors.js'
import type { AnswerBody, Question, QuestionBody } from '../schemas/workflow.js'
import type { StoreTx } from '../store/store.js'
import { event } from './events.js'
import { requireTask } from './operations.js'
import { DEFAULT_PROJECT } from './task-spec.js'

/**
 * `POST /questions`: store the question in the project (the given one, else the task's, else `default`).
 * @throws CoordError TASK_NOT_FOUND (the named task does not exist)
 */
export async function ask (tx: StoreTx, body: QuestionBody, now: number): Promise<Question> {
  const task = body.taskId === undefined ? null : await requireTask(tx, body.taskId)
  const project = body.project ?? task?.project ?? DEFAULT_PROJECT
  const by = body.by ?? null
  const id = await tx.insertQuestion({ project, taskId: task?.id ?? null, message: body.message, by, at: now })
  await tx.appendEvent(event('question.asked', now, { project, taskId: task?.id ?? null }, { questionId: id, message: body.message, by }))
  return await tx.question(id) as Question
}

/**
 * `POST /questions/{id}/answer`: the engineer's answer to an open question.
 * @throws CoordError QUESTION_NOT_FOUND, ALREADY_ANSWERED (details carry the answer given)
 */
export async function answerQuestion (tx: StoreTx, id: string, body: AnswerBody, now: number): Promise<Question> {
  const q = await tx.question(id)
  if (q === null) throw new CoordError('QUESTION_NOT_FOUND', `No question has id ${id}. List open ones with GET /escalations.`, { questionId: id })
  const by = body.by ?? null
  if (!(await tx.answerQuestion(id, { message: body.message, by, at: now }))) {
    throw new CoordError('ALREADY_ANSWERED', `Question ${id} was already answered${q.answeredBy === null ? '' : ` by ${q.answeredBy}`}: ` +
      'ask a new question to add to it.', { questionId: id, answer: q.answer, answeredAt: q.answeredAt })
  }
  await tx.appendEvent(event('question.answered', now, { project: q.project, taskId: q.taskId },
    { questionId: id, question: q.message, answer: body.message, by }))
  return await tx.question(id) as Question
}
