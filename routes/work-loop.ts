/**
 * The worker loop: `GET /tasks/next` (long poll), `POST /tasks/{id}/heartbeat`, `POST /tasks/{id}/report`
 * (optionally followed by the next long poll in the same call).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { disconnectSignal, waitMs } from '../src/long-poll.js'
import { outcomeWithFilterNote } from '../src/lifecycle/claim-answer.js'
import { commonErrors, described, errorExamples, TaskId } from '../src/schemas/common.js'
import { Assignment, HeartbeatBody, Lease, NextQuery, ReportBody, ReportQuery, ReportResult, type NextOutcome } from '../src/schemas/tasks.js'

const TaskParams = Type.Object({ id: TaskId })

/** The 409 answers of heartbeat and report. */
const notYours = errorExamples('The task is no longer yours: stop working on it and poll for the next one.', [
  'LEASE_SUPERSEDED', 'LEASE_ENDED', 'LEASE_NOT_YOURS', 'LEASE_UNKNOWN', 'TASK_CANCELED', 'TASK_FINISHED',
])

/** The 410 answer: the project is done, the worker may stop. */
const Finished = Type.Object({
  code: Type.Literal('PROJECT_FINISHED'),
  message: Type.String({ examples: ['All tasks done: the project is closed and every task is finished. You may stop.'] }),
}, { description: 'No more work will come: the project is closed and every task is finished. Stop polling.' })

/** Send a poll outcome as 200 (task) / 204 (nothing yet) / 410 (project finished). */
function sendOutcome (reply: FastifyReply, outcome: NextOutcome): FastifyReply {
  if (outcome.status === 'assigned') return reply.code(200).send(outcome.assignment)
  if (outcome.status === 'finished') return reply.code(410).send({ code: 'PROJECT_FINISHED', message: outcome.message })
  return reply.code(204).send()
}

const workLoop: FastifyPluginAsyncTypebox = async (app) => {
  // Fastify's automatic HEAD route runs the GET handler, so `curl -I` would claim a task: HEAD gets
  // 405 instead (without this route it would fall to HEAD /tasks/:id and a confusing 400).
  app.head('/tasks/next', { schema: { hide: true } }, async (_request, reply) => reply.code(405).header('allow', 'GET').send())
  app.get('/tasks/next', {
    exposeHeadRoute: false,
    schema: {
      tags: ['worker'],
      operationId: 'nextTask',
      summary: 'Get your task (long poll): 200 task + lease, 204 nothing yet, 410 project finished',
      description: 'Registers the worker on first use. If the worker already holds a live lease, that same task and lease come back ' +
        '(`resumed: true`), whatever `project` and `type` say (`note` then says the filter was not applied). ' +
        'Otherwise the best queued task is leased, or the request waits up to `wait` seconds and returns the moment one ' +
        'is posted or freed; longest-waiting worker first. 204 = poll again. 410 = the project is closed and all its tasks are finished: stop.',
      querystring: NextQuery,
      response: {
        200: described(Assignment, 'Your task and its lease. Keep leaseId: heartbeat and report need it.'),
        204: Type.Null({ description: 'No task within the wait. Poll again.' }),
        410: Finished,
        ...commonErrors,
      },
    },
  }, async (request, reply) => {
    const { worker, wait, project, type } = request.query
    const filter = { project, type }
    const outcome = await app.lifecycle.next(worker, filter, waitMs(app.config, wait), disconnectSignal(reply))
    return sendOutcome(reply, outcomeWithFilterNote(outcome, filter))
  })

  app.post('/tasks/:id/heartbeat', {
    schema: {
      tags: ['worker'],
      operationId: 'heartbeat',
      summary: 'Extend your lease by the task\'s lease length from now',
      description: 'Send one at least every leaseSeconds/2 while working. A lease that lapsed is revived if nobody else took the task. ' +
        '409 means the task is no longer yours (see `code`): stop working on it and poll for the next one.',
      params: TaskParams,
      body: HeartbeatBody,
      response: {
        200: described(Lease, 'The lease, extended.'),
        404: errorExamples('No task has this id.', { TASK_NOT_FOUND: 'No task has id task-042. List tasks with GET /tasks.' }),
        409: notYours,
        ...commonErrors,
      },
    },
  }, async (request) => app.lifecycle.heartbeat(request.params.id, request.body.worker, request.body.leaseId))

  app.post('/tasks/:id/report', {
    schema: {
      tags: ['worker'],
      operationId: 'reportTask',
      summary: 'Report completed / failed / blocked; with next=true also get your next task',
      description: '`completed` finishes the task; `failed` retries it until maxAttempts, then it is failed for good; `blocked` moves it to ' +
        '`input-required` (put your question in `question`). A task with `checks` is checked first: 422 CHECKS_FAILED lists what to fix. ' +
        'A task with `review` waits in review-required after it. Reporting the same status twice is a safe no-op (`duplicate: true`). ' +
        'A late report on a lease that was re-claimed is 409 LEASE_SUPERSEDED but is kept in the task history. ' +
        'With `next=true` the answer also carries `next`: the outcome of a long poll of `wait` seconds (assigned / empty / finished).',
      params: TaskParams,
      querystring: ReportQuery,
      headers: Type.Object({
        'idempotency-key': Type.Optional(Type.String({
          minLength: 1,
          maxLength: 200,
          description: 'Optional; one value per report you mean, the same on every retry of it. A retry that the checks refuse again ' +
            'answers the same 422 without counting as another rejection (IETF draft "The Idempotency-Key HTTP Header Field").',
        })),
      }),
      body: ReportBody,
      response: {
        200: described(ReportResult, 'Report accepted (or a duplicate of an accepted one); with next=true, your next task in `next`.'),
        404: errorExamples('No task has this id.', { TASK_NOT_FOUND: 'No task has id task-042. List tasks with GET /tasks.' }),
        409: notYours,
        422: errorExamples('CHECKS_FAILED: the output failed the task\'s checks. `message` lists each failure; `details.failed` has them ' +
          'as objects (a command check with the tail of its output), `details.checks` every check\'s outcome. ' +
          'Your lease is kept and extended: fix the output and report completed again (after COORD_MAX_CHECK_REJECTIONS the task ' +
          'goes to the engineer and `details.escalated` is true).', ['CHECKS_FAILED']),
        ...commonErrors,
      },
    },
  }, async (request, reply) => {
    const q = request.query
    const next = q.next === true
      ? { filter: { project: q.project, type: q.type }, waitMs: waitMs(app.config, q.wait), signal: disconnectSignal(reply) }
      : undefined
    const result = await app.lifecycle.report(request.params.id, request.body, next, request.headers['idempotency-key'])
    return next === undefined || result.next === undefined ? result : { ...result, next: outcomeWithFilterNote(result.next, next.filter) }
  })
}

export default workLoop
