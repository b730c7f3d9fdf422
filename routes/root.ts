/** `GET /`: where to start — the exact worker and coordinator commands for this server, the docs, the rules. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { commonErrors } from '../src/schemas/common.js'
import { startHints } from '../src/start-hints.js'

const Command = (description: string, example: string): ReturnType<typeof Type.String> => Type.String({ description, examples: [example] })

/** The `GET /` answer. */
export const StartHintsBody = Type.Object({
  url: Type.String({ description: 'This server\'s base URL, as the request reached it.', examples: ['http://127.0.0.1:3100'] }),
  docs: Type.String({ description: 'Swagger UI.', examples: ['http://127.0.0.1:3100/docs'] }),
  openapi: Type.String({ description: 'The OpenAPI 3.1 document.', examples: ['http://127.0.0.1:3100/openapi.json'] }),
  cli: Type.String({
    description: 'The `coord` CLI of this checkout by absolute path: runs from any folder, no install step.',
    examples: ['/home/me/coordination-server/coord'],
  }),
  worker: Type.Object({
    command: Command('A worker chat\'s first command (put your worker id in place of `<worker-id>`).',
      '/home/me/coordination-server/coord next --worker <worker-id> --url http://127.0.0.1:3100 --wait 540'),
    rules: Type.String({ description: 'The worker rules (absolute path).' }),
  }),
  coordinator: Type.Object({
    command: Command('A coordinator chat\'s first command.', '/home/me/coordination-server/coord status --url http://127.0.0.1:3100'),
    rules: Type.String({ description: 'The coordinator rules (absolute path).' }),
  }),
  curl: Type.String({ description: 'The whole work loop in plain curl (absolute path).' }),
}, { description: 'Where to start: commands, docs and rules for this server.' })

const root: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', {
    schema: {
      tags: ['observe'],
      operationId: 'startHere',
      summary: 'Start here: the exact worker and coordinator commands for this server, the docs and the rules',
      description: 'The commands name this server\'s own address and the checkout it runs from, so a chat can run them as given.',
      response: { 200: StartHintsBody, ...commonErrors },
    },
  }, async (request) => startHints(`${request.protocol}://${request.host}`))
}

export default root
