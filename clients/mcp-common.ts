/**
 * What the MCP server's tools share: the session (client, worker id, state directory), tool results
 * in text plus `structuredContent`, API errors as `isError` results that say what to fix, and long
 * waits cut into slices with `notifications/progress` between them.
 *
 * Why slices: MCP clients time a tool call out after about 60 s (the SDK's DEFAULT_REQUEST_TIMEOUT_MSEC
 * is 60 000 ms) unless progress notifications arrive and the client resets its timer on them
 * (`resetTimeoutOnProgress`). Worker and wait tools therefore default to a wait that stays under it
 * and, for longer waits, poll in slices of at most `SLICE_S` seconds, sending progress after each one
 * when the caller gave a progressToken.
 *
 * Times: every `*S` is seconds.
 */
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js'
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { ID_PATTERN } from '../src/schemas/common.js'
import { CoordApiError, CoordConnectionError, type CoordClient } from './client.js'
import type { StateStore } from './worker-state.js'

/** Default `wait` of the waiting tools, in seconds: one call stays under a client's 60 s timeout. */
export const DEFAULT_TOOL_WAIT_S = 50
/** Longest single poll of a chained wait, in seconds: progress goes out at least this often. */
export const SLICE_S = 25

/** One MCP session: who it talks to and as whom. */
export interface McpSession {
  client: CoordClient
  /** Where leases and the coordinator's cursor are saved (shared with the CLI). */
  state: StateStore
  /** Server base URL, for messages and the state files. */
  url: string
  /** The session's worker id (`coord mcp --worker`, COORD_WORKER); a tool's `worker` argument overrides it. */
  worker?: string
  /** Aborted when the session ends (stdin closed): pending long polls stop. */
  signal: AbortSignal
}

/** What a tool handler receives besides its arguments. */
export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>

/** An id as the API accepts it (tasks, workers, projects). */
export const idSchema = (what: string): z.ZodString =>
  z.string().regex(new RegExp(ID_PATTERN), `${what}: letters, digits and . _ : @ -, starting with a letter or digit, at most 128 characters`)

/** A tool's `wait` argument. */
export const waitSchema = (what: string): z.ZodOptional<z.ZodNumber> => z.number().int().min(0).max(3600).optional().describe(
  `Seconds to wait for ${what} (default ${DEFAULT_TOOL_WAIT_S}: one call stays under the usual 60 s tool timeout). Longer waits are chained ` +
  `and send progress notifications every ${SLICE_S} s when you pass a progressToken; only ask for more than 50 if your client resets its timeout on progress.`)

/** A successful tool result: `text` for the model to read, `data` as structuredContent. */
export function ok (text: string, data: object): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: data as Record<string, unknown> }
}

/** A failed tool result: what went wrong and what to do about it. */
export function fail (message: string, data: Record<string, unknown> = {}): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }], structuredContent: { error: { message, ...data } } }
}

/** A mistake in the tool call the model can fix (missing worker id, no lease). */
export class ToolUsageError extends Error {
  override readonly name = 'ToolUsageError'
}

/** Any error as a tool result: API errors with their code and message, unreachable servers by URL. */
export function errorResult (err: unknown): CallToolResult {
  if (err instanceof CoordApiError) {
    const details = err.details === undefined ? '' : `\nDetails: ${JSON.stringify(err.details)}`
    return fail(`Error ${err.statusCode} ${err.code}: ${err.message}${details}`, { status: err.statusCode, code: err.code, details: err.details })
  }
  if (err instanceof CoordConnectionError) return fail(err.message, { code: 'SERVER_UNREACHABLE', url: err.url })
  if (err instanceof ToolUsageError) return fail(err.message, { code: 'BAD_TOOL_CALL' })
  return fail(`Unexpected error: ${(err as Error).message ?? String(err)}`, { code: 'INTERNAL' })
}

/** Run a tool body; any error becomes an `isError` result (never a protocol error). */
export async function guarded (body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body()
  } catch (err) {
    return errorResult(err)
  }
}

/** The signal of one call: aborted when the client cancels the call or the session ends. */
export function callSignal (session: McpSession, extra: ToolExtra): AbortSignal {
  return AbortSignal.any([session.signal, extra.signal])
}

/**
 * A progress callback for a chained wait: sends `notifications/progress` (progress = seconds waited,
 * total = seconds in all) when the call carried a progressToken, else does nothing.
 */
export function progressOf (extra: ToolExtra, what: string): (waitedS: number, totalS: number) => void {
  const token = extra._meta?.progressToken
  if (token === undefined) return () => {}
  return (waitedS, totalS) => {
    extra.sendNotification({
      method: 'notifications/progress',
      params: { progressToken: token, progress: waitedS, total: totalS, message: `still waiting for ${what} (${waitedS} of ${totalS} s)` },
    }).catch(() => {})
  }
}

/** The worker a tool acts as: its argument, else the session's. @throws ToolUsageError when neither is set */
export function workerOf (session: McpSession, given: string | undefined): string {
  const worker = given ?? session.worker
  if (worker === undefined) {
    throw new ToolUsageError('No worker id: pass `worker` (your stable id, e.g. "worker-a"), ' +
      'or start the server with `coord mcp --worker <id>` / COORD_WORKER.')
  }
  return worker
}
