/**
 * `coord serve`: run the server. Its flags are generated from `ConfigSchema`, one per setting
 * (`COORD_LEASE_SECONDS` ↔ `--lease-seconds`), so flags, env vars and docs never drift apart.
 * Flags override environment variables; unset flags leave the env var or default in force.
 */
import { Option, type Command } from 'commander'
import type { Config } from '../src/config.js'
import { EXIT } from './cli-common.js'

interface SettingSchema { type?: string, description?: string, default?: unknown }

interface Setting { env: string, option: Option }

/** One option per configuration setting, with the env var name it maps to. */
async function settingOptions (): Promise<Setting[]> {
  // Loaded on demand: src/config.js brings env-schema and ajv (about as long to load as Node's own start).
  const { ConfigSchema, flagName } = await import('../src/config.js')
  return Object.entries(ConfigSchema.properties).map(([env, schema]) => {
    const s = schema as SettingSchema
    const flag = flagName(env)
    const help = `${s.description ?? ''} [env ${env}${s.default === undefined || s.default === '' ? '' : `, default ${String(s.default)}`}]`
    // No commander `choices`/parsers: loadConfig validates, so a bad value exits 78 like a bad env var.
    return { env, option: new Option(`--${flag} <${s.type === 'integer' ? 'n' : 'value'}>`, help) }
  })
}

/** Add `coord serve` to `program`. */
export function addServeCommand (program: Command): void {
  let settings: Setting[] = []
  const serve = program.command('serve')
    .description('Run the coordination server (same as `npm start`). Flags override the env vars; invalid settings exit 78.')
  // The flags are added just before `serve` parses its arguments (its help included), so that no
  // other command loads the configuration schema.
  program.hook('preSubcommand', async (_program, sub) => {
    if (sub !== serve || settings.length > 0) return
    settings = await settingOptions()
    for (const { option } of settings) serve.addOption(option)
  })
  serve.action(async (opts: Record<string, string | undefined>) => {
    const { loadConfig } = await import('../src/config.js')
    const data: Record<string, string> = {}
    for (const { env, option } of settings) {
      const value = opts[option.attributeName()]
      if (value !== undefined) data[env] = value
    }
    let config: Config
    try {
      config = loadConfig(data)
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`)
      process.exitCode = EXIT.CONFIG
      return
    }
    // Loaded on demand: the other subcommands need neither Fastify nor SQLite.
    const { startServer, StartupError } = await import('../src/server.js')
    try {
      await startServer(config)
    } catch (err) {
      process.stderr.write(`coordination server failed to start: ${(err as Error).message}\n`)
      // 78 when another server uses the database file or it cannot be written
      process.exit(err instanceof StartupError ? err.exitCode : EXIT.ERROR)
    }
  })
}
