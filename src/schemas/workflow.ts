/** Review, answers and the escalation queue: where the coordinator and the engineer act on tasks. */
import { Type, type Static } from 'typebox'
import { described, ProjectFilter, ProjectName, TaskId, TaskState, Timestamp, WorkerId } from './common.js'
import { TaskInput } from './tasks.js'

const By = Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Who decides or answers (a name, for the record).', examples: ['engineer'] }))

/** `POST /tasks/{id}/review` body. */
export const ReviewBody = Type.Object({
  decision: Type.Union([Type.Literal('accept'), Type.Literal('changes')], {
    description: 'accept = the task is completed; changes = back to the queue with `feedback`, offered first to the worker that did it.',
  }),
  feedback: Type.Optional(Type.String({ minLength: 1, maxLength: 20000, description: 'What to change (required with `changes`).' })),
  by: By,
}, {
  additionalProperties: false,
  examples: [{ decision: 'changes', feedback: 'The summary misses the install section; add two sentences on it.', by: 'coordinator' }, { decision: 'accept' }],
})
export type ReviewBody = Static<typeof ReviewBody>

/** `POST /tasks/{id}/answer` body. */
export const AnswerBody = Type.Object({
  message: Type.String({ minLength: 1, maxLength: 20000, description: 'The answer, appended to the task\'s `notes` for the worker to read.' }),
  by: By,
}, { additionalProperties: false, examples: [{ message: 'Use the v2 API; the v1 endpoints are gone.', by: 'engineer' }] })
export type AnswerBody = Static<typeof AnswerBody>

/** `PATCH /tasks/{id}` body: the fields of a task that may change after posting, each as `POST /tasks` takes it. */
export const AmendBody = Type.Object({
  description: Type.Optional(TaskInput.properties.description),
  acceptance: Type.Optional(TaskInput.properties.acceptance),
  checks: Type.Optional(TaskInput.properties.checks),
  priority: Type.Optional(TaskInput.properties.priority),
  context: Type.Optional(TaskInput.properties.context),
  by: By,
}, {
  additionalProperties: false,
  minProperties: 1,
  examples: [{ checks: [{ kind: 'lacks', path: 'package.json', pattern: '"posttest"' }], by: 'coordinator' }],
})
export type AmendBody = Static<typeof AmendBody>

/** Question ids are `question-<n>`, given by the server. */
export const QuestionId = Type.String({ pattern: '^question-[0-9]{1,15}$', description: 'Question id (given by the server).', examples: ['question-1'] })

/** `POST /questions` body: the coordinator asks the engineer something not tied to a worker's task. */
export const QuestionBody = Type.Object({
  message: Type.String({ minLength: 1, maxLength: 20000, description: 'The question, in words the engineer can answer.' }),
  project: Type.Optional(ProjectName),
  taskId: Type.Optional(described(TaskId, 'A task the question is about (it is not held or changed).')),
  by: By,
}, {
  additionalProperties: false,
  examples: [{ message: 'May I drop the `posttest` script from package.json?', project: 'docs-summaries', by: 'coordinator' }],
})
export type QuestionBody = Static<typeof QuestionBody>

/** A question to the engineer and, once given, its answer. */
export const Question = Type.Object({
  id: QuestionId,
  project: ProjectName,
  taskId: Type.Union([TaskId, Type.Null()]),
  message: Type.String(),
  by: Type.Union([Type.String(), Type.Null()]),
  askedAt: Timestamp,
  answer: Type.Union([Type.String(), Type.Null()], { description: 'The engineer\'s answer; null while open.' }),
  answeredBy: Type.Union([Type.String(), Type.Null()]),
  answeredAt: Type.Union([Timestamp, Type.Null()]),
})
export type Question = Static<typeof Question>

/** Kinds of escalation, each a reason a task needs a human. */
export const ESCALATION_KINDS = ['question', 'failed', 'checks', 'conflict', 'unclaimable'] as const

/** One item of the engineer's queue. */
export const Escalation = Type.Object({
  taskId: Type.Union([TaskId, Type.Null()], { description: 'The task; null for a coordinator\'s question (see `questionId`).' }),
  questionId: Type.Optional(described(QuestionId, 'A coordinator\'s question (kind question, not tied to a task).')),
  project: ProjectName,
  kind: Type.Enum(ESCALATION_KINDS, {
    description: 'question = a worker reported blocked with a question (or the coordinator asked one: `questionId`); ' +
      'failed = failed for good (attempts used up); checks = its checks ' +
      'failed too often; conflict = its deliverables collide with another task\'s declared writes; unclaimable = no connected worker polls ' +
      'for its type (or project) and it has waited longer than COORD_UNCLAIMABLE_SECONDS.',
  }),
  state: TaskState,
  type: Type.String(),
  message: Type.String({ description: 'What needs deciding, in words.' }),
  worker: Type.Union([WorkerId, Type.Null()], { description: 'The worker that asked or last worked on it.' }),
  since: Timestamp,
  attempts: Type.Integer(),
  action: Type.String({ description: 'What to do, e.g. `POST /tasks/task-7/answer` or `POST /tasks/task-7/cancel`.' }),
})
export type Escalation = Static<typeof Escalation>

/** `GET /escalations` answer. */
export const EscalationList = Type.Object({
  escalations: Type.Array(Escalation, { description: 'Oldest first.' }),
})
export type EscalationList = Static<typeof EscalationList>

/** `GET /escalations` query. */
export const EscalationsQuery = Type.Object({ project: Type.Optional(ProjectFilter) }, { additionalProperties: false })
export type EscalationsQuery = Static<typeof EscalationsQuery>
