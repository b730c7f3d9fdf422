/** Progress at a glance, and the health probe (the process runs and its store can take writes). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { commonErrors, described, ProjectName } from '../src/schemas/common.js'
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
      querystring: Type.Object({ project: Type.Optional(ProjectName) }, { additionalProperties: false }),
      response: { 200: described(Status, 'Progress of the project, or of all projects.'), ...commonErrors },
    },
  }, async (request) => app.lifecycle.status(request.query.project))

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
        }, { description: 'The server runs but its store cannot take writes (database file deleted or replaced, lock lost, unreadable).' }),
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
