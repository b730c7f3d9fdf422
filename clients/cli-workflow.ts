/**
 * The coordinator's and engineer's workflow subcommands: `review` (accept a task waiting for review or
 * send it back with feedback), `answer` (answer a task that needs the engineer), `escalations` (what
 * needs a human) and `metrics` (how a project went).
 */
import { Option, type Command } from 'commander'
import type { Escalation } from '../src/schemas/workflow.js'
import { action, EXIT, readStdin, UsageError, type CliContext } from './cli-common.js'
import { formatAnswered, formatEscalations, formatMetrics, formatReviewed } from './format-workflow.js'

interface ReviewOptions { accept?: boolean, changes?: string, by?: string }

/** A text argument; `-` reads it from stdin. @throws UsageError when it is empty */
async function textArg (value: string, what: string): Promise<string> {
  const text = value === '-' ? (await readStdin()).trim() : value
  if (text === '') throw new UsageError(`${what} is empty: say it in words (or pipe it in with \`-\`).`)
  return text
}

async function review (ctx: CliContext, opts: ReviewOptions, [taskId]: string[]): Promise<number> {
  const id = taskId as string
  if (opts.accept !== true && opts.changes === undefined) {
    throw new UsageError(`Say what you decide: \`${ctx.coordinatorCommand(['review', id], ['--accept'])}\` or ` +
      `\`${ctx.coordinatorCommand(['review', id], ['--changes', '"what to change"'])}\`.`)
  }
  const decision = opts.accept === true ? 'accept' : 'changes'
  const feedback = opts.changes === undefined ? undefined : await textArg(opts.changes, '--changes')
  const task = await ctx.client.review(id, {
    decision,
    ...(feedback === undefined ? {} : { feedback }),
    ...(opts.by === undefined ? {} : { by: opts.by }),
  })
  ctx.print(task, () => formatReviewed(task, decision))
  return EXIT.OK
}

async function answer (ctx: CliContext, opts: { by?: string }, [taskId, message]: string[]): Promise<number> {
  const text = await textArg(message as string, 'The answer')
  const task = await ctx.client.answer(taskId as string, { message: text, ...(opts.by === undefined ? {} : { by: opts.by }) })
  ctx.print(task, () => formatAnswered(task))
  return EXIT.OK
}

/** The commands that act on one escalation, with the flags this command was given. */
function actions (ctx: CliContext, e: Escalation): string[] {
  const cancel = ctx.coordinatorCommand(['cancel', e.taskId], ['--reason', '"..."'])
  // No answer helps a task nobody polls for: a worker for its type or project does, or canceling it.
  if (e.kind === 'unclaimable') return [e.action, cancel]
  return [ctx.coordinatorCommand(['answer', e.taskId, '"your answer"']), cancel]
}

async function escalations (ctx: CliContext, opts: { project?: string }): Promise<number> {
  const list = await ctx.client.escalations(opts.project)
  ctx.print({ escalations: list }, () => formatEscalations(list, (e) => actions(ctx, e)))
  return EXIT.OK
}

async function metrics (ctx: CliContext, opts: { project: string }): Promise<number> {
  const m = await ctx.client.metrics(opts.project)
  ctx.print(m, () => formatMetrics(m, true))
  return EXIT.OK
}

/** Add `review`, `answer`, `escalations` and `metrics` to `program`. */
export function addWorkflowCommands (program: Command): void {
  program.command('review')
    .description('Decide on a task waiting for review (state review-required): --accept completes it; --changes "<feedback>" sends it back ' +
      'to the queue with the feedback in its notes, offered first to the worker that did it.')
    .argument('<taskId>', 'task id')
    .addOption(new Option('--accept', 'accept the work: the task is completed').conflicts('changes'))
    .option('--changes <feedback>', 'what the worker must change (`-` reads stdin)')
    .option('--by <name>', 'who decides (kept with the note)')
    .action(action(review))

  program.command('answer')
    .description('Answer a task that needs the engineer (a question, repeated check failures, a file conflict, failed for good): ' +
      'the answer goes to its notes and the task back to the queue, offered first to the worker that asked.')
    .argument('<taskId>', 'task id')
    .argument('<message>', 'the answer (`-` reads stdin)')
    .option('--by <name>', 'who answers (kept with the note)')
    .action(action(answer))

  program.command('escalations')
    .description('Everything that needs a human, oldest first, each with the commands that act on it.')
    .option('--project <name>', 'one project (default: all)')
    .action(action(escalations))

  program.command('metrics')
    .description('How a project went: automation rate, prompts per task, context scores, parallel speedup, failure detection, ' +
      'check rejections, review round trips, workers.')
    .requiredOption('--project <name>', 'the project')
    .action(action(metrics))
}
