/** Progress at a glance, and the health probe (the process runs and its store can take writes). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { CoordError } from '../src/errors.js'
import { commonErrors, described, errorExamples, ProjectFilter } from '../src/schemas/common.js'
import { Status } from '../src/schemas/workers.js'
import { startHints } from '../src/start-hints.js'

const StoreHealthBody = Type.Object({
  ok: Type.Boolean({ description: 'Whether the store can take writes now.' }),
  message: Type.String({ description: '`ok`, or what is wrong with the store.', examples: ['ok'] }),
}, { description: 'The store behind the API.' })
const Uptime = Type.Number({ description: 'Seconds since the server process started.' })
const WorkerCommand = Type.String({
  description: 'A worker chat\'s first command for this server (put your id in place of `<worker-id>`); `GET /` has more.',
  examples: ['/home/me/coordination-server/coord next --worker <worker-id> --url http://127.0.0.1:3100 --wait 540'],
})

const status: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/status', {
    schema: {
      tags: ['observe'],
      operationId: 'getStatus',
      summary: 'Counts by state, queue size, active leases, workers, and whether the project is done',
      description: 'Without `project`: every project together (zeros on a new server). With `project`: that project alone, ' +
        '404 PROJECT_NOT_FOUND when it has no task and was never closed (a mistyped name, not an empty project).',
      querystring: Type.Object({ project: Type.Optional(ProjectFilter) }, { additionalProperties: false }),
      response: {
        200: described(Status, 'Progress of the project, or of all projects.'),
        404: errorExamples('No project of that name: no task was posted to it and it was never closed.', ['PROJECT_NOT_FOUND']),
        ...commonErrors,
      },
    },
  }, async (request) => {
    const { project } = request.query
    const status = await app.lifecycle.status(project)
    // A project exists once a task was posted to it or it was closed (GET /projects lists the same).
    if (project !== undefined && status.projects.length === 0) {
      throw new CoordError('PROJECT_NOT_FOUND', `No project is named ${project}. List projects with GET /projects.`, { project })
    }
    return status
  })

  app.get('/health', {
    schema: {
      tags: ['observe'],
      operationId: 'health',
      summary: 'Health: 200 while the server runs and its store can take writes, 503 when it cannot',
      description: 'A 503 answer is shaped like every error (`code`, `message`) and also says what is wrong with the store. ' +
        'It does not try a write: a full disk shows up as 503 on the write that needs the space.',
      response: {
        ...commonErrors,
        200: Type.Object({ status: Type.Literal('ok'), store: StoreHealthBody, uptimeSeconds: Uptime, workerCommand: WorkerCommand }, {
          description: 'The server is up and its store can take writes.',
        }),
        503: Type.Object({
          code: Type.String({ description: 'STORAGE_UNAVAILABLE, or SERVER_CLOSING while the server shuts down.', examples: ['STORAGE_UNAVAILABLE'] }),
          message: Type.String({ description: 'What is wrong and what to do.' }),
          status: Type.Optional(Type.Literal('unhealthy')),
          store: Type.Optional(StoreHealthBody),
          uptimeSeconds: Type.Optional(Uptime),
        }, {
          description: 'The server runs but its store cannot take writes (database file deleted or replaced, lock lost, unreadable).',
          examples: [{
            code: 'STORAGE_UNAVAILABLE',
            message: 'the database file /home/me/coord.db is gone (ENOENT): it was deleted or moved while the server ran.',
            status: 'unhealthy',
            store: { ok: false, message: 'the database file /home/me/coord.db is gone (ENOENT): it was deleted or moved while the server ran.' },
            uptimeSeconds: 3600,
          }],
        }),
      },
    },
  }, async (request, reply) => {
    const store = await app.lifecycle.health()
    const uptimeSeconds = Math.round(process.uptime())
    if (store.ok) return { status: 'ok' as const, store, uptimeSeconds, workerCommand: startHints(`${request.protocol}://${request.host}`).worker.command }
    return reply.code(503).send({ code: 'STORAGE_UNAVAILABLE' as const, message: store.message, status: 'unhealthy' as const, store, uptimeSeconds })
  })
}

export default status
