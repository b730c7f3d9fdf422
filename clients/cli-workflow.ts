/**
 * The coordinator's and engineer's workflow subcommands: `review` (accept a task waiting for review or
 * send it back with feedback), `answer` (answer a task that needs the engineer, or the coordinator's
 * question), `ask` (the coordinator asks the engineer), `amend` (change a task no worker holds),
 * `escalations` (what needs a human) and `metrics` (how a project went).
 */
import { readFile } from 'node:fs/promises'
import { Option, type Command } from 'commander'
import type { AmendBody, Escalation } from '../src/schemas/workflow.js'
import { action, collect, EXIT, intArg, readStdin, UsageError, type CliContext } from './cli-common.js'
import { formatAmended, formatAnswered, formatAsked, formatEscalations, formatMetrics, formatQuestionAnswered, formatReviewed } from './format-workflow.js'

/** Question ids the server gives (`question-7`); `coord answer` sends those to POST /questions/{id}/answer. */
const QUESTION_ID = /^question-\d{1,15}$/

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

async function answer (ctx: CliContext, opts: { by?: string }, [id, message]: string[]): Promise<number> {
  const text = await textArg(message as string, 'The answer')
  const body = { message: text, ...(opts.by === undefined ? {} : { by: opts.by }) }
  if (QUESTION_ID.test(id as string)) {
    const q = await ctx.client.answerQuestion(id as string, body)
    ctx.print(q, () => formatQuestionAnswered(q))
    return EXIT.OK
  }
  const task = await ctx.client.answer(id as string, body)
  ctx.print(task, () => formatAnswered(task))
  return EXIT.OK
}

async function ask (ctx: CliContext, opts: { project?: string, task?: string, by?: string }, [message]: string[]): Promise<number> {
  const text = await textArg(message as string, 'The question')
  const q = await ctx.client.ask({
    message: text,
    ...(opts.project === undefined ? {} : { project: opts.project }),
    ...(opts.task === undefined ? {} : { taskId: opts.task }),
    ...(opts.by === undefined ? {} : { by: opts.by }),
  })
  ctx.print(q, () => formatAsked(q, ctx.coordinatorCommand(['wait', '--project', q.project])))
  return EXIT.OK
}

interface AmendOptions { description?: string, acceptance?: string[], checks?: string, priority?: number, context?: string, by?: string }

/** JSON from a file, or from stdin for `-`. @throws UsageError when unreadable or not JSON */
async function jsonArg (source: string, what: string): Promise<unknown> {
  let text: string
  try {
    text = source === '-' ? await readStdin() : await readFile(source, 'utf8')
  } catch (err) {
    throw new UsageError(`Cannot read ${what} from ${source}: ${(err as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new UsageError(`${what} (${source === '-' ? 'stdin' : source}) is not valid JSON: ${(err as Error).message}`)
  }
}

async function amendTask (ctx: CliContext, opts: AmendOptions, [taskId]: string[]): Promise<number> {
  const body: AmendBody = {
    ...(opts.description === undefined ? {} : { description: await textArg(opts.description, '--description') }),
    ...(opts.acceptance === undefined ? {} : { acceptance: opts.acceptance }),
    ...(opts.checks === undefined ? {} : { checks: await jsonArg(opts.checks, '--checks') as AmendBody['checks'] }),
    ...(opts.priority === undefined ? {} : { priority: opts.priority }),
    ...(opts.context === undefined ? {} : { context: await jsonArg(opts.context, '--context') as AmendBody['context'] }),
  }
  if (Object.keys(body).length === 0) {
    throw new UsageError('Say what to change: --description, --acceptance (repeatable), --checks FILE, --priority N or --context FILE.')
  }
  const task = await ctx.client.amend(taskId as string, { ...body, ...(opts.by === undefined ? {} : { by: opts.by }) })
  ctx.print(task, () => formatAmended(task, Object.keys(body)))
  return EXIT.OK
}

/** The commands that act on one escalation, with the flags this command was given. */
function actions (ctx: CliContext, e: Escalation): string[] {
  if (e.taskId === null) return e.questionId === undefined ? [e.action] : [ctx.coordinatorCommand(['answer', e.questionId, '"your answer"'])]
  const cancel = ctx.coordinatorCommand(['cancel', e.taskId], ['--reason', '"..."'])
  // A task failed for good cannot be canceled: the answer (one more attempt) is what acts on it.
  if (e.kind === 'failed') return [ctx.coordinatorCommand(['answer', e.taskId, '"your guidance"'])]
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

/** Add `review`, `answer`, `ask`, `amend`, `escalations` and `metrics` to `program`. */
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
      'the answer goes to its notes and the task back to the queue, offered first to the worker that asked (a failed task of a finished ' +
      'project reopens it). Given a question id (question-7, from `coord ask`), answers the coordinator\'s question instead.')
    .argument('<id>', 'task id, or question id (question-<n>)')
    .argument('<message>', 'the answer (`-` reads stdin)')
    .option('--by <name>', 'who answers (kept with the note)')
    .action(action(answer))

  program.command('ask')
    .description('Ask the engineer a question that is not tied to a worker\'s task: it joins `coord escalations` until answered ' +
      '(`coord answer question-<n> "..."`), and the answer wakes your `coord wait` (exit 5) with the answer in its output.')
    .argument('<message>', 'the question (`-` reads stdin)')
    .option('--project <name>', 'the project it concerns (default: the task\'s, or `default`)')
    .option('--task <id>', 'a task it is about (the task is not held or changed)')
    .option('--by <name>', 'who asks (kept with the question)')
    .action(action(ask))

  program.command('amend')
    .description('Change what a task asks for while no worker holds it (submitted, input-required or review-required), validated as ' +
      'in `coord create`. Refused while a worker holds it (409 TASK_BEING_WORKED: amend after its report) or once it ended.')
    .argument('<taskId>', 'task id')
    .option('--description <text>', 'the new description (`-` reads stdin)')
    .option('--acceptance <criterion>', 'replaces the acceptance criteria (repeatable: one per criterion)', collect)
    .option('--checks <file>', 'JSON file with the new array of checks (replaces them; `-` reads stdin)')
    .option('--priority <n>', 'the new priority (-1000..1000)', intArg(-1000, 1000))
    .option('--context <file>', 'JSON file with the new context object (`-` reads stdin)')
    .option('--by <name>', 'who amends (kept with the event)')
    .action(action(amendTask))

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
