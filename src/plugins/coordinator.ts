/**
 * Opens the store, starts the lifecycle and decorates the instance with `coord` (the `Coordinator`)
 * and `config`. Parked long polls are answered before the server waits for in-flight requests
 * (preClose); the store is closed last (onClose).
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { Coordinator } from '../lifecycle/coordinator.js'
import type { Store } from '../store/store.js'
import { openSqliteStore } from '../store/sqlite-open.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The task lifecycle; routes call it and nothing else for state. */
    coord: Coordinator
    /** The validated configuration. */
    config: Config
  }
}

/** Options: the configuration, and optionally a store to use instead of opening COORD_DB. */
export interface CoordinatorOptions {
  config: Config
  store?: Store
}

async function coordinator (app: FastifyInstance, opts: CoordinatorOptions): Promise<void> {
  const store = opts.store ?? openSqliteStore(opts.config.COORD_DB)
  const coord = new Coordinator(store, {
    defaultLeaseMs: opts.config.COORD_LEASE_SECONDS * 1000,
    defaultMaxAttempts: opts.config.COORD_MAX_ATTEMPTS,
    offlineMs: opts.config.COORD_OFFLINE_SECONDS * 1000,
  }, app.log)
  await coord.start()
  app.decorate('coord', coord)
  app.decorate('config', opts.config)
  app.addHook('preClose', async () => { await coord.stop() })
  app.addHook('onClose', async () => { await store.close() })
}

export default fp(coordinator, { name: 'coordinator', fastify: '5.x' })
