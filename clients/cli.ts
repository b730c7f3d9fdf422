#!/usr/bin/env node
/**
 * `coord`: the command line for the coordination server, run as `<checkout>/coord` from any folder
 * (the root executable runs this file's build) or as `npx coord` inside the checkout. Workers run
 * `coord next --worker W` → work → `coord report <id> --worker W ... --next` (each a fresh process:
 * leases are saved in the user's state directory, one per server); coordinators run `coord create`,
 * `coord status`, `coord wait`, `coord review`, `coord answer`, `coord escalations`; anyone can run `coord serve`; `coord init`
 * sets up a project folder. Every subcommand has `--help`; `--json` prints the API's JSON instead of text, one compact object per line.
 *
 * Adding a command: write `addXCommand(program)` in its own `cli-x.ts` (options, then `.action(action(body))`
 * from cli-common.ts) and list it in `COMMANDS` below. Every command is a fresh process and start-up
 * time is measured (`npm run bench`, bench/cli-start.ts): the build bundles this file with everything
 * it imports statically into dist/clients/cli-bundle.js, so a module that is slow to load (Fastify, the
 * MCP SDK, src/config.js with env-schema and ajv, better-sqlite3) must be loaded with `await import()`
 * inside the action that needs it (see cli-serve.ts, cli-mcp.ts); such modules load from dist/, outside
 * the bundle, so they must not hand error classes back to the bundled code (`instanceof` would not match).
 *
 * Exit codes: 0 ok, 1 error, 2 no task within the wait (or, for `coord wait`, nothing happened in
 * time), 3 project finished, 4 lease refused (409) or task gone to the engineer, 5 something needs the
 * coordinator (`coord wait`), 6 checks failed (`coord report`: the lease is kept; fix and report again),
 * 78 invalid server configuration.
 */
import { readFileSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, Option } from 'commander'
import { packageRoot } from '../src/paths.js'
import { DEFAULT_URL } from './client.js'
import { jsonParseErrors, urlArg } from './cli-common.js'
import { addCoordinatorCommands } from './cli-coordinator.js'
import { addInitCommand } from './cli-init.js'
import { addMcpCommand } from './cli-mcp.js'
import { addServeCommand } from './cli-serve.js'
import { addWaitCommand } from './cli-wait.js'
import { addWorkerCommands } from './cli-worker.js'
import { addWorkflowCommands } from './cli-workflow.js'

/** Each adds its subcommands to the program, in the order `coord --help` lists them. */
const COMMANDS: Array<(program: Command) => void> = [
  addWorkerCommands,
  addCoordinatorCommands,
  addWorkflowCommands,
  addWaitCommand,
  addMcpCommand,
  addServeCommand,
  addInitCommand,
]

/** The `coord` program with every subcommand; `parseAsync(argv)` runs it. */
export function buildProgram (): Command {
  const { version } = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
  const program = new Command('coord')
    .version(version)
    .description('Coordination server CLI: post tasks, take and report them, watch progress.')
    .addOption(new Option('--url <url>', 'server base URL (host:port means http://host:port)').env('COORD_URL').default(DEFAULT_URL).argParser(urlArg))
    .addOption(new Option('--worker <id>', 'your worker id: pass it on every worker command').env('COORD_WORKER'))
    .addOption(new Option('--state-dir <dir>', 'where leases are saved (default: $XDG_STATE_HOME/coord/<host_port>, ~/.local/state/... without it)')
      .env('COORD_STATE_DIR'))
    .option('--json', 'print JSON (the API answers) instead of text: one compact object per line')
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExit codes: 0 ok, 1 error, 2 no task within the wait, 3 project finished (stop), 4 lease refused (409) or task gone ' +
      'to the engineer, 5 needs the coordinator (coord wait), 6 checks failed (coord report: lease kept, fix and report again), 78 bad server config.')
  jsonParseErrors(program)
  for (const add of COMMANDS) add(program)
  return program
}

/**
 * Whether this process was started to run the CLI: this file itself, the package `bin` (a symlink to
 * it) or the checkout's root `coord`, which imports it. A test that imports `buildProgram` is none.
 */
function startedAsCli (): boolean {
  const real = (path: string): string | null => {
    try { return realpathSync(path) } catch { return null }
  }
  const script = real(process.argv[1] ?? '')
  return script !== null && (script === real(fileURLToPath(import.meta.url)) || script === real(join(packageRoot, 'coord')))
}

if (startedAsCli()) await buildProgram().parseAsync(process.argv)
