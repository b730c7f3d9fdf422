/**
 * What `coord report` and `coord heartbeat` do when the server refuses them: a 409 (the task is no
 * longer this worker's) and a 422 CHECKS_FAILED (the output failed the task's checks; the lease is
 * kept to fix it, unless that was one rejection too many and the task went to the engineer).
 */
import { checksFailure, CoordApiError } from './client.js'
import { errorJson, EXIT, type CliContext } from './cli-common.js'
import { shellWord } from './cli-hints.js'
import { formatChecksFailure } from './format-workflow.js'
import { dropLease, saveLease } from './worker-state.js'

/** `coord report`'s options, as commander gives them. */
export interface ReportOptions {
  status: 'completed' | 'failed' | 'blocked'
  summary: string
  deliverable?: string[]
  contextScore?: number
  question?: string
  details?: string
  lease?: string
  next?: boolean
  wait: number
  project?: string
  type?: string
}

/**
 * A 409: the task is no longer this worker's. Forget the lease (a heartbeat's LEASE_ENDED keeps it:
 * the work may still be reported), explain on stderr, exit 4. Other errors propagate.
 * @throws `err` when it is not a 409
 */
export function refused (ctx: CliContext, worker: string, taskId: string, leaseId: string, err: unknown, what: 'Report' | 'Heartbeat'): number {
  if (!(err instanceof CoordApiError) || err.statusCode !== 409) throw err
  const keep = what === 'Heartbeat' && err.code === 'LEASE_ENDED'
  if (!keep) ctx.state.update(worker, (s) => dropLease(s, taskId, leaseId))
  const hint = keep
    ? `The lease for task ${taskId} stays saved, so \`${ctx.command(['report', taskId], { tail: ['--status', 'completed', '--summary', '"..."'] })}\` ` +
      'can still send a finished result.'
    : `The saved lease for task ${taskId} was removed; run \`${ctx.command(['next'], { poll: true })}\` for your next task.`
  // With --json, the same one JSON line as every other error (see errorJson), the hint added.
  process.stderr.write(ctx.json
    ? `${JSON.stringify({ error: { ...errorJson(err).error, hint } })}\n`
    : `${what} refused (${err.code}): ${err.message}\n${hint}\n`)
  return EXIT.CONFLICT
}

/** The report command as it was given (same flags, same values), to run again once the output is fixed. */
export function sameReport (ctx: CliContext, taskId: string, opts: ReportOptions): string {
  const tail = ['--status', opts.status, '--summary', shellWord(opts.summary)]
  for (const d of opts.deliverable ?? []) tail.push('--deliverable', shellWord(d))
  if (opts.contextScore !== undefined) tail.push('--context-score', String(opts.contextScore))
  if (opts.question !== undefined) tail.push('--question', shellWord(opts.question))
  if (opts.details !== undefined) tail.push('--details', shellWord(opts.details))
  if (opts.lease !== undefined) tail.push('--lease', shellWord(opts.lease))
  if (opts.next === true) tail.push('--next')
  return ctx.command(['report', taskId], { tail, poll: opts.next === true })
}

/**
 * A 422 CHECKS_FAILED: print what failed (stdout: it is the answer the worker acts on; with --json the
 * error body as one line) and keep the extended lease, exit 6; or, when the task went to the engineer
 * (`details.escalated`), forget the lease and say to poll for the next task, exit 4.
 * @returns the exit code, or null when `err` is no check failure
 */
export function checksRefused (ctx: CliContext, worker: string, taskId: string, leaseId: string, opts: ReportOptions, err: unknown): number | null {
  const failure = checksFailure(err)
  if (failure === null || !(err instanceof CoordApiError)) return null
  const { lease } = failure
  ctx.state.update(worker, (s) => {
    if (failure.escalated) dropLease(s, taskId, leaseId)
    else if (lease !== undefined) saveLease(s, lease)
  })
  const code = failure.escalated ? EXIT.CONFLICT : EXIT.CHECKS_FAILED
  ctx.print({ code: err.code, message: err.message, details: err.details }, () =>
    `${formatChecksFailure(failure, { again: sameReport(ctx, taskId, opts), next: ctx.command(['next'], { poll: true }) })}\n(exit code ${code})`)
  return code
}
