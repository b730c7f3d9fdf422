/**
 * Worker subcommands: `next`, `report`, `heartbeat`, `whoami`. Each run is a fresh process, so the
 * worker id and the leases live in the state directory (`worker-state.ts`), not in memory.
 */
import { Option, type Command } from 'commander'
import type { NextOutcome, ReportBody } from '../src/schemas/tasks.js'
import { CoordApiError } from './client.js'
import { action, collect, EXIT, intArg, readStdin, UsageError, type CliContext } from './cli-common.js'
import { formatAssignment, formatLease, formatReport } from './format.js'
import { dropLease, endLease, latestLease, leaseFor, saveLease } from './worker-state.js'

interface PollOptions { wait: number, project?: string, type?: string }

interface ReportOptions extends PollOptions {
  status: ReportBody['status']
  summary: string
  deliverable?: string[]
  contextScore?: number
  question?: string
  details?: string
  lease?: string
  next?: boolean
}

const waitOption = (): Option => new Option('--wait <seconds>', 'seconds to wait for a task (the server caps it)').argParser(intArg(0, 3600)).default(60)

/** Remember the worker id and, when a task was assigned, its lease. */
function saveOutcome (ctx: CliContext, worker: string, outcome: NextOutcome): void {
  ctx.state.update(worker, (s) => {
    s.url = ctx.opts.url
    if (outcome.status === 'assigned') saveLease(s, outcome.assignment.lease)
  })
}

/** Exit code of a poll: 0 task, 2 nothing yet, 3 finished. */
function outcomeExit (outcome: NextOutcome): number {
  return outcome.status === 'assigned' ? EXIT.OK : outcome.status === 'finished' ? EXIT.FINISHED : EXIT.EMPTY
}

/** A poll's outcome as text. */
function describeOutcome (worker: string, outcome: NextOutcome): string {
  if (outcome.status === 'assigned') return formatAssignment(outcome.assignment)
  if (outcome.status === 'finished') return `${outcome.message}\n(worker ${worker}: no more tasks will come; exit code 3)`
  return `No task yet for worker ${worker}. Run \`coord next\` again to keep waiting (exit code 2).`
}

/**
 * A 409: the task is no longer this worker's. Forget the lease (a heartbeat's LEASE_ENDED keeps it:
 * the work may still be reported), explain on stderr, exit 4. Other errors propagate.
 */
function refused (ctx: CliContext, worker: string, taskId: string, leaseId: string, err: unknown, what: 'Report' | 'Heartbeat'): number {
  if (!(err instanceof CoordApiError) || err.statusCode !== 409) throw err
  const keep = what === 'Heartbeat' && err.code === 'LEASE_ENDED'
  if (!keep) ctx.state.update(worker, (s) => dropLease(s, taskId, leaseId))
  process.stderr.write(`${what} refused (${err.code}): ${err.message}\n` + (keep
    ? `The lease for task ${taskId} stays saved, so \`coord report ${taskId}\` can still send a finished result.\n`
    : `The saved lease for task ${taskId} was removed; run \`coord next\` for your next task.\n`))
  return EXIT.CONFLICT
}

async function next (ctx: CliContext, opts: PollOptions): Promise<number> {
  const worker = ctx.worker()
  const outcome = await ctx.client.next({ worker, wait: opts.wait, project: opts.project, type: opts.type })
  saveOutcome(ctx, worker, outcome)
  ctx.print(outcome, () => describeOutcome(worker, outcome))
  return outcomeExit(outcome)
}

/**
 * The lease to use for `taskId`: `--lease`, else the saved one, else the worker's latest lease on the
 * task as the server's history shows it (the state dir may be another folder's, or `next` was curl).
 * @throws UsageError when the worker never held a lease on the task
 */
async function leaseToUse (ctx: CliContext, worker: string, taskId: string, given: string | undefined): Promise<string> {
  const leaseId = given ?? leaseFor(ctx.state.load(worker), taskId)
  if (leaseId !== null) return leaseId
  const history = await ctx.client.getTask(taskId)
  const mine = history.leases.filter((l) => l.worker === worker).at(-1)
  if (mine === undefined) {
    throw new UsageError(`Worker ${worker} never held a lease on task ${taskId} (none saved in ${ctx.state.workerFile(worker)}, none on the server). ` +
      'Check --worker, or run `coord next` to get your current task and lease.')
  }
  return mine.leaseId
}

async function report (ctx: CliContext, opts: ReportOptions, [taskId]: string[]): Promise<number> {
  const id = taskId as string
  const worker = ctx.worker(id)
  const leaseId = await leaseToUse(ctx, worker, id, opts.lease)
  const summary = opts.summary === '-' ? (await readStdin()).trim() : opts.summary
  let details: Record<string, unknown> | undefined
  if (opts.details !== undefined) {
    let parsed: unknown
    try { parsed = JSON.parse(opts.details) } catch { parsed = null }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new UsageError('--details must be a JSON object, e.g. \'{"tests":"12 passed"}\'.')
    }
    details = parsed as Record<string, unknown>
  }
  const body: ReportBody = {
    worker,
    leaseId,
    status: opts.status,
    summary,
    ...(opts.deliverable === undefined ? {} : { deliverables: opts.deliverable }),
    ...(opts.contextScore === undefined ? {} : { contextScore: opts.contextScore }),
    ...(opts.question === undefined ? {} : { question: opts.question }),
    ...(details === undefined ? {} : { details }),
  }
  let result
  try {
    result = await ctx.client.report(id, body, opts.next === true ? { next: true, wait: opts.wait, project: opts.project, type: opts.type } : {})
  } catch (err) {
    return refused(ctx, worker, id, leaseId, err, 'Report')
  }
  ctx.state.update(worker, (s) => endLease(s, id, leaseId, opts.status))
  const nextOutcome = result.next
  if (nextOutcome !== undefined) saveOutcome(ctx, worker, nextOutcome)
  ctx.print(result, () => formatReport(result) + (nextOutcome === undefined ? '' : `\n\n${describeOutcome(worker, nextOutcome)}`))
  return nextOutcome === undefined ? EXIT.OK : outcomeExit(nextOutcome)
}

async function heartbeat (ctx: CliContext, opts: { lease?: string }, [taskArg]: string[]): Promise<number> {
  const worker = ctx.worker(taskArg)
  const state = ctx.state.load(worker)
  const taskId = taskArg ?? latestLease(state)?.taskId
  if (taskId === undefined) throw new UsageError(`Worker ${worker} holds no saved lease: pass the task id, or run \`coord next\`.`)
  const leaseId = await leaseToUse(ctx, worker, taskId, opts.lease)
  let lease
  try {
    lease = await ctx.client.heartbeat(taskId, { worker, leaseId })
  } catch (err) {
    return refused(ctx, worker, taskId, leaseId, err, 'Heartbeat')
  }
  ctx.state.update(worker, (s) => { if (s.leases[taskId]?.leaseId === lease.leaseId) saveLease(s, lease) })
  ctx.print(lease, () => `Task ${taskId}: ${formatLease(lease)}`)
  return EXIT.OK
}

async function whoami (ctx: CliContext): Promise<number> {
  const worker = ctx.worker()
  const state = ctx.state.load(worker)
  ctx.print(state, () => {
    const leases = Object.values(state.leases)
    return [`Worker ${worker} (state file ${ctx.state.workerFile(worker)})`,
      leases.length === 0 ? 'No live lease saved.' : leases.map((l) => `  task ${l.taskId}: ${formatLease(l)}`).join('\n')].join('\n')
  })
  return EXIT.OK
}

/** Add the worker subcommands to `program`. */
export function addWorkerCommands (program: Command): void {
  program.command('next')
    .description('Get your task (long poll). Saves the lease for `coord report`. Exit 0 task, 2 nothing within the wait, 3 project finished, 1 error.')
    .addOption(waitOption())
    .option('--project <name>', 'only take tasks of this project')
    .option('--type <type>', 'only take tasks of this type')
    .action(action(next))

  program.command('report')
    .description('Report your task as completed, failed or blocked, with the saved lease. ' +
      'Exit 0 accepted (a retry too), 4 refused (409: the lease is removed), 1 error; with --next, like `coord next`.')
    .argument('<taskId>', 'the task you report')
    .addOption(new Option('--status <status>', 'outcome').choices(['completed', 'failed', 'blocked']).makeOptionMandatory())
    .requiredOption('--summary <text>', 'what was done, or why it failed / what blocks it (`-` reads stdin)')
    .option('--deliverable <path>', 'a file produced or changed (repeatable)', collect)
    .option('--context-score <1..5>', 'how well the task context sufficed: 1 searched a lot, 5 had everything', intArg(1, 5))
    .option('--question <text>', 'with --status blocked: what the engineer must answer')
    .option('--details <json>', 'free JSON object: test output, numbers, notes')
    .option('--lease <leaseId>', 'lease to report with (default: the one saved by `coord next`)')
    .option('--next', 'also wait for your next task, as `coord next` does')
    .addOption(waitOption())
    .option('--project <name>', 'with --next: only take tasks of this project')
    .option('--type <type>', 'with --next: only take tasks of this type')
    .action(action(report))

  program.command('heartbeat')
    .description('Extend your lease (send one at least every leaseSeconds/2 while working). Exit 0 extended, 4 no longer yours (409), 1 error.')
    .argument('[taskId]', 'task to extend (default: your saved lease\'s task)')
    .option('--lease <leaseId>', 'lease to extend (default: the saved one)')
    .action(action(heartbeat))

  program.command('whoami')
    .description('Show the worker id later commands will use and the leases saved for it.')
    .action(action(whoami))
}
