/** The durable, ordered event feed, long-polled by the coordinator. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { disconnectSignal, waitMs } from '../src/long-poll.js'
import { commonErrors, described } from '../src/schemas/common.js'
import { EventPage, EventsQuery } from '../src/schemas/events.js'

const events: FastifyPluginAsyncTypebox = async (app) => {
  // Fastify's automatic HEAD route would run the GET handler and park a long poll for a bodiless answer: 405.
  app.head('/events', { schema: { hide: true } }, async (_request, reply) => reply.code(405).header('allow', 'GET').send())
  app.get('/events', {
    exposeHeadRoute: false,
    schema: {
      tags: ['observe'],
      operationId: 'listEvents',
      summary: 'Events after a sequence number; waits up to `wait` seconds for the next one',
      description: 'Events are stored with the change that caused them and never renumbered, so `after=<last seq you saw>` resumes exactly, ' +
        'also after a server restart. With `project`, you get that project\'s events plus worker events. ' +
        'Always 200; an empty list means nothing new within the wait.',
      querystring: EventsQuery,
      response: { 200: described(EventPage, 'Events after `after`, oldest first; empty when nothing came within the wait.'), ...commonErrors },
    },
  }, async (request, reply) => {
    const q = request.query
    return app.lifecycle.events(q.after ?? 0, q.project, q.limit ?? 200, waitMs(app.config, q.wait ?? 0), disconnectSignal(reply))
  })
}

export default events
