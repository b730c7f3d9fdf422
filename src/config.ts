/**
 * Server configuration from environment variables, validated by env-schema. Each setting also has a
 * `coord serve` flag (the variable's name in kebab case without `COORD_`: `COORD_LEASE_SECONDS` is
 * `--lease-seconds`). Invalid values stop start-up with a message that names the variable.
 */
import { delimiter, resolve } from 'node:path'
import envSchema from 'env-schema'
import type { WorkflowConfig } from './lifecycle/task-lifecycle.js'
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
  COORD_MAX_WAIT_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 3600,
    default: 540,
    description: 'Cap on `wait` in seconds; longer waits are shortened to it. 540 = the CLI\'s default chain: one curl call (`--max-time 570`) ' +
      'fits a 10-minute chat command limit.',
  }),
  COORD_OFFLINE_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 86400,
    default: 90,
    description: 'A worker with no request for this many seconds, holding no live lease and not inside a long poll, is offline ' +
      '(worker.offline). A worker within its lease or in a long poll is never offline, so this may be shorter than COORD_MAX_WAIT_SECONDS.',
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
    default: 600,
    description: 'A connection with no bytes either way for this many seconds is closed. ' +
      'Must exceed COORD_MAX_WAIT_SECONDS (a long poll is silent while it waits).',
  }),
  COORD_KEEP_ALIVE_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 10,
    description: 'Seconds an idle keep-alive connection stays open between requests.',
  }),
  COORD_WORKSPACE_ROOTS: Type.String({
    default: '',
    description: 'Folders (separated by `:`) a batch\'s `workspace` must be inside; checks read files only there. ' +
      'Empty = the folder the server was started in.',
  }),
  COORD_COMMAND_CHECKS: Type.Boolean({
    default: false,
    description: 'true = tasks may carry `command` checks (e.g. `npm test`), run in the workspace when a worker reports completed.',
  }),
  COORD_COMMAND_TIMEOUT_SECONDS: Type.Integer({
    minimum: 1, maximum: 3600, default: 300, description: 'Longest a command check may run; it is killed after that and fails.',
  }),
  COORD_MAX_CHECK_REJECTIONS: Type.Integer({
    minimum: 1, maximum: 100, default: 3, description: 'Completed reports refused by the checks (422) after which the task goes to the engineer.',
  }),
  COORD_RETRY_BACKOFF_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 3600,
    default: 5,
    description: 'Wait before a task whose attempt failed is offered again; doubles per attempt (0 = at once). A lapsed lease is re-offered at once.',
  }),
  COORD_RETRY_BACKOFF_MAX_SECONDS: Type.Integer({ minimum: 0, maximum: 86400, default: 300, description: 'Cap on the retry backoff.' }),
  COORD_RESERVE_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 3600,
    default: 30,
    description: 'A task sent back by a review or an answer is offered only to the worker that did it for this long (0 = to anyone at once).',
  }),
  COORD_UNCLAIMABLE_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 86400,
    default: 300,
    description: 'A ready task that no connected worker polls for (its type or project) is escalated after waiting this long.',
  }),
})
export type Config = Static<typeof ConfigSchema>

/** The workflow settings of a configuration, in the lifecycle's units (ms). */
export function workflowSettings (c: Config): WorkflowConfig {
  const roots = c.COORD_WORKSPACE_ROOTS.split(delimiter).filter((r) => r !== '')
  return {
    workspaceRoots: roots.length > 0 ? roots.map((r) => resolve(r)) : [process.cwd()],
    commandChecks: c.COORD_COMMAND_CHECKS,
    commandTimeoutMs: c.COORD_COMMAND_TIMEOUT_SECONDS * 1000,
    maxCheckRejections: c.COORD_MAX_CHECK_REJECTIONS,
    retryBaseMs: c.COORD_RETRY_BACKOFF_SECONDS * 1000,
    retryMaxMs: c.COORD_RETRY_BACKOFF_MAX_SECONDS * 1000,
    reserveMs: c.COORD_RESERVE_SECONDS * 1000,
    unclaimableMs: c.COORD_UNCLAIMABLE_SECONDS * 1000,
  }
}

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
  if (config.COORD_IDLE_TIMEOUT_SECONDS <= config.COORD_MAX_WAIT_SECONDS) {
    throw new Error('Invalid configuration: COORD_IDLE_TIMEOUT_SECONDS must exceed COORD_MAX_WAIT_SECONDS (a long poll sends nothing while it waits)')
  }
  if (config.COORD_REQUEST_TIMEOUT_SECONDS < config.COORD_HEADERS_TIMEOUT_SECONDS) {
    throw new Error('Invalid configuration: COORD_REQUEST_TIMEOUT_SECONDS must be at least COORD_HEADERS_TIMEOUT_SECONDS (the headers are part of the request)')
  }
  return config
}
