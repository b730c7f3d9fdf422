/**
 * The OpenAPI document (from the route schemas) at `/openapi.json` and Swagger UI at `/docs`, with the
 * UI's assets served from the package, so it works offline.
 */
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../paths.js'

const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }

/** Tags shown as sections in Swagger UI. */
export const TAGS = [
  { name: 'coordinator', description: 'Post tasks, follow progress, close projects, cancel tasks.' },
  { name: 'worker', description: 'The worker loop: next → heartbeat → report (→ next).' },
  { name: 'observe', description: 'Status, workers, events and health, for the coordinator and the engineer.' },
  { name: 'engineer', description: 'The human in the loop: the escalation queue, answers, and the project\'s metrics.' },
]

async function openapi (app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'coordination-server',
        version: pkg.version,
        description: 'Lets several AI coding-assistant chats work one project: a coordinator posts tasks, workers long-poll ' +
          '`GET /tasks/next`, heartbeat and report. Every error answer is `{ code, message, details? }`.',
      },
      tags: TAGS,
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', tryItOutEnabled: true } })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

/** Registers @fastify/swagger, Swagger UI at /docs and /openapi.json. */
export default fp(openapi, { name: 'openapi', fastify: '5.x' })
