/**
 * Coordinator and observer subcommands: `create`, `close`, `cancel`, `status`, `events`, `show`,
 * `tasks`, `workers`.
 */
import { readFile } from 'node:fs/promises'
import { Option, type Command } from 'commander'
import { TASK_STATES, type TaskState } from '../src/schemas/common.js'
import type { CreateTasksBody } from '../src/schemas/tasks.js'
import type { ProjectMetrics } from '../src/schemas/metrics.js'
import { CoordApiError, CoordClient } from './client.js'
import { followEvents } from './follow-events.js'
import { action, EXIT, intArg, readStdin, UsageError, type CliContext } from './cli-common.js'
import { formatCreated, formatEvent, formatHistory, formatStatus, formatTaskLine, formatWorkers } from './format.js'
import { formatMetrics } from './format-workflow.js'

/** A batch from JSON text: a `{ project?, tasks, close? }` object or a bare array of tasks. */
export function toBatch (text: string, source: string, flags: { project?: string, close?: boolean }): CreateTasksBody {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`${source} is not valid JSON: ${(err as Error).message}`)
  }
  const batch = (Array.isArray(data) ? { tasks: data } : data) as CreateTasksBody
  if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.tasks)) {
    throw new UsageError(`${source} must hold a JSON array of tasks or an object { "project"?, "tasks": [...], "close"? }.`)
  }
  return {
    ...batch,
    ...(flags.project === undefined ? {} : { project: flags.project }),
    ...(flags.close === true ? { close: true } : {}),
  }
}

async function create (ctx: CliContext, opts: { project?: string, close?: boolean }, [file]: string[]): Promise<number> {
  const source = file === '-' || file === undefined ? 'stdin' : file
  if (source === 'stdin' && process.stdin.isTTY === true) {
    throw new UsageError('Give a JSON file, or pipe the JSON in: `coord create tasks.json` / `cat tasks.json | coord create -`.')
  }
  let text: string
  try {
    text = source === 'stdin' ? await readStdin() : await readFile(source, 'utf8')
  } catch (err) {
    throw new UsageError(`Cannot read ${source}: ${(err as Error).message}`)
  }
  const result = await ctx.client.createTasks(toBatch(text, source, opts))
  ctx.print(result, () => formatCreated(result))
  return EXIT.OK
}

async function close (ctx: CliContext, _opts: unknown, [project]: string[]): Promise<number> {
  const summary = await ctx.client.closeProject(project as string)
  const outlook = summary.done ? ', all finished (done)' : ', workers get 410 once all are finished'
  ctx.print(summary, () => `Project ${summary.name} closed: ${summary.total} tasks${outlook}.`)
  return EXIT.OK
}

async function cancel (ctx: CliContext, opts: { reason?: string }, [taskId]: string[]): Promise<number> {
  const task = await ctx.client.cancel(taskId as string, opts.reason)
  ctx.print(task, () => `Task ${task.id} is ${task.state}.`)
  return EXIT.OK
}

async function status (ctx: CliContext, opts: { project?: string }): Promise<number> {
  const s = await ctx.client.status(opts.project)
  // --json stays the status answer alone (one object); `coord metrics --json` has the metrics.
  const m = opts.project === undefined || ctx.json ? null : await projectMetrics(ctx.client, opts.project)
  ctx.print(s, () => formatStatus(s) + (m === null ? '' : `\n${formatMetrics(m)}`))
  return EXIT.OK
}

/** A project's metrics, or null for a project that has no task yet (404). */
async function projectMetrics (client: CoordClient, project: string): Promise<ProjectMetrics | null> {
  try {
    return await client.metrics(project)
  } catch (err) {
    if (err instanceof CoordApiError && err.statusCode === 404) return null
    throw err
  }
}

interface EventsOptions { after: number, wait: number, project?: string, limit?: number, follow?: boolean }

async function events (ctx: CliContext, opts: EventsOptions): Promise<number> {
  if (opts.follow !== true) {
    const page = await ctx.client.events({ after: opts.after, wait: opts.wait, project: opts.project, limit: opts.limit })
    ctx.print(page, () => [...page.events.map(formatEvent), `(next: --after ${page.nextAfter})`].join('\n'))
    return EXIT.OK
  }
  // The follower's own backoff retries, saying so on stderr; the client's silent retries would only
  // delay the first message.
  const client = new CoordClient(ctx.opts.url, { retry: { retries: 0 } })
  // One line per event: NDJSON with --json. Runs until the process is interrupted.
  try {
    await followEvents(client, {
      after: opts.after,
      wait: opts.wait > 0 ? opts.wait : 3600,
      project: opts.project,
      limit: opts.limit,
      print: (e) => process.stdout.write((ctx.json ? JSON.stringify(e) : formatEvent(e)) + '\n'),
      warn: (message) => process.stderr.write(message + '\n'),
    })
  } finally {
    await client.close()
  }
  return EXIT.OK
}

async function show (ctx: CliContext, _opts: unknown, [taskId]: string[]): Promise<number> {
  const history = await ctx.client.getTask(taskId as string)
  ctx.print(history, () => formatHistory(history))
  return EXIT.OK
}

interface TasksOptions { project?: string, state?: TaskState, byWorker?: string, type?: string, after?: number, limit?: number }

async function tasks (ctx: CliContext, opts: TasksOptions): Promise<number> {
  const { byWorker, ...query } = opts
  const page = await ctx.client.listTasks({ ...query, worker: byWorker })
  const more = page.nextAfter === null ? `(${page.tasks.length} tasks)` : `(more: --after ${page.nextAfter})`
  ctx.print(page, () => [...page.tasks.map(formatTaskLine), more].join('\n'))
  return EXIT.OK
}

async function workers (ctx: CliContext): Promise<number> {
  const { workers } = await ctx.client.listWorkers()
  ctx.print({ workers }, () => formatWorkers(workers))
  return EXIT.OK
}

/** Add the coordinator and observer subcommands to `program`. */
export function addCoordinatorCommands (program: Command): void {
  program.command('create')
    .description('Post a batch of tasks from a JSON file or stdin (`-`): { "project"?, "tasks": [...], "close"?, "workspace"?, "review"? } or a bare ' +
      'array of tasks. Every field of the API passes through as written (tasks with dependsOn, checks, review, files ...).')
    .argument('[file]', 'JSON file, or - for stdin', '-')
    .option('--project <name>', 'project of the batch (overrides the file\'s)')
    .option('--close', 'last batch: no more tasks are coming for the project')
    .action(action(create))

  program.command('close')
    .description('Say no more tasks are coming for a project; workers get 410 (exit 3) once every task is finished.')
    .argument('<project>', 'project name')
    .action(action(close))

  program.command('cancel')
    .description('Cancel an unfinished task; its worker gets 409 TASK_CANCELED on its next heartbeat or report.')
    .argument('<taskId>', 'task id')
    .option('--reason <text>', 'why (kept in the task history)')
    .action(action(cancel))

  program.command('status')
    .description('Counts by state, queue, held tasks, active leases, workers, and whether the project is done; with --project also the ' +
      'project\'s metrics (automation rate, prompts per task, context score, speedup, failure detection, check rejections, review round trips; ' +
      '`coord metrics` has them all).')
    .option('--project <name>', 'one project (default: all)')
    .action(action(status))

  program.command('events')
    .description('Events after a sequence number, waiting up to --wait seconds for new ones; --follow keeps polling, one line per event.')
    .option('--after <seq>', 'last seq already seen (0 = from the start)', intArg(0), 0)
    .option('--wait <seconds>', 'seconds to wait when nothing is new (capped by the server)', intArg(0, 3600), 0)
    .option('--project <name>', 'one project\'s events plus worker events')
    .option('--limit <n>', 'events per page (1..1000)', intArg(1, 1000))
    .option('--follow', 'loop forever, long-polling (--wait defaults to the server maximum); while the server is down or failing, retry after 1, 2, 4 ... 30 s')
    .action(action(events))

  program.command('show')
    .description('One task with its result, leases, reports and events.')
    .argument('<taskId>', 'task id')
    .action(action(show))

  program.command('tasks')
    .description('List tasks, oldest first, filtered.')
    .option('--project <name>', 'only this project')
    .option('--by-worker <id>', 'only tasks whose latest lease went to this worker')
    .addOption(new Option('--state <state>', 'only this state').choices(TASK_STATES))
    .option('--type <type>', 'only this type')
    .option('--after <cursor>', 'the `more: --after` cursor of the previous page', intArg(0))
    .option('--limit <n>', 'page size (1..500)', intArg(1, 500))
    .action(action(tasks))

  program.command('workers')
    .description('Workers: working / waiting / idle / offline, current task, tasks completed.')
    .action(action(workers))
}
