/** Progress at a glance, and the liveness probe. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { commonErrors, described, ProjectName } from '../src/schemas/common.js'
import { Status } from '../src/schemas/workers.js'

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
      summary: 'Liveness: 200 while the server runs',
      response: { 200: Type.Object({ status: Type.Literal('ok'), uptimeSeconds: Type.Number() }, { description: 'The server is up.' }), ...commonErrors },
    },
  }, async () => ({ status: 'ok' as const, uptimeSeconds: Math.round(process.uptime()) }))
}

export default status
