/**
 * The worker loop as MCP tools: `next_task` → work → `report_task` (which by default also waits for
 * the next task), `heartbeat` while working. Leases are saved in the same state files as the CLI's
 * (`worker-<id>.json`), so `report_task` needs only the task id, a restarted server resumes, and a
 * chat may mix `coord` commands and tools.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import type { Assignment, NextOutcome, ReportBody } from '../src/schemas/tasks.js'
import { checksFailure, CoordApiError, type ChecksFailure, type CoordClient } from './client.js'
import { formatReport } from './format.js'
import { formatAnswer, formatCheckRules, formatChecksFailure, formatDependencies, formatNotes, formatNotices } from './format-workflow.js'
import { nextWithin, type PollQuery } from './long-wait.js'
import {
  callSignal, DEFAULT_TOOL_WAIT_S, fail, guarded, idSchema, ok, progressOf, SLICE_S, ToolUsageError, waitSchema, workerOf,
  type McpSession,
} from './mcp-common.js'
import { dropLease, endLease, latestLease, saveLease, saveOutcome as saveWorkerOutcome, savedOrServerLease } from './worker-state.js'

/**
 * Poll for a task for `waitS` seconds in all, in slices of at most SLICE_S seconds with `progress`
 * after each empty one.
 */
export async function nextInSlices (
  client: CoordClient, query: PollQuery, waitS: number, signal: AbortSignal, progress: (waitedS: number, totalS: number) => void
): Promise<NextOutcome> {
  const start = Date.now()
  for (;;) {
    const leftS = Math.floor(waitS - (Date.now() - start) / 1000)
    const outcome = await nextWithin(client, query, { waitS: Math.max(0, Math.min(SLICE_S, leftS)), signal })
    if (outcome.status !== 'empty' || leftS - SLICE_S < 1) return outcome
    progress(Math.round((Date.now() - start) / 1000), waitS)
  }
}

/** A task handed out, as text: what to do and how to report it. */
function describeAssignment (a: Assignment): string {
  const t = a.task
  const beat = Math.max(1, Math.floor(a.lease.leaseSeconds / 2))
  const lines = [
    `${a.resumed ? 'Resumed (you already held it)' : 'New task'} ${t.id} (project ${t.project}, type ${t.type}, ` +
      `attempt ${a.lease.attempt} of ${t.maxAttempts}).`,
    ...(a.note === undefined ? [] : [`Note: ${a.note}`]),
    `Lease ${a.lease.leaseId} expires ${a.lease.expiresAt}: call heartbeat at least every ${beat} s while working, or the task goes to another worker.`,
    `When done call report_task with task_id "${t.id}" (status completed, failed, or blocked with a question); the lease is remembered for you.`,
  ]
  if (a.notices !== undefined && a.notices.length > 0) lines.push('', formatNotices(a.notices))
  // The answer first: the description may still say to ask the engineer.
  if (a.answer !== undefined) lines.push('', formatAnswer(a.answer))
  if (t.notes.length > 0) lines.push('', formatNotes(t.notes))
  if (a.dependencies.length > 0) lines.push('', formatDependencies(a.dependencies))
  if (t.acceptance.length > 0) lines.push('', 'The acceptance criteria (in the task below) are not machine-checked: judge them yourself.')
  if (t.checks.length > 0) lines.push('', ...formatCheckRules(t.checks, t.checkRejections))
  lines.push('', JSON.stringify(t, null, 2))
  return lines.join('\n')
}

/** A poll's outcome as text with what to do next. */
function describeOutcome (worker: string, outcome: NextOutcome): string {
  if (outcome.status === 'assigned') return describeAssignment(outcome.assignment)
  if (outcome.status === 'finished') return `status finished: ${outcome.message} Stop: no more tasks will come for worker ${worker}.`
  return `status empty: no task for worker ${worker} within the wait. Call next_task again to keep waiting.`
}

/** Save the lease of an `assigned` outcome. */
function saveOutcome (session: McpSession, worker: string, outcome: NextOutcome): void {
  saveWorkerOutcome(session.state, worker, session.url, outcome)
}

/**
 * The lease for `taskId`: the saved one, else the worker's latest on the task as the server's history
 * shows it (the lease came from curl or another state directory). @throws ToolUsageError when none
 */
async function leaseToUse (session: McpSession, worker: string, taskId: string): Promise<string> {
  const leaseId = await savedOrServerLease(session.state, session.client, worker, taskId)
  if (leaseId === null) {
    throw new ToolUsageError(`Worker ${worker} never held a lease on task ${taskId}. Check the task id and worker, or call next_task to get your task.`)
  }
  return leaseId
}

/** The worker to report `taskId` as: the argument, the session's, or the only one whose saved state holds that lease. */
function reporter (session: McpSession, given: string | undefined, taskId: string): string {
  if (given === undefined && session.worker === undefined) {
    const holders = session.state.holders(taskId)
    if (holders.length === 1) return holders[0] as string
  }
  return workerOf(session, given)
}

/** A 409 on report or heartbeat: forget the lease (a heartbeat's LEASE_ENDED keeps it: the work may still be reported). */
function refused (session: McpSession, worker: string, taskId: string, leaseId: string, err: unknown, heartbeat: boolean): never {
  if (err instanceof CoordApiError && err.statusCode === 409 && !(heartbeat && err.code === 'LEASE_ENDED')) {
    session.state.update(worker, (s) => dropLease(s, taskId, leaseId))
  }
  throw err
}

/**
 * A `completed` report refused by the task's checks (422): a tool result (isError, so it is not taken
 * for an accepted report) listing the failures and what to do. The extended lease is saved; once
 * escalated the lease is forgotten and the worker is told to take its next task.
 */
function checksFailed (session: McpSession, worker: string, leaseId: string, f: ChecksFailure, message: string): CallToolResult {
  session.state.update(worker, (s) => {
    if (f.escalated) dropLease(s, f.taskId, leaseId)
    else if (f.lease !== undefined) saveLease(s, f.lease)
  })
  const text = formatChecksFailure(f, {
    again: `report_task with task_id "${f.taskId}" and status "completed" (the same lease is used)`,
    next: 'next_task',
  })
  return fail(text, { status: 422, code: 'CHECKS_FAILED', serverMessage: message, ...f })
}

const workerArg = idSchema('worker id').optional()
  .describe('Your worker id; default: the one the server was started with (--worker / COORD_WORKER). Keep it stable.')
const filterArgs = {
  project: idSchema('project').optional().describe('Only take tasks of this project.'),
  type: z.string().max(64).optional().describe('Only take tasks of this type.'),
}

/** Register next_task, heartbeat and report_task. */
export function addWorkerTools (server: McpServer, session: McpSession): void {
  server.registerTool('next_task', {
    title: 'Get my next task',
    description: 'Get your task (long poll): your current one if you hold a lease, else the next free one. Outcomes (structuredContent.status): ' +
      '"assigned" = do the task in structuredContent.assignment.task, heartbeat while working, then call report_task; ' +
      '"empty" = nothing within the wait, call next_task again; "finished" = the project is closed and done, stop.',
    inputSchema: { worker: workerArg, wait: waitSchema('a task'), ...filterArgs },
    annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
  }, async (args, extra) => guarded(async () => {
    const worker = workerOf(session, args.worker)
    const waitS = args.wait ?? DEFAULT_TOOL_WAIT_S
    const query = { worker, project: args.project, type: args.type }
    const outcome = await nextInSlices(session.client, query, waitS, callSignal(session, extra), progressOf(extra, 'a task'))
    saveOutcome(session, worker, outcome)
    return ok(describeOutcome(worker, outcome), outcome)
  }))

  server.registerTool('heartbeat', {
    title: 'Extend my lease',
    description: 'Extend the lease on the task you are working on by its leaseSeconds from now; call at least every leaseSeconds/2 seconds while working. ' +
      'An error with code LEASE_SUPERSEDED / TASK_CANCELED means the task is no longer yours: stop it and call next_task; LEASE_ENDED (expired) ' +
      'means you may still report a finished result with report_task.',
    inputSchema: { task_id: idSchema('task id').optional().describe('The task (default: your most recent lease).'), worker: workerArg },
    annotations: { idempotentHint: true, openWorldHint: false },
  }, async (args) => guarded(async () => {
    const worker = args.task_id === undefined ? workerOf(session, args.worker) : reporter(session, args.worker, args.task_id)
    const taskId = args.task_id ?? latestLease(session.state.load(worker))?.taskId
    if (taskId === undefined) throw new ToolUsageError(`Worker ${worker} holds no saved lease: pass task_id, or call next_task.`)
    const leaseId = await leaseToUse(session, worker, taskId)
    const lease = await session.client.heartbeat(taskId, { worker, leaseId }).catch((err) => refused(session, worker, taskId, leaseId, err, true))
    session.state.update(worker, (s) => { if (s.leases[taskId]?.leaseId === lease.leaseId) saveLease(s, lease) })
    const beatS = Math.max(1, Math.floor(lease.leaseSeconds / 2))
    return ok(`Lease on task ${taskId} extended: expires ${lease.expiresAt} (heartbeat again within ${beatS} s).`, lease)
  }))

  server.registerTool('report_task', {
    title: 'Report my task (and get the next)',
    description: 'Report your task as completed, failed (will be retried if attempts remain) or blocked (you need an answer: give `question`). ' +
      'The saved lease is used; an identical repeat is accepted as a duplicate. With next (default true) the same call then waits for your next task ' +
      'and returns it in structuredContent.next with the same outcomes as next_task ("assigned" / "empty": call next_task / "finished": stop). ' +
      'An error 409 (LEASE_SUPERSEDED, TASK_CANCELED, ...) means the task is no longer yours: call next_task. An error CHECKS_FAILED lists ' +
      'the checks your output failed (structuredContent.error.failed): your lease is kept, so fix the output and call report_task again; ' +
      'when error.escalated is true the task went to the engineer instead: call next_task.',
    inputSchema: {
      task_id: idSchema('task id').describe('The task you report.'),
      status: z.enum(['completed', 'failed', 'blocked']).describe('completed = done; failed = could not do it (say why); blocked = need an answer first.'),
      summary: z.string().min(1).max(20000).describe('What was done, or why it failed / what blocks it, in 1-3 sentences: the coordinator ' +
        'reads it in status and in the next tasks\' dependencies. Long findings go in a file listed in deliverables, or in details.'),
      deliverables: z.array(z.string().min(1)).optional().describe('Paths of the files you produced or changed.'),
      context_score: z.number().int().min(1).max(5).optional().describe('How well the task context sufficed: 1 = had to search a lot, 5 = had everything.'),
      question: z.string().min(1).optional().describe('With status blocked: what the engineer must answer.'),
      details: z.record(z.string(), z.unknown()).optional().describe('Free JSON object: test output, numbers, notes.'),
      next: z.boolean().optional().describe('Also wait for your next task in this call (default true).'),
      wait: waitSchema('the next task'),
      worker: workerArg,
      ...filterArgs,
    },
    annotations: { idempotentHint: true, openWorldHint: false },
  }, async (args, extra) => guarded(async () => {
    const worker = reporter(session, args.worker, args.task_id)
    const leaseId = await leaseToUse(session, worker, args.task_id)
    const body: ReportBody = {
      worker,
      leaseId,
      status: args.status,
      summary: args.summary,
      ...(args.deliverables === undefined ? {} : { deliverables: args.deliverables }),
      ...(args.context_score === undefined ? {} : { contextScore: args.context_score }),
      ...(args.question === undefined ? {} : { question: args.question }),
      ...(args.details === undefined ? {} : { details: args.details }),
    }
    const next = args.next ?? true
    const waitS = args.wait ?? DEFAULT_TOOL_WAIT_S
    const signal = callSignal(session, extra)
    const started = Date.now()
    const query = next ? { next: true, wait: Math.min(waitS, SLICE_S), project: args.project, type: args.type } : {}
    let result
    try {
      result = await session.client.report(args.task_id, body, query, { signal })
    } catch (err) {
      const failure = checksFailure(err)
      if (failure !== null) return checksFailed(session, worker, leaseId, failure, (err as CoordApiError).message)
      return refused(session, worker, args.task_id, leaseId, err, false)
    }
    session.state.update(worker, (s) => endLease(s, args.task_id, leaseId, args.status))
    const head = formatReport(result)
    if (result.next === undefined) return ok(head, result)
    let outcome = result.next
    const leftS = Math.floor(waitS - (Date.now() - started) / 1000)
    if (outcome.status === 'empty' && leftS >= 1) {
      // The rest of the wait, in slices with progress, so the call outlives no client timeout silently.
      outcome = await nextInSlices(session.client, { worker, project: args.project, type: args.type }, leftS, signal, progressOf(extra, 'the next task'))
    }
    saveOutcome(session, worker, outcome)
    return ok(`${head}\n\nNext: ${describeOutcome(worker, outcome)}`, { ...result, next: outcome })
  }))
}
