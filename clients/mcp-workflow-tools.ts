/**
 * The coordinator's workflow tools: review a task's work (`review_task`), answer a task that needs the
 * engineer or the coordinator's question (`answer_task`), ask the engineer (`ask_engineer`), change a task
 * no worker holds (`amend_task`), list what needs a human (`list_escalations`) and read how a project went
 * (`project_metrics`). The same calls and texts as `coord review`, `answer`, `ask`, `amend`, `escalations`, `metrics`.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import type { Escalation } from '../src/schemas/workflow.js'
import { CHECK_KINDS } from '../src/schemas/checks.js'
import type { AmendBody } from '../src/schemas/workflow.js'
import { formatAmended, formatAnswered, formatAsked, formatEscalations, formatMetrics, formatQuestionAnswered, formatReviewed } from './format-workflow.js'
import { guarded, idSchema, ok, type McpSession } from './mcp-common.js'

const by = z.string().min(1).max(128).optional().describe('Who decides or answers (a name, kept with the note).')

/** The tool calls that act on one escalation. */
function actions (e: Escalation): string[] {
  if (e.taskId === null) return [`answer_task with task_id "${e.questionId ?? '?'}" and your answer`]
  // A task failed for good cannot be canceled: the answer (one more attempt) is what acts on it.
  if (e.kind === 'failed') return [`answer_task with task_id "${e.taskId}" and your guidance`]
  const cancel = `cancel_task with task_id "${e.taskId}"`
  // No answer helps a task nobody polls for: a worker for its type or project does, or canceling it.
  if (e.kind === 'unclaimable') return [e.action, cancel]
  return [`answer_task with task_id "${e.taskId}" and your message`, cancel]
}

/** Register review_task, answer_task, ask_engineer, amend_task, list_escalations and project_metrics. */
export function addWorkflowTools (server: McpServer, session: McpSession): void {
  const { client } = session
  server.registerTool('review_task', {
    title: 'Review a task\'s work',
    description: 'Decide on a task waiting for your review (state review-required: posted with review true, reported completed, checks ' +
      'passed). decision "accept" completes it; "changes" with feedback sends it back to the queue, offered first to the worker that did it, ' +
      'which reads the feedback in the task\'s notes. Errors: 409 NOT_IN_REVIEW (the task is not waiting for review), 400 FEEDBACK_REQUIRED.',
    inputSchema: {
      task_id: idSchema('task id'),
      decision: z.enum(['accept', 'changes']).describe('accept = the work is done; changes = redo it as `feedback` says.'),
      feedback: z.string().min(1).max(20000).optional().describe('What to change (required with "changes"), in words the worker can act on.'),
      by,
    },
    annotations: { idempotentHint: false, openWorldHint: false },
  }, async (args) => guarded(async () => {
    const task = await client.review(args.task_id, {
      decision: args.decision,
      ...(args.feedback === undefined ? {} : { feedback: args.feedback }),
      ...(args.by === undefined ? {} : { by: args.by }),
    })
    return ok(formatReviewed(task, args.decision), task)
  }))

  server.registerTool('answer_task', {
    title: 'Answer a task that needs you',
    description: 'Answer a task that waits for the engineer (a worker\'s question, checks that failed too often, a file conflict) or failed ' +
      'for good: the message goes to the task\'s notes and the task back to the queue, offered first to the worker that asked (a failed task ' +
      'gets one more attempt; its finished project reopens). A submitted or working task just gets the note. Each answer counts as an ' +
      'intervention in project_metrics. Given a question id (question-7, from ask_engineer) it answers that question instead. ' +
      'Error 409 NOTHING_TO_ANSWER: the task is finished or waits for review_task; 409 ALREADY_ANSWERED for a question.',
    inputSchema: {
      task_id: idSchema('task id').describe('The task id, or a question id (question-<n>).'),
      message: z.string().min(1).max(20000).describe('The answer, appended to the task\'s notes for the worker to read.'),
      by,
    },
    annotations: { idempotentHint: false, openWorldHint: false },
  }, async (args) => guarded(async () => {
    const body = { message: args.message, ...(args.by === undefined ? {} : { by: args.by }) }
    if (/^question-\d{1,15}$/.test(args.task_id)) {
      const q = await client.answerQuestion(args.task_id, body)
      return ok(formatQuestionAnswered(q), q)
    }
    const task = await client.answer(args.task_id, body)
    return ok(formatAnswered(task), task)
  }))

  server.registerTool('ask_engineer', {
    title: 'Ask the engineer',
    description: 'Ask the engineer a question that is not tied to a worker\'s task (e.g. whether to drop a script). It joins the escalation ' +
      'queue until answered; the answer wakes wait_for (outcome "attention", reason question_answered, with the answer in its message).',
    inputSchema: {
      message: z.string().min(1).max(20000).describe('The question, in words the engineer can answer.'),
      project: idSchema('project').optional().describe('The project it concerns (default: the task\'s, or "default").'),
      task_id: idSchema('task id').optional().describe('A task it is about (the task is not held or changed).'),
      by,
    },
    annotations: { idempotentHint: false, openWorldHint: false },
  }, async (args) => guarded(async () => {
    const q = await client.ask({
      message: args.message,
      ...(args.project === undefined ? {} : { project: args.project }),
      ...(args.task_id === undefined ? {} : { taskId: args.task_id }),
      ...(args.by === undefined ? {} : { by: args.by }),
    })
    return ok(formatAsked(q, 'wait_for'), q)
  }))

  server.registerTool('amend_task', {
    title: 'Change a task no worker holds',
    description: 'Replace what a task asks for (description, acceptance, checks, priority, context) while it is submitted, input-required or ' +
      'review-required, validated as in create_tasks; whoever takes it next gets the new version. Errors: 409 TASK_BEING_WORKED (a worker ' +
      'holds it: amend after its report), 409 TASK_FINISHED, 400 INVALID_TASK (bad checks).',
    inputSchema: {
      task_id: idSchema('task id'),
      description: z.string().min(1).max(20000).optional().describe('The new description.'),
      acceptance: z.array(z.string().min(1)).optional().describe('The new acceptance criteria (replace the old ones).'),
      checks: z.array(z.looseObject({ kind: z.enum(CHECK_KINDS) })).optional().describe('The new checks (replace the old ones), as in create_tasks.'),
      priority: z.number().int().optional().describe('The new priority (-1000..1000).'),
      context: z.record(z.string(), z.unknown()).optional().describe('The new context object.'),
      by,
    },
    annotations: { idempotentHint: true, openWorldHint: false },
  }, async (args) => guarded(async () => {
    const { task_id: taskId, ...body } = args
    const task = await client.amend(taskId, body as AmendBody)
    return ok(formatAmended(task, Object.keys(body).filter((k) => k !== 'by')), task)
  }))

  server.registerTool('list_escalations', {
    title: 'What needs a human',
    description: 'Everything that needs you, oldest first: questions from blocked workers and the coordinator (kind question; a ' +
      'coordinator\'s has questionId, no task), tasks failed for good (failed), ' +
      'checks that failed too often (checks), file conflicts (conflict), and tasks no connected worker polls for (unclaimable). Each item ' +
      'says what to do; act with answer_task or cancel_task. An item leaves the list when its task moves on.',
    inputSchema: { project: idSchema('project').optional().describe('One project (default: all).') },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async (args) => guarded(async () => {
    const escalations = await client.escalations(args.project)
    return ok(formatEscalations(escalations, actions), { escalations })
  }))

  server.registerTool('project_metrics', {
    title: 'How a project went',
    description: 'A project\'s metrics, computed from its history now: automation rate (completed without an engineer answer), prompts per ' +
      'task, context scores, parallel speedup, failure detection (how fast silent workers\' tasks were handed on), check rejections, review ' +
      'round trips, and each worker\'s share. Durations are milliseconds. Error 404 PROJECT_NOT_FOUND.',
    inputSchema: { project: idSchema('project') },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async (args) => guarded(async () => {
    const metrics = await client.metrics(args.project)
    return ok(formatMetrics(metrics, true), metrics)
  }))
}
