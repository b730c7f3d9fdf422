/**
 * The coordinator's MCP tools: post tasks, read status and task histories, wait for what matters
 * (`wait_for`, the logic of `coord wait`, sharing its saved cursor), cancel tasks, close projects.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import { CHECK_KINDS } from '../src/schemas/checks.js'
import type { CreateTasksBody } from '../src/schemas/tasks.js'
import { formatCreated, formatHistory, formatStatus } from './format.js'
import { callSignal, DEFAULT_TOOL_WAIT_S, guarded, idSchema, ok, progressOf, SLICE_S, waitSchema, type McpSession } from './mcp-common.js'
import { loadCursor, saveCursor } from './wait-cursor.js'
import { waitUntil } from './wait-until.js'

const paths = z.array(z.string().min(1).max(1024))
const CHECKS_HELP = 'Machine checks the server runs when the worker reports completed (a failure sends the work back to it). Each is ' +
  '{ kind, ...fields, label? } with paths relative to the workspace: file-exists {path}; file-nonempty {path}; word-count {path, min?, max?}; ' +
  'contains / lacks {path, pattern, flags?} (JavaScript regex source); json {path, schema?}; headings {path, headings: [...]}; ' +
  'deliverables {} (the report names every files.write entry); command {run, timeoutSeconds?} (only when the server allows command checks).'
const taskInput = z.strictObject({
  id: idSchema('task id').optional().describe('Your id for the task (recommended: a repeated create_tasks is then safe, and wait_for can name it).'),
  description: z.string().min(1).max(20000).describe('What to do, in words a worker chat can act on.'),
  type: z.string().optional().describe('Kind of work, for workers that only take some kinds. Default "task".'),
  acceptance: z.array(z.string().min(1)).optional().describe('Acceptance criteria the result is checked against.'),
  files: z.strictObject({ read: paths.optional(), write: paths.optional() }).optional()
    .describe('Files the task reads and writes, relative to the project root.'),
  context: z.record(z.string(), z.unknown()).optional().describe('Free JSON the worker needs: target files, notes, links.'),
  priority: z.number().int().optional().describe('Higher is handed out first (-1000..1000); ties go in posting order. Default 0.'),
  leaseSeconds: z.number().int().optional().describe('Lease in seconds for this task (the worker must heartbeat within it). Default from the server.'),
  maxAttempts: z.number().int().optional().describe('Claims allowed before the task fails for good. Default 3.'),
  dependsOn: z.array(idSchema('task id')).optional()
    .describe('Ids of tasks of the same project (this batch or earlier) that must be completed first; their results come with the claim.'),
  // The kinds come from the API's schema; the server validates each check's fields and says what to fix (400).
  checks: z.array(z.looseObject({ kind: z.enum(CHECK_KINDS) })).optional().describe(CHECKS_HELP),
  review: z.boolean().optional().describe('true = after its checks pass the task waits for your review_task. Default: the batch\'s review.'),
})

/** Register create_tasks, project_status, get_task, wait_for, cancel_task and close_project. */
export function addCoordinatorTools (server: McpServer, session: McpSession): void {
  const { client } = session
  server.registerTool('create_tasks', {
    title: 'Post a batch of tasks',
    description: 'Post tasks for workers, all or none. Give each task an id so a retry is safe (existing ids are reported, not duplicated). ' +
      'Set close: true on the last batch: workers then stop once every task is finished. dependsOn orders tasks, checks are verified by the ' +
      'server, review: true makes a task wait for review_task. structuredContent.overlaps lists tasks whose files.write overlap (never leased ' +
      'at the same time). Errors (400) say which task and field to fix.',
    inputSchema: {
      project: idSchema('project').optional().describe('The project the tasks belong to (default "default").'),
      tasks: z.array(taskInput).min(1).max(1000).describe('The tasks, handed out by priority, then in this order.'),
      close: z.boolean().optional().describe('true = last batch: no more tasks are coming for the project.'),
      workspace: z.string().min(1).max(4096).optional()
        .describe('Absolute path of the folder the tasks work in: checks read files there and files paths are relative to it.'),
      review: z.boolean().optional().describe('Default review for the batch\'s tasks (true = each waits for review_task after its checks pass).'),
    },
    annotations: { idempotentHint: false, openWorldHint: false },
  }, async (args) => guarded(async () => {
    const result = await client.createTasks(args as CreateTasksBody)
    return ok(formatCreated(result), result)
  }))

  server.registerTool('project_status', {
    title: 'Project status',
    description: 'Counts of tasks by state (submitted, working, input-required, review-required, completed, failed, canceled), queue, held ' +
      'tasks and why, leases, workers (idle / waiting / working / offline), and done (closed and every task finished). Without project: every project. ' +
      'project_metrics has the numbers of how it went.',
    inputSchema: { project: idSchema('project').optional().describe('One project (default: all).') },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async (args) => guarded(async () => {
    const status = await client.status(args.project)
    return ok(formatStatus(status), status)
  }))

  server.registerTool('get_task', {
    title: 'One task with its history',
    description: 'A task with its result (summary, deliverables, a blocked worker\'s question), every lease, report and event.',
    inputSchema: { task_id: idSchema('task id') },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async (args) => guarded(async () => {
    const detail = await client.getTask(args.task_id)
    return ok(formatHistory(detail), detail)
  }))

  server.registerTool('wait_for', {
    title: 'Wait until done or needed',
    description: 'Wait until the project is done (until "done", default), any of its tasks finishes (until "any"), or every task in `tasks` is ' +
      'finished, and always also until something needs you: a task failed for good, a worker blocked with a question, a task waiting for ' +
      'your review, a task escalated (checks failed too often, file conflict), a worker gone offline that lost its task (its lease lapsed; a worker ' +
      'working within its lease is never offline). Other projects never wake it. structuredContent.outcome: "done" = the ' +
      'condition happened; "attention" = see structuredContent.attention (answer_task, review_task, re-post or cancel), then call wait_for again; ' +
      '"timeout" = nothing decisive within the wait, call wait_for again. Each call continues after the last event the previous one saw ' +
      '(saved, shared with `coord wait`), so nothing is missed or repeated.',
    inputSchema: {
      project: idSchema('project').optional().describe('The project to watch (default: the named tasks\' project, or every project).'),
      tasks: z.array(idSchema('task id')).optional().describe('Wait until every one of these tasks is finished.'),
      until: z.enum(['done', 'any']).optional().describe('Without tasks: "done" = project finished (default); "any" = any of its tasks finished.'),
      wait: waitSchema('the condition'),
      after: z.number().int().min(0).optional().describe('Last event seq already seen (default: the saved one; 0 = from the start).'),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async (args, extra) => guarded(async () => {
    const dir = session.state.dir
    const waitS = args.wait ?? DEFAULT_TOOL_WAIT_S
    const result = await waitUntil(client, {
      project: args.project,
      tasks: args.tasks,
      until: args.until,
      after: (project) => args.after ?? loadCursor(dir, project),
    }, { waitS, sliceS: SLICE_S, signal: callSignal(session, extra), onProgress: progressOf(extra, 'the condition') })
    saveCursor(dir, result.project, result.after)
    return ok(result.message + (result.pending.length > 0 ? ` Still unfinished: ${result.pending.join(', ')}.` : ''), result)
  }))

  server.registerTool('cancel_task', {
    title: 'Cancel a task',
    description: 'Cancel an unfinished task; its worker is told on its next heartbeat or report. ' +
      'A repeat is a no-op; a finished task answers 409 TASK_FINISHED.',
    inputSchema: { task_id: idSchema('task id'), reason: z.string().optional().describe('Why (kept in the task history).') },
    annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: false },
  }, async (args) => guarded(async () => {
    const task = await client.cancel(args.task_id, args.reason)
    return ok(`Task ${task.id} is ${task.state}.`, task)
  }))

  server.registerTool('close_project', {
    title: 'Close a project',
    description: 'Say no more tasks are coming for a project. Once every task is finished the project is done and workers are told to stop. ' +
      'A repeat is a no-op.',
    inputSchema: { project: idSchema('project') },
    annotations: { idempotentHint: true, openWorldHint: false },
  }, async (args) => guarded(async () => {
    const summary = await client.closeProject(args.project)
    const end = summary.done ? ', all finished (done)' : '; done once every task is finished'
    return ok(`Project ${summary.name} closed: ${summary.total} tasks${end}.`, summary)
  }))
}
