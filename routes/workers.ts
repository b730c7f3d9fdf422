/** Workers as the server sees them. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { commonErrors, described, PageQuery } from '../src/schemas/common.js'
import { Worker } from '../src/schemas/workers.js'

const workers: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/workers', {
    schema: {
      tags: ['observe'],
      operationId: 'listWorkers',
      summary: 'Workers: state (working / waiting / idle / offline), current task, lease time left, last seen, tasks completed',
      description: 'A worker registers with its first request. It is working while it holds a live lease, however long since its last ' +
        'request (heartbeats come every leaseSeconds/2); waiting inside a long poll; offline only when it holds no live lease, is not in a ' +
        'long poll and has made no request for COORD_OFFLINE_SECONDS. lostTask names a task whose lease lapsed without a heartbeat.',
      querystring: Type.Object(PageQuery, { additionalProperties: false }),
      response: {
        200: described(Type.Object({
          workers: Type.Array(Worker),
          nextAfter: Type.Union([Type.Integer(), Type.Null()], { description: 'Cursor for the next page (pass as `after`); null on the last page.' }),
        }), 'A page of workers, in order of first request.'),
        ...commonErrors,
      },
    },
  }, async (request) => app.lifecycle.listWorkers({ after: request.query.after, limit: request.query.limit ?? 100 }))
}

export default workers
