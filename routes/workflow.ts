/**
 * Workflow routes: the coordinator's review and amendments, the engineer's answers and escalation queue,
 * and a project's metrics.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { commonErrors, described, errorExamples, ProjectName, TaskId } from '../src/schemas/common.js'
import { Task } from '../src/schemas/tasks.js'
import { ProjectMetrics } from '../src/schemas/metrics.js'
import { AmendBody, AnswerBody, EscalationList, EscalationsQuery, ReviewBody } from '../src/schemas/workflow.js'

const TaskParams = Type.Object({ id: TaskId })

const workflow: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/tasks/:id/review', {
    schema: {
      tags: ['coordinator'],
      operationId: 'reviewTask',
      summary: 'Accept a task waiting for review, or send it back with feedback',
      description: 'Only for a task in `review-required` (posted with `review: true`, reported completed, checks passed). `accept` completes ' +
        'it (its dependents may start; the project may finish). `changes` queues it again with `feedback` appended to its `notes`, offered ' +
        'first to the worker that did it (for COORD_RESERVE_SECONDS) and counted as another attempt when claimed.',
      params: TaskParams,
      body: ReviewBody,
      response: {
        200: described(Task, 'The task after the decision.'),
        404: errorExamples('No task has this id.', { TASK_NOT_FOUND: 'No task has id task-042. List tasks with GET /tasks.' }),
        409: errorExamples('The task is not in review-required (not reviewed yet, or already decided).', ['NOT_IN_REVIEW']),
        ...commonErrors,
      },
    },
  }, async (request) => app.lifecycle.review(request.params.id, request.body))

  app.post('/tasks/:id/answer', {
    schema: {
      tags: ['engineer'],
      operationId: 'answerTask',
      summary: 'Answer a task that needs the engineer; it goes back to the queue',
      description: 'The answer is appended to the task\'s `notes` (the worker reads them with the task). A task in `input-required` ' +
        '(question, repeated check failures, conflict) or `failed` for good goes back to the queue, offered first to the worker that asked; ' +
        'a failed one gets one more attempt (reopening its project if it had finished) and its dependency-canceled dependents wait again. ' +
        'A submitted or working task just gets the ' +
        'note. Every answer counts as an engineer intervention in the metrics.',
      params: TaskParams,
      body: AnswerBody,
      response: {
        200: described(Task, 'The task after the answer.'),
        404: errorExamples('No task has this id.', { TASK_NOT_FOUND: 'No task has id task-042. List tasks with GET /tasks.' }),
        409: errorExamples('The task does not wait for an answer (completed, canceled, in review, or failed in a finished project).', ['NOTHING_TO_ANSWER']),
        ...commonErrors,
      },
    },
  }, async (request) => app.lifecycle.answer(request.params.id, request.body))

  app.patch('/tasks/:id', {
    schema: {
      tags: ['coordinator'],
      operationId: 'amendTask',
      summary: 'Change what a task asks for while no worker holds it',
      description: 'Replaces the given fields (description, acceptance, checks, priority, context), validated as in `POST /tasks`, for a ' +
        'task in `submitted`, `input-required` or `review-required`; a task event `task.amended` lists the fields. 409 TASK_BEING_WORKED ' +
        'while a worker holds it (amend after its report), 409 TASK_FINISHED once it ended. The task as first posted stays its identity: ' +
        're-posting that answers `existing`.',
      params: TaskParams,
      body: AmendBody,
      response: {
        200: described(Task, 'The task as amended.'),
        404: errorExamples('No task has this id.', ['TASK_NOT_FOUND']),
        409: errorExamples('A worker holds the task (amend after its report), or it has ended.', ['TASK_BEING_WORKED', 'TASK_FINISHED']),
        ...commonErrors,
      },
    },
  }, async (request) => app.lifecycle.amend(request.params.id, request.body))

  app.get('/escalations', {
    schema: {
      tags: ['engineer'],
      operationId: 'listEscalations',
      summary: 'Everything that needs a human, oldest first',
      description: 'Questions from blocked workers and from the coordinator (`POST /questions`), tasks failed for good, ' +
        'tasks whose checks failed too often, file conflicts, and ready ' +
        'tasks no connected worker polls for (after COORD_UNCLAIMABLE_SECONDS). Each item says what to do (`action`). An item leaves the ' +
        'queue when its task does (answered, canceled, taken), a question once answered.',
      querystring: EscalationsQuery,
      response: { 200: described(EscalationList, 'The queue.'), ...commonErrors },
    },
  }, async (request) => ({ escalations: await app.lifecycle.escalations(request.query.project) }))

  app.get('/projects/:project/metrics', {
    schema: {
      tags: ['engineer'],
      operationId: 'projectMetrics',
      summary: 'The project\'s metrics: automation rate, prompts per task, context scores, speedup, failure detection',
      description: 'Computed from the stored history on every call (nothing is sampled).',
      params: Type.Object({ project: ProjectName }),
      response: {
        200: described(ProjectMetrics, 'The metrics.'),
        404: errorExamples('No project of that name.', { PROJECT_NOT_FOUND: 'No project is named docs-summarys. List projects with GET /projects.' }),
        ...commonErrors,
      },
    },
  }, async (request) => app.lifecycle.metrics(request.params.project))
}

export default workflow
