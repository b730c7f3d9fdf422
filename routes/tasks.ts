/** Coordinator routes on tasks: post a batch, list, read one with its history, cancel. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { CoordError } from '../src/errors.js'
import { commonErrors, described, errorExamples, TaskId } from '../src/schemas/common.js'
import { CreateTasksBody, CreateTasksResult, ListTasksQuery, Task, TaskDetail, TaskPage } from '../src/schemas/tasks.js'

const TaskParams = Type.Object({ id: TaskId })

const tasks: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/tasks', {
    schema: {
      tags: ['coordinator'],
      operationId: 'createTasks',
      summary: 'Post a batch of tasks (all or none)',
      description: 'Creates every task of the batch in one transaction. Re-posting an identical task is a no-op reported under `existing`; ' +
        'the same id with other content is 409 TASK_CONFLICT and nothing is created. `close: true` says no more tasks are coming for the project.',
      body: CreateTasksBody,
      response: {
        201: Type.Object(CreateTasksResult.properties, { description: 'At least one task was created.' }),
        200: Type.Object(CreateTasksResult.properties, { description: 'Every task already existed identically (idempotent repeat).' }),
        409: errorExamples('Nothing was created: a task id is taken by different content, or the project is done.', ['TASK_CONFLICT', 'PROJECT_CLOSED']),
        ...commonErrors,
      },
    },
  }, async (request, reply) => {
    const result = await app.lifecycle.createTasks(request.body)
    return reply.code(result.created.length > 0 ? 201 : 200).send(result)
  })

  app.get('/tasks', {
    schema: {
      tags: ['coordinator'],
      operationId: 'listTasks',
      summary: 'List tasks, oldest first, filtered and paginated',
      description: 'Every filter is optional; without any, every task of every project. A submitted task that is not offered now ' +
        'says why in `hold`. Pass `nextAfter` as `after` for the next page (null on the last).',
      querystring: ListTasksQuery,
      response: { 200: described(TaskPage, 'A page of tasks.'), ...commonErrors },
    },
  }, async (request) => {
    const q = request.query
    return app.lifecycle.listTasks({ project: q.project, state: q.state, worker: q.worker, type: q.type, after: q.after, limit: q.limit ?? 100 })
  })

  app.get('/tasks/:id', {
    schema: {
      tags: ['coordinator'],
      operationId: 'getTask',
      summary: 'One task with its history: leases, reports (refused ones too) and events',
      description: 'Each history list holds at most `limit` entries (default 100), oldest first.',
      params: TaskParams,
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Most entries per history list (1..1000).' })),
      }, { additionalProperties: false }),
      response: {
        200: described(TaskDetail, 'The task and its history.'),
        404: errorExamples('No task has this id.', { TASK_NOT_FOUND: 'No task has id task-042. List tasks with GET /tasks.' }),
        ...commonErrors,
      },
    },
  }, async (request) => {
    const history = await app.lifecycle.getTask(request.params.id, request.query.limit ?? 100)
    if (history === null) throw new CoordError('TASK_NOT_FOUND', `No task has id ${request.params.id}. List tasks with GET /tasks.`)
    return history
  })

  app.post('/tasks/:id/cancel', {
    schema: {
      tags: ['coordinator'],
      operationId: 'cancelTask',
      summary: 'Cancel an unfinished task',
      description: 'The task becomes `canceled`; a worker holding it gets 409 TASK_CANCELED on its next heartbeat or report. Canceling twice is a no-op.',
      params: TaskParams,
      body: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 2000 })) }, {
        additionalProperties: false,
        description: 'Optional; an empty body is fine.',
        examples: [{ reason: 'superseded by task-010' }],
      }),
      response: {
        200: described(Task, 'The task, now canceled.'),
        404: errorExamples('No task has this id.', { TASK_NOT_FOUND: 'No task has id task-042. List tasks with GET /tasks.' }),
        409: errorExamples('The task already finished (completed or failed): nothing to cancel.', ['TASK_FINISHED']),
        ...commonErrors,
      },
    },
    // The body is optional: `curl -X POST .../cancel` with none is a plain cancel.
    config: { optionalBody: true },
    preValidation: async (request) => { request.body ??= {} },
  }, async (request) => app.lifecycle.cancel(request.params.id, request.body.reason))
}

export default tasks
