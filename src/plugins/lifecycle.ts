/**
 * Opens the store, starts the lifecycle and decorates the instance with `lifecycle` (the `TaskLifecycle`)
 * and `config`. Parked long polls are answered before the server waits for in-flight requests
 * (preClose); the store is closed last (onClose).
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { workflowSettings, type Config } from '../config.js'
import { TaskLifecycle } from '../lifecycle/task-lifecycle.js'
import type { Store } from '../store/store.js'
import { openSqliteStore } from '../store/sqlite-open.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The task lifecycle; routes call it and nothing else for state. */
    lifecycle: TaskLifecycle
    /** The validated configuration. */
    config: Config
  }
}

/** Options: the configuration, and optionally a store to use instead of opening COORD_DB. */
export interface LifecycleOptions {
  config: Config
  store?: Store
}

async function lifecycle (app: FastifyInstance, opts: LifecycleOptions): Promise<void> {
  const store = opts.store ?? openSqliteStore(opts.config.COORD_DB)
  const lifecycle = new TaskLifecycle(store, {
    defaultLeaseMs: opts.config.COORD_LEASE_SECONDS * 1000,
    defaultMaxAttempts: opts.config.COORD_MAX_ATTEMPTS,
    offlineMs: opts.config.COORD_OFFLINE_SECONDS * 1000,
    workflow: workflowSettings(opts.config),
  }, app.log)
  await lifecycle.start()
  app.decorate('lifecycle', lifecycle)
  app.decorate('config', opts.config)
  app.addHook('preClose', async () => { await lifecycle.stop() })
  app.addHook('onClose', async () => { await store.close() })
}

export default fp(lifecycle, { name: 'lifecycle', fastify: '5.x' })
