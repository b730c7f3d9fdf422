/**
 * The coordination server's MCP server (stdio, official `@modelcontextprotocol/sdk`) over the typed
 * undici client: worker tools, coordinator tools and resources for one session. stdout carries the
 * protocol only; everything for people goes to stderr.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { CoordClient } from './client.js'
import { addCoordinatorTools } from './mcp-coordinator-tools.js'
import type { McpSession } from './mcp-common.js'
import { addResources } from './mcp-resources.js'
import { addWorkerTools } from './mcp-worker-tools.js'
import { addWorkflowTools } from './mcp-workflow-tools.js'
import { StateStore } from './worker-state.js'

/** What `coord mcp` starts a session with. */
export interface McpOptions {
  /** Server base URL. */
  url: string
  /** The session's worker id, if this chat is a worker. */
  worker?: string
  /** State directory (leases, the coordinator's cursor), shared with the CLI. */
  stateDir: string
  /** Package version, announced to the client. */
  version: string
}

const INSTRUCTIONS = 'Tools for the coordination server. Worker: call next_task, read the task\'s notes and dependency results, do the task, ' +
  'call heartbeat at least every leaseSeconds/2 s while working, then report_task (it also returns your next task); when report_task says ' +
  'checks failed, fix the output and call report_task again; stop when a status is "finished". Coordinator: create_tasks (close: true on ' +
  'the last batch), then wait_for in a loop and act on "attention" outcomes (review_task, answer_task, list_escalations); project_status, ' +
  'get_task and project_metrics show progress.'

/** Build the MCP server for one session (tools and resources registered, not connected). */
export function buildMcpServer (session: McpSession, version: string): McpServer {
  const server = new McpServer({ name: 'coord', title: 'Coordination server', version }, { instructions: INSTRUCTIONS })
  addWorkerTools(server, session)
  addCoordinatorTools(server, session)
  addWorkflowTools(server, session)
  addResources(server, session)
  return server
}

/**
 * Serve MCP on stdin/stdout until stdin ends (the client went away) or SIGTERM / SIGINT; pending
 * long polls are then aborted. Resolves once closed.
 */
export async function runMcpServer (opts: McpOptions): Promise<void> {
  const ended = new AbortController()
  const client = new CoordClient(opts.url)
  const session: McpSession = { client, url: opts.url, state: new StateStore(opts.stateDir), worker: opts.worker, signal: ended.signal }
  const server = buildMcpServer(session, opts.version)
  const transport = new StdioServerTransport()
  const closed = new Promise<void>((resolve) => {
    const end = (): void => { ended.abort(new Error('MCP session ended')); resolve() }
    process.stdin.once('end', end)
    process.once('SIGTERM', end)
    process.once('SIGINT', end)
    transport.onclose = end
  })
  await server.connect(transport)
  process.stderr.write(`coord MCP server: ${opts.url}, worker ${opts.worker ?? '(none: pass worker to the worker tools)'}, state ${session.state.dir}\n`)
  await closed
  await server.close().catch(() => {})
  await client.close().catch(() => {})
}
