/**
 * Worker subcommands: `next`, `report`, `heartbeat`, `whoami`. Each run is a fresh process, so the
 * leases live in the state directory (`worker-state.ts`), not in memory; the worker id comes with
 * every command (`--worker`). Waits longer than the server's cap are chained polls (`long-wait.ts`).
 */
import { Option, type Command } from 'commander'
import type { NextOutcome, ReportBody } from '../src/schemas/tasks.js'
import { action, collect, EXIT, intArg, readStdin, requiredOptions, UsageError, type CliContext } from './cli-common.js'
import { DEFAULT_WAIT_S } from './cli-hints.js'
import { checksRefused, refused, type ReportOptions } from './cli-refusals.js'
import { formatAssignment, formatHeartbeatHint, formatLease, formatReport, type AssignmentCommands } from './format.js'
import { nextWithin, reportThenNext } from './long-wait.js'
import { endLease, latestLease, saveLease, saveOutcome as saveWorkerOutcome, savedOrServerLease } from './worker-state.js'

interface PollOptions { wait: number, project?: string, type?: string }

const waitOption = (): Option => new Option('--wait <seconds>', 'seconds to wait for a task in all, up to 3600: polls are chained past the server\'s cap, ' +
  'with progress on stderr').argParser(intArg(0, 3600)).default(DEFAULT_WAIT_S)

/** Remember the lease of an assigned task. */
function saveOutcome (ctx: CliContext, worker: string, outcome: NextOutcome): void {
  saveWorkerOutcome(ctx.state, worker, ctx.opts.url, outcome)
}

/** Exit code of a poll: 0 task, 2 nothing yet, 3 finished. */
function outcomeExit (outcome: NextOutcome): number {
  return outcome.status === 'assigned' ? EXIT.OK : outcome.status === 'finished' ? EXIT.FINISHED : EXIT.EMPTY
}

/** The commands to report and heartbeat `taskId`, with the flags this command was given. */
function assignmentCommands (ctx: CliContext, taskId: string): AssignmentCommands {
  return {
    report: ctx.command(['report', taskId], { tail: ['--status', 'completed', '--summary', '"..."', '--next'], poll: true }),
    heartbeat: ctx.command(['heartbeat']),
  }
}

/** A poll's outcome as text. */
function describeOutcome (ctx: CliContext, worker: string, outcome: NextOutcome, waitS: number): string {
  if (outcome.status === 'assigned') {
    return formatAssignment(outcome.assignment, assignmentCommands(ctx, outcome.assignment.task.id))
  }
  if (outcome.status === 'finished') return `${outcome.message}\n(worker ${worker}: no more tasks will come; exit code 3)`
  return `No task yet for worker ${worker} (waited ${waitS} s). Run \`${ctx.command(['next'], { poll: true })}\` again to keep waiting (exit code 2).`
}

/** Progress of a chained wait, on stderr so that stdout stays the answer. */
function progress (waitedS: number, totalS: number): void {
  process.stderr.write(`coord: no task yet, waited ${waitedS} s of ${totalS} s; still waiting\n`)
}

async function next (ctx: CliContext, opts: PollOptions): Promise<number> {
  const worker = ctx.worker()
  const outcome = await nextWithin(ctx.client, { worker, project: opts.project, type: opts.type }, { waitS: opts.wait, onProgress: progress })
  saveOutcome(ctx, worker, outcome)
  const text = ctx.json ? '' : describeOutcome(ctx, worker, outcome, opts.wait)
  ctx.print(outcome, () => text)
  return outcomeExit(outcome)
}

/**
 * The lease to use for `taskId`: `--lease`, else the saved one, else the worker's latest lease on the
 * task as the server's history shows it (the state dir may be another machine's, or `next` was curl).
 * @throws UsageError when the worker never held a lease on the task
 */
async function leaseToUse (ctx: CliContext, worker: string, taskId: string, given: string | undefined): Promise<string> {
  const leaseId = given ?? await savedOrServerLease(ctx.state, ctx.client, worker, taskId)
  if (leaseId === null) {
    throw new UsageError(`Worker ${worker} never held a lease on task ${taskId} (none saved in ${ctx.state.workerFile(worker)}, none on the server). ` +
      `Check --worker, or run \`${ctx.command(['next'], { poll: true })}\` to get your current task and lease.`)
  }
  return leaseId
}

/** `--details` as a JSON object. @throws UsageError when it is not one */
function parseDetails (text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch { parsed = null }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError('--details must be a JSON object, e.g. \'{"tests":"12 passed"}\'.')
  }
  return parsed as Record<string, unknown>
}

async function report (ctx: CliContext, opts: ReportOptions, [taskId]: string[]): Promise<number> {
  const id = taskId as string
  const worker = ctx.worker(id, { head: ['report', id], tail: ['--status', opts.status, '--summary', '"..."'] })
  const leaseId = await leaseToUse(ctx, worker, id, opts.lease)
  const summary = opts.summary === '-' ? (await readStdin()).trim() : opts.summary
  const details = parseDetails(opts.details)
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
    result = opts.next === true
      ? await reportThenNext(ctx.client, id, body, { project: opts.project, type: opts.type }, { waitS: opts.wait, onProgress: progress })
      : await ctx.client.report(id, body)
  } catch (err) {
    return checksRefused(ctx, worker, id, leaseId, opts, err) ?? refused(ctx, worker, id, leaseId, err, 'Report')
  }
  ctx.state.update(worker, (s) => endLease(s, id, leaseId, opts.status))
  const nextOutcome = result.next
  if (nextOutcome !== undefined) saveOutcome(ctx, worker, nextOutcome)
  const then = nextOutcome === undefined || ctx.json
    ? `\nNext: ${ctx.command(['next'], { poll: true })}`
    : `\n\n${describeOutcome(ctx, worker, nextOutcome, opts.wait)}`
  ctx.print(result, () => formatReport(result) + then)
  return nextOutcome === undefined ? EXIT.OK : outcomeExit(nextOutcome)
}

async function heartbeat (ctx: CliContext, opts: { lease?: string }, [taskArg]: string[]): Promise<number> {
  const worker = ctx.worker(taskArg, { head: ['heartbeat'] }, true)
  const state = ctx.state.load(worker)
  const taskId = taskArg ?? latestLease(state)?.taskId
  if (taskId === undefined) {
    throw new UsageError(`Worker ${worker} holds no saved lease in ${ctx.state.dir}: run \`${ctx.command(['next'], { poll: true })}\` ` +
      '(a poll gives back a task you already hold), or name the task: `heartbeat <taskId>`.')
  }
  const leaseId = await leaseToUse(ctx, worker, taskId, opts.lease)
  let lease
  try {
    lease = await ctx.client.heartbeat(taskId, { worker, leaseId })
  } catch (err) {
    return refused(ctx, worker, taskId, leaseId, err, 'Heartbeat')
  }
  ctx.state.update(worker, (s) => { if (s.leases[taskId]?.leaseId === lease.leaseId) saveLease(s, lease) })
  ctx.print(lease, () => `Task ${taskId}: ${formatLease(lease)}\n${formatHeartbeatHint(lease, ctx.command(['heartbeat']))}`)
  return EXIT.OK
}

async function whoami (ctx: CliContext): Promise<number> {
  if (ctx.opts.worker === undefined) {
    const workers = ctx.state.workers()
    ctx.print({ stateDir: ctx.state.dir, workers }, () => `State dir ${ctx.state.dir}: ` +
      (workers.length === 0 ? 'no worker state yet.' : `workers ${workers.join(', ')}; pass --worker to see one's leases.`))
    return EXIT.OK
  }
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
    .description('Get your task (long poll, chained up to --wait seconds). Saves the lease for `coord report`. ' +
      'Exit 0 task, 2 nothing within the wait, 3 project finished, 1 error.')
    .addOption(waitOption())
    .option('--project <name>', 'only take tasks of this project')
    .option('--type <type>', 'only take tasks of this type')
    .action(action(next))

  program.command('report')
    .description('Report your task as completed, failed or blocked, with the saved lease. ' +
      'Exit 0 accepted (a retry too), 4 refused (409: the lease is removed), 6 checks failed (422: the lease is kept and extended; ' +
      'fix the output and run the same command again; after the last allowed rejection the task goes to the engineer and the exit is 4), ' +
      '1 error; with --next, like `coord next`.')
    .argument('<taskId>', 'the task you report')
    // Required, but checked by the preAction hook below: commander checks mandatory options before
    // arguments, so a missing task id would be reported as a missing --status.
    .addOption(new Option('--status <status>', 'outcome (required)').choices(['completed', 'failed', 'blocked']))
    .option('--summary <text>', 'what was done, or why it failed / what blocks it, in 1-3 sentences (required; the coordinator reads it in ' +
      'status and in the next tasks\' dependencies; at most 20000 characters): long findings go in a file you list with --deliverable, ' +
      'or in --details (`-` reads stdin)')
    .option('--deliverable <path>', 'a file produced or changed (repeatable)', collect)
    .option('--context-score <1..5>', 'how well the task context sufficed: 1 searched a lot, 5 had everything', intArg(1, 5))
    .option('--question <text>', 'with --status blocked: what the engineer must answer')
    .option('--details <json>', 'free JSON object: test output, numbers, notes')
    .option('--lease <leaseId>', 'lease to report with (default: the one saved by `coord next`)')
    .option('--next', 'also wait for your next task (up to --wait seconds), as `coord next` does')
    .addOption(waitOption())
    .option('--project <name>', 'with --next: only take tasks of this project')
    .option('--type <type>', 'with --next: only take tasks of this type')
    .hook('preAction', requiredOptions({ status: '--status <status>', summary: '--summary <text>' }))
    .action(action(report))

  program.command('heartbeat')
    .description('Extend your lease (at least every leaseSeconds/2 while working; `coord next` prints the interval). ' +
      'Exit 0 extended, 4 no longer yours (409), 1 error.')
    .argument('[taskId]', 'task to extend (default: your saved lease\'s task; a worker holds at most one)')
    .option('--lease <leaseId>', 'lease to extend (default: the saved one)')
    .action(action(heartbeat))

  program.command('whoami')
    .description('With --worker: the leases saved for that worker; without: the state dir and the workers saved there.')
    .action(action(whoami))
}
