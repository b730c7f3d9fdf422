/** Workers as the server sees them. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { commonErrors, described } from '../src/schemas/common.js'
import { Worker } from '../src/schemas/workers.js'

const workers: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/workers', {
    schema: {
      tags: ['observe'],
      operationId: 'listWorkers',
      summary: 'Workers: state (idle / working / offline), current task, last seen, tasks completed',
      description: 'A worker registers with its first request. It is offline after COORD_OFFLINE_SECONDS without a request (a worker inside a long poll is never offline).',
      response: { 200: described(Type.Object({ workers: Type.Array(Worker) }), 'Every worker ever seen, in order of first request.'), ...commonErrors },
    },
  }, async () => ({ workers: await app.lifecycle.listWorkers() }))
}

export default workers
