#!/usr/bin/env node
/**
 * `coord`: the command line for the coordination server. Workers run `coord next` → work →
 * `coord report <id> ...` (each a fresh process: the worker id and lease are saved in the state
 * directory); coordinators run `coord create`, `coord status`, `coord events --follow`; anyone can run
 * `coord serve`. Every subcommand has `--help`; `--json` prints the API's JSON instead of text.
 *
 * Exit codes: 0 ok, 1 error, 2 no task within the wait, 3 project finished, 4 lease refused (409),
 * 78 invalid server configuration.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command, Option } from 'commander'
import { packageRoot } from '../src/paths.js'
import { DEFAULT_URL } from './client.js'
import { addCoordinatorCommands } from './cli-coordinator.js'
import { addMcpCommand } from './cli-mcp.js'
import { addServeCommand } from './cli-serve.js'
import { addWaitCommand } from './cli-wait.js'
import { addWorkerCommands } from './cli-worker.js'

/** The `coord` program with every subcommand; `parseAsync(argv)` runs it. */
function buildProgram (): Command {
  const { version } = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
  const program = new Command('coord')
    .version(version)
    .description('Coordination server CLI: post tasks, take and report them, watch progress.')
    .addOption(new Option('--url <url>', 'server base URL').env('COORD_URL').default(DEFAULT_URL))
    .addOption(new Option('--worker <id>', 'your worker id (saved: later commands in this state dir reuse it)').env('COORD_WORKER'))
    .addOption(new Option('--state-dir <dir>', 'where the worker id and leases are saved').env('COORD_STATE_DIR').default('.coordination'))
    .option('--json', 'print JSON (the API answers) instead of text')
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExit codes: 0 ok, 1 error, 2 no task within the wait, 3 project finished (stop), 4 lease refused (409), 78 bad server config.')
  addWorkerCommands(program)
  addCoordinatorCommands(program)
  addWaitCommand(program)
  addMcpCommand(program)
  addServeCommand(program)
  return program
}

await buildProgram().parseAsync(process.argv)
