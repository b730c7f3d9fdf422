/**
 * The process around the app: configuration from the environment, the logger, `listen`, and a graceful
 * close on SIGINT/SIGTERM (close-with-grace). `npm start` runs this file; `coord serve` calls
 * `startServer` with its flags.
 */
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { pathToFileURL } from 'node:url'
import { buildApp } from './app.js'
import { startHints } from './start-hints.js'
import { loadConfig, type Config } from './config.js'
import { openSqliteStore } from './store/sqlite-open.js'
import { StoreRefusedError } from './store/sqlite-guard.js'
import type { Store } from './store/store.js'

/** Exit code for a configuration the server cannot run with (sysexits.h EX_CONFIG). */
export const EX_CONFIG = 78

/**
 * The server refused to start for a reason the engineer must fix (another server uses the database
 * file, the file cannot be written); `exitCode` is what the process should exit with.
 */
export class StartupError extends Error {
  constructor (message: string, readonly exitCode: number, options?: ErrorOptions) {
    super(message, options)
    this.name = 'StartupError'
  }
}

/** pino options: pretty, human output when stdout is a terminal, JSON lines otherwise. */
export function loggerOptions (config: Config): FastifyServerOptions['logger'] {
  if (process.stdout.isTTY) {
    return { level: config.LOG_LEVEL, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } }
  }
  return { level: config.LOG_LEVEL }
}

/** Base URL of a listening app on `host`, e.g. `http://127.0.0.1:3100` (an IPv6 host bracketed). */
export function baseUrl (app: FastifyInstance, host: string): string {
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('the app is not listening on a TCP port')
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`
}

/** Listen on 127.0.0.1 at a free port (demo, bench, tests); returns the base URL. */
export async function listenLocal (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return baseUrl(app, '127.0.0.1')
}

/**
 * Open the store, build the app, listen on HOST:PORT and install the graceful-close handlers.
 * @returns the listening app and its base URL (with the real port when PORT is 0)
 * @throws StartupError (exit code 78) when another server uses COORD_DB or it cannot be written
 */
export async function startServer (config: Config): Promise<{ app: FastifyInstance, url: string }> {
  let app: FastifyInstance | undefined
  const store = openStore(config, (message) => app?.log.error({ db: config.COORD_DB }, message))
  try {
    app = await buildApp(config, { logger: loggerOptions(config), store })
  } catch (err) {
    await store.close()
    throw err
  }
  const ready = app
  try {
    await ready.listen({ port: config.PORT, host: config.HOST })
  } catch (err) {
    await ready.close() // releases the database file's lock
    throw err
  }
  closeWithGrace({ delay: 10_000, logger: { error: (m: unknown) => ready.log.error(m) } }, async ({ err, signal }) => {
    if (err !== undefined) ready.log.error({ err }, 'closing after an uncaught error')
    else ready.log.info({ signal }, 'closing')
    await ready.close()
  })
  const url = baseUrl(ready, config.HOST)
  ready.log.info({ url, docs: `${url}/docs`, db: config.COORD_DB }, `coordination server ready: Swagger UI at ${url}/docs`)
  const hints = startHints(url)
  ready.log.info({ worker: hints.worker.command, coordinator: hints.coordinator.command }, `workers start with: ${hints.worker.command}`)
  // On a terminal, the same plainly, for the engineer to paste into a chat (the log may be pretty or JSON).
  if (process.stdout.isTTY) {
    process.stdout.write(`\nWorker chats start with:  ${hints.worker.command}\nCoordinator:              ${hints.coordinator.command}\n` +
      `Rules: ${hints.worker.rules}, ${hints.coordinator.rules}; start here: ${url}/\n\n`)
  }
  return { app: ready, url }
}

/** The SQLite store at COORD_DB; a refusal (locked, not writable) becomes a StartupError with exit 78. */
function openStore (config: Config, onUnavailable: (message: string) => void): Store {
  try {
    return openSqliteStore(config.COORD_DB, { onUnavailable })
  } catch (err) {
    if (err instanceof StoreRefusedError) throw new StartupError(err.message, EX_CONFIG, { cause: err })
    throw err
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    console.error((err as Error).message)
    process.exit(EX_CONFIG)
  }
  startServer(config).catch((err: Error) => {
    console.error(`coordination server failed to start: ${err.message}`)
    process.exit(err instanceof StartupError ? err.exitCode : 1)
  })
}
