/**
 * `coord wait`: the coordinator's one command for waiting, until the project is done, any or given
 * tasks finish, or something needs it (`needsAPerson` in wait-until.ts: a task failed for good, a
 * worker blocked, a task waiting for review, a task escalated to the engineer, a worker that went
 * offline and lost its task). Other projects' events and workers never end the wait.
 * The logic is `wait-until.ts` (shared with the MCP server); this file is options, output and the
 * saved cursor.
 *
 * Exit codes: 0 the awaited condition happened, 5 something needs the coordinator, 2 the wait passed
 * with neither, 1 error.
 */
import { Option, type Command } from 'commander'
import type { Event } from '../src/schemas/events.js'
import { action, collect, EXIT, intArg, type CliContext } from './cli-common.js'
import { formatEvent } from './format.js'
import { loadCursor, saveCursor } from './wait-cursor.js'
import { waitUntil, type WaitResult } from './wait-until.js'

/** Exit code of `coord wait` when something needs the coordinator. */
export const EXIT_ATTENTION = EXIT.ATTENTION

interface WaitCliOptions { project?: string, task?: string[], until: 'done' | 'any', wait: number, after?: number }

/** Exit code for each outcome. */
const EXIT_OF: Record<WaitResult['outcome'], number> = { done: EXIT.OK, attention: EXIT_ATTENTION, timeout: EXIT.EMPTY }

/** The result as text: the message, then what to pass next. */
function formatResult (r: WaitResult): string {
  const lines = [r.message]
  if (r.pending.length > 0) lines.push(`  still unfinished: ${r.pending.join(', ')}`)
  lines.push(`(seen up to event ${r.after}, saved: the next \`coord wait\` continues from there; exit code ${EXIT_OF[r.outcome]})`)
  return lines.join('\n')
}

async function wait (ctx: CliContext, opts: WaitCliOptions): Promise<number> {
  const dir = ctx.state.dir
  const line = (text: string): boolean => process.stdout.write(text + '\n')
  const result = await waitUntil(ctx.client, {
    project: opts.project,
    tasks: opts.task,
    until: opts.until,
    after: (project) => opts.after ?? loadCursor(dir, project),
  }, {
    waitS: opts.wait,
    onEvent: (e: Event) => line(ctx.json ? JSON.stringify(e) : formatEvent(e)),
    onProgress: (waitedS, totalS) => process.stderr.write(`... still waiting (${waitedS} of ${totalS} s)\n`),
  })
  saveCursor(dir, result.project, result.after)
  line(ctx.json ? JSON.stringify(result) : formatResult(result))
  return EXIT_OF[result.outcome]
}

/** Add `coord wait` to `program`. */
export function addWaitCommand (program: Command): void {
  program.command('wait')
    .description('Wait until the project is done (default), any task finishes (--until any) or the given tasks finish (--task), and always also ' +
      'until something needs you: a task failed for good, a worker blocked with a question, a task waiting for your review (coord review), ' +
      'a task escalated (its checks failed too often, or a file conflict; coord escalations), a worker gone offline that lost its task (its lease ' +
      'lapsed; a worker working within its lease is never offline). Only the watched project counts. Prints each relevant event, ' +
      'then the outcome (with --json: one compact JSON object per line, the last {"outcome":...}). Exit 0 done, 5 needs you, 2 time passed, 1 error.')
    .option('--project <name>', 'the project to watch (default: the named tasks\' project, or every project)')
    .option('--task <id>', 'wait until this task is finished (repeatable: until every one is)', collect)
    .addOption(new Option('--until <what>', 'without --task: done = the project finished; any = any of its tasks finished')
      .choices(['done', 'any']).default('done'))
    .addOption(new Option('--wait <seconds>', 'seconds to wait in all (chained long polls; progress on stderr)').argParser(intArg(0, 86400)).default(540))
    .option('--after <seq>', 'last event seq already seen (default: the one the last `coord wait` saved for this server and project)', intArg(0))
    .action(action(wait))
}
