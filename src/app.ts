/**
 * Builds the application: plugins and routes, no process concerns (those are in `server.ts`). Tests
 * build exactly this, with the same Fastify options as production.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import { fastifyOptions } from './fastify-options.js'
import { ErrorBody } from './schemas/common.js'
import { eventSchemas } from './schemas/events.js'
import errors from './plugins/errors.js'
import jsonBody from './plugins/json-body.js'
import security from './plugins/security.js'
import openapi from './plugins/openapi.js'
import lifecycle from './plugins/lifecycle.js'
import type { Store } from './store/store.js'
import taskRoutes from '../routes/tasks.js'
import workLoopRoutes from '../routes/work-loop.js'
import projectRoutes from '../routes/projects.js'
import workerRoutes from '../routes/workers.js'
import eventRoutes from '../routes/events.js'
import statusRoutes from '../routes/status.js'
import rootRoutes from '../routes/root.js'
import workflowRoutes from '../routes/workflow.js'
import questionRoutes from '../routes/questions.js'

/** Options for `buildApp`. */
export interface BuildOptions {
  /** Logger options passed to Fastify; default none. */
  logger?: FastifyServerOptions['logger']
  /** A store to use instead of opening `config.COORD_DB`. */
  store?: Store
}

/** Build a ready-to-listen app. The caller owns `listen` and `close`. */
export async function buildApp (config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions(config, opts.logger ?? false)).withTypeProvider<TypeBoxTypeProvider>()
  app.addSchema(ErrorBody)
  // Per event type, its payload (`EventData.<type>`) and its event (`Event.<type>`): components of the OpenAPI document.
  for (const schema of eventSchemas()) app.addSchema(schema)
  await app.register(errors)
  await app.register(jsonBody)
  await app.register(security, { allowedHosts: config.COORD_ALLOWED_HOSTS.split(',') })
  await app.register(openapi)
  await app.register(lifecycle, { config, ...(opts.store === undefined ? {} : { store: opts.store }) })
  await app.register(taskRoutes)
  await app.register(workLoopRoutes)
  await app.register(workflowRoutes)
  await app.register(questionRoutes)
  await app.register(projectRoutes)
  await app.register(workerRoutes)
  await app.register(eventRoutes)
  await app.register(statusRoutes)
  await app.register(rootRoutes)
  await app.ready()
  return app
}
