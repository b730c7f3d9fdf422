/**
 * The OpenAPI document (from the route schemas) at `/openapi.json` and Swagger UI at `/docs`, with the
 * UI's assets served from the package, so it works offline.
 */
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, RouteOptions } from 'fastify'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../paths.js'
import { eventUnion } from '../schemas/events.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's body may be left out (the route fills in `{}` itself): documented as a request body
     * that is not required. @fastify/swagger marks every declared body required.
     */
    optionalBody?: boolean
  }
}

const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string, license: string }

/** Tags shown as sections in Swagger UI. */
export const TAGS = [
  { name: 'coordinator', description: 'Post tasks, follow progress, close projects, cancel tasks.' },
  { name: 'worker', description: 'The worker loop: next → heartbeat → report (→ next).' },
  { name: 'observe', description: 'Status, workers, events and health, for the coordinator and the engineer.' },
  { name: 'engineer', description: 'The human in the loop: the escalation queue, answers, and the project\'s metrics.' },
]

type Operation = { requestBody?: { required?: boolean }, responses?: Record<string, { content?: Record<string, { examples?: unknown }> }> }
type Doc = { paths?: Record<string, Record<string, Operation> | undefined>, components?: { schemas?: object } }

/** What the route options say that the generated document misses, by operation (`METHOD /path/{param}`). */
interface RouteNotes {
  /** Operations whose body may be left out. */
  optionalBodies: Set<string>
  /** Example answers of a response whose schema is a `$ref` plus `x-examples` (see `errorExamples`), by status. */
  refExamples: Map<string, Record<string, unknown>>
}

/**
 * Changes to the generated document that the route schemas cannot say: the event union (see
 * `eventUnion`), request bodies a route accepts absent, and examples of `$ref` responses (@fastify/swagger
 * drops every keyword beside a `$ref`).
 */
function finishDocument (doc: Doc, notes: RouteNotes): void {
  const schemas = doc.components?.schemas as Record<string, unknown> | undefined
  if (schemas !== undefined) schemas.Event = eventUnion((name) => `#/components/schemas/${name}`)
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item ?? {})) {
      const key = `${method.toUpperCase()} ${path}`
      if (op.requestBody !== undefined && notes.optionalBodies.has(key)) op.requestBody.required = false
      for (const [status, examples] of Object.entries(notes.refExamples.get(key) ?? {})) {
        for (const media of Object.values(op.responses?.[status]?.content ?? {})) media.examples = examples
      }
    }
  }
}

/** Record what `finishDocument` needs from a route's options. */
function noteRoute (notes: RouteNotes, route: RouteOptions): void {
  // The document writes path parameters as `{id}`, the router as `:id`.
  const key = `${String(route.method)} ${route.url.replace(/:(\w+)/g, '{$1}')}`
  if (route.config?.optionalBody === true) notes.optionalBodies.add(key)
  const responses = (route.schema?.response ?? {}) as Record<string, { 'x-examples'?: unknown }>
  const examples = Object.entries(responses).flatMap(([status, schema]) => (schema['x-examples'] === undefined ? [] : [[status, schema['x-examples']]]))
  if (examples.length > 0) notes.refExamples.set(key, Object.fromEntries(examples))
}

async function openapi (app: FastifyInstance): Promise<void> {
  const notes: RouteNotes = { optionalBodies: new Set(), refExamples: new Map() }
  app.addHook('onRoute', (route) => noteRoute(notes, route))
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'coordination-server',
        version: pkg.version,
        license: { name: pkg.license, identifier: pkg.license },
        contact: { name: 'The engineer who runs this server' },
        description: 'Lets several AI coding-assistant chats work one project: a coordinator posts tasks, workers long-poll ' +
          '`GET /tasks/next`, heartbeat and report. Every error answer is `{ code, message, details? }`.\n\n' +
          'No authentication: the server listens on loopback and refuses requests whose Host is not a loopback name (or an ' +
          'allowed host) and requests from web pages on other origins (403). Tokens come when the server is shared beyond one machine.',
      },
      servers: [
        { url: '/', description: 'The server that serves this document.' },
        { url: 'http://127.0.0.1:3100', description: 'The default address of `coord serve`.' },
      ],
      // Explicitly none (see the description); the linters' "security defined" rules read this as a decision.
      security: [],
      tags: TAGS,
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transformObject: (document) => {
      const doc = 'openapiObject' in document ? document.openapiObject : document.swaggerObject
      finishDocument(doc as Doc, notes)
      return doc
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', tryItOutEnabled: true } })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

/** Registers @fastify/swagger, Swagger UI at /docs and /openapi.json. */
export default fp(openapi, { name: 'openapi', fastify: '5.x' })
