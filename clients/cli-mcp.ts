/**
 * `coord mcp`: run the MCP server on stdio for an agent tool (Cursor, Claude Code, ...), e.g.
 * `.cursor/mcp.json`: `{ "mcpServers": { "coord": { "command": "<checkout>/coord", "args": ["mcp", "--worker", "worker-a"] } } }`.
 * The worker id and the state directory are resolved as for every `coord` command, so the MCP
 * server and the CLI share one worker's identity and leases.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import { ID_PATTERN } from '../src/schemas/common.js'
import { packageRoot } from '../src/paths.js'
import { defaultStateDir } from './worker-state.js'

interface McpCliOptions { url: string, worker?: string, stateDir?: string }

/**
 * The state directory: `--state-dir`, else COORD_STATE_DIR, else `defaultStateDir(url)`. A value
 * commander filled in as the option's default counts as not given.
 */
export function mcpStateDir (cmd: Command, opts: McpCliOptions): string {
  const source = cmd.getOptionValueSourceWithGlobals('stateDir')
  return opts.stateDir !== undefined && source !== 'default' ? opts.stateDir : defaultStateDir(opts.url)
}

/** Add `coord mcp` to `program`. */
export function addMcpCommand (program: Command): void {
  program.command('mcp')
    .description('Serve the Model Context Protocol on stdio (for Cursor, Claude Code, ...): worker tools next_task, heartbeat, report_task; ' +
      'coordinator tools create_tasks, project_status, get_task, wait_for, cancel_task, close_project, review_task, answer_task, ' +
      'list_escalations, project_metrics; task and project resources. ' +
      'Use --worker to fix the worker id for the session. See clients/mcp.md.')
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<McpCliOptions>()
      if (opts.worker !== undefined && !new RegExp(ID_PATTERN).test(opts.worker)) {
        process.stderr.write(`Error: invalid worker id ${JSON.stringify(opts.worker)}: use letters, digits and . _ : @ -, starting with a letter or digit.\n`)
        process.exitCode = 1
        return
      }
      const { version } = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
      // Loaded here, not at the top: the SDK and zod would slow every other `coord` command's start.
      const { runMcpServer } = await import('./mcp-server.js')
      await runMcpServer({ url: opts.url, worker: opts.worker, stateDir: mcpStateDir(cmd, opts), version })
    })
}
