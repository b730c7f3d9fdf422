/**
 * MCP resources, for clients that show or attach state rather than call tools: a task with its
 * history (`coord://tasks/{id}`), a project's status (`coord://projects/{project}`, listed), and the
 * workers (`coord://workers`). Each reads the API at the time it is read; contents are JSON.
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { ReadResourceResult } from '@modelcontextprotocol/sdk/types.js'
import type { McpSession } from './mcp-common.js'

/** One JSON document as a resource's contents. */
function json (uri: URL, data: unknown): ReadResourceResult {
  return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(data, null, 2) }] }
}

/** A template variable as one string (the SDK gives string | string[]). */
function one (v: string | string[] | undefined): string {
  return decodeURIComponent(Array.isArray(v) ? v[0] ?? '' : v ?? '')
}

/** Register the task, project and workers resources. Reading a missing task or project fails with the API's message. */
export function addResources (server: McpServer, session: McpSession): void {
  const { client } = session
  server.registerResource('task', new ResourceTemplate('coord://tasks/{id}', { list: undefined }), {
    title: 'Task with history',
    description: 'One task: its state, result (summary, deliverables, question), every lease, report and event.',
    mimeType: 'application/json',
  }, async (uri, vars) => json(uri, await client.getTask(one(vars.id))))

  server.registerResource('project', new ResourceTemplate('coord://projects/{project}', {
    list: async () => ({
      resources: (await client.listProjects()).projects.map((p) => ({
        uri: `coord://projects/${encodeURIComponent(p.name)}`,
        name: p.name,
        description: `${p.total} tasks${p.done ? ', done' : p.closed ? ', closed' : ', open'}`,
        mimeType: 'application/json',
      })),
    }),
  }), {
    title: 'Project status',
    description: 'A project\'s status: task counts by state, queue, leases, workers, and whether it is done.',
    mimeType: 'application/json',
  }, async (uri, vars) => json(uri, await client.status(one(vars.project))))

  server.registerResource('workers', 'coord://workers', {
    title: 'Workers',
    description: 'Every worker: working / waiting / idle / offline, its current task, tasks completed and failed.',
    mimeType: 'application/json',
  }, async (uri) => json(uri, await client.listWorkers()))
}
