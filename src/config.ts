/**
 * Server configuration from environment variables, validated by env-schema. Each setting also has a
 * `coord serve` flag (the variable's name in kebab case without `COORD_`: `COORD_LEASE_SECONDS` is
 * `--lease-seconds`). Invalid values stop start-up with a message that names the variable.
 */
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** The settings, their defaults and meaning: one table for env vars, CLI flags and the README. */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3100, description: 'TCP port to listen on (0 = any free port).' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Interface to bind. Keep the loopback default unless you know why.' }),
  COORD_DB: Type.String({
    minLength: 1,
    default: '.coordination/coord.db',
    description: 'SQLite file (created with its folder), or `:memory:` for a throwaway store.',
  }),
  LOG_LEVEL: Type.Enum(LOG_LEVELS, { default: 'info', description: 'pino level: fatal, error, warn, info, debug, trace or silent.' }),
  COORD_LEASE_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 86400,
    default: 120,
    description: 'Default lease (visibility timeout) in seconds; a task may set its own `leaseSeconds`.',
  }),
  COORD_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 100, default: 3, description: 'Default claims per task before it is dead-lettered as failed.' }),
  COORD_DEFAULT_WAIT_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 3600,
    default: 30,
    description: 'Long-poll wait in seconds when a request gives no `wait`.',
  }),
  COORD_MAX_WAIT_SECONDS: Type.Integer({ minimum: 0, maximum: 3600, default: 60, description: 'Cap on `wait` in seconds; longer waits are shortened to it.' }),
  COORD_OFFLINE_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 86400,
    default: 90,
    description: 'A worker with no request for this many seconds is shown offline. Must exceed COORD_MAX_WAIT_SECONDS.',
  }),
  COORD_ALLOWED_HOSTS: Type.String({
    default: '',
    description: 'Comma-separated extra Host names accepted besides localhost, 127.0.0.1 and [::1] (needed when binding a non-loopback HOST).',
  }),
  COORD_BODY_LIMIT: Type.Integer({ minimum: 1024, maximum: 104857600, default: 1048576, description: 'Largest request body in bytes.' }),
  COORD_HEADERS_TIMEOUT_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 10,
    description: 'Seconds a client has to send the request line and headers; slower ones get 408 REQUEST_TIMEOUT and are disconnected.',
  }),
  COORD_REQUEST_TIMEOUT_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 30,
    description: 'Seconds a client has to send the whole request, body included (the answer, e.g. a long poll, may take longer). ' +
      'At least COORD_HEADERS_TIMEOUT_SECONDS.',
  }),
  COORD_IDLE_TIMEOUT_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 86400,
    default: 120,
    description: 'A connection with no bytes either way for this many seconds is closed. ' +
      'Must exceed COORD_MAX_WAIT_SECONDS (a long poll is silent while it waits).',
  }),
  COORD_KEEP_ALIVE_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 10,
    description: 'Seconds an idle keep-alive connection stays open between requests.',
  }),
})
export type Config = Static<typeof ConfigSchema>

/** CLI flag for an environment variable name: `COORD_LEASE_SECONDS` → `lease-seconds`. */
export function flagName (envName: string): string {
  return envName.replace(/^COORD_/, '').toLowerCase().replaceAll('_', '-')
}

/**
 * Read and validate the configuration.
 * @param data values that override `process.env` (e.g. from CLI flags), keyed by variable name
 * @param useEnv read `process.env` too (tests pass false)
 * @throws Error naming the offending variable
 */
export function loadConfig (data: Record<string, unknown> = {}, useEnv = true): Config {
  let config: Config
  try {
    config = envSchema<Config>({ schema: ConfigSchema, data: { ...(useEnv ? process.env : {}), ...data }, env: false })
  } catch (err) {
    throw new Error(`Invalid configuration: ${(err as Error).message.replace(/^env\//, '')}`)
  }
  if (config.COORD_DEFAULT_WAIT_SECONDS > config.COORD_MAX_WAIT_SECONDS) {
    throw new Error('Invalid configuration: COORD_DEFAULT_WAIT_SECONDS must not exceed COORD_MAX_WAIT_SECONDS')
  }
  if (config.COORD_OFFLINE_SECONDS <= config.COORD_MAX_WAIT_SECONDS) {
    throw new Error('Invalid configuration: COORD_OFFLINE_SECONDS must exceed COORD_MAX_WAIT_SECONDS (a worker inside a long poll is not offline)')
  }
  if (config.COORD_IDLE_TIMEOUT_SECONDS <= config.COORD_MAX_WAIT_SECONDS) {
    throw new Error('Invalid configuration: COORD_IDLE_TIMEOUT_SECONDS must exceed COORD_MAX_WAIT_SECONDS (a long poll sends nothing while it waits)')
  }
  if (config.COORD_REQUEST_TIMEOUT_SECONDS < config.COORD_HEADERS_TIMEOUT_SECONDS) {
    throw new Error('Invalid configuration: COORD_REQUEST_TIMEOUT_SECONDS must be at least COORD_HEADERS_TIMEOUT_SECONDS (the headers are part of the request)')
  }
  return config
}
