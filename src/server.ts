/**
 * The process around the app: configuration from the environment, the logger, `listen`, and a graceful
 * close on SIGINT/SIGTERM (close-with-grace). `npm start` runs this file; `coord serve` calls
 * `startServer` with its flags.
 */
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { pathToFileURL } from 'node:url'
import { buildApp } from './app.js'
import { loadConfig, type Config } from './config.js'

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
 * Build the app, listen on HOST:PORT and install the graceful-close handlers.
 * @returns the listening app and its base URL (with the real port when PORT is 0)
 */
export async function startServer (config: Config): Promise<{ app: FastifyInstance, url: string }> {
  const app = await buildApp(config, { logger: loggerOptions(config) })
  closeWithGrace({ delay: 10_000, logger: { error: (m: unknown) => app.log.error(m) } }, async ({ err, signal }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after an uncaught error')
    else app.log.info({ signal }, 'closing')
    await app.close()
  })
  await app.listen({ port: config.PORT, host: config.HOST })
  const url = baseUrl(app, config.HOST)
  app.log.info({ url, docs: `${url}/docs`, db: config.COORD_DB }, `coordination server ready: Swagger UI at ${url}/docs`)
  return { app, url }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    console.error((err as Error).message)
    process.exit(78) // EX_CONFIG
  }
  startServer(config).catch((err: Error) => {
    console.error(`coordination server failed to start: ${err.message}`)
    process.exit(1)
  })
}
