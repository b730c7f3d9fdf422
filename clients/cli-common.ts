/**
 * What every `coord` subcommand shares: the global options, the client, the worker's identity and
 * state, output in text or JSON, and the exit codes.
 */
import { InvalidArgumentError, type Command } from 'commander'
import { ID_PATTERN } from '../src/schemas/common.js'
import { CoordApiError, CoordClient, CoordConnectionError } from './client.js'
import { StateStore } from './worker-state.js'

/** Exit codes. `next` and `report --next` use EMPTY and FINISHED; worker commands use CONFLICT on 409. */
export const EXIT = {
  OK: 0,
  /** Any error: bad usage, server unreachable, 4xx/5xx not listed below. */
  ERROR: 1,
  /** No task within the wait (HTTP 204): run `coord next` again. */
  EMPTY: 2,
  /** The project is closed and every task finished (HTTP 410): stop. */
  FINISHED: 3,
  /** The server refused a report or heartbeat (HTTP 409): the task is no longer yours. */
  CONFLICT: 4,
  /** `coord serve`: invalid configuration (EX_CONFIG). */
  CONFIG: 78,
} as const

/** Options defined on the program, available to every subcommand. */
export interface GlobalOptions {
  url: string
  worker?: string
  stateDir: string
  json?: boolean
}

/** A mistake the user can fix (missing worker id, no saved lease, unreadable file). */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

const idRe = new RegExp(ID_PATTERN)

/** The per-invocation context built from the global options. */
export class CliContext {
  readonly opts: GlobalOptions
  readonly state: StateStore
  private lazyClient: CoordClient | undefined

  constructor (cmd: Command) {
    this.opts = cmd.optsWithGlobals<GlobalOptions>()
    this.state = new StateStore(this.opts.stateDir)
  }

  get json (): boolean {
    return this.opts.json === true
  }

  get client (): CoordClient {
    this.lazyClient ??= new CoordClient(this.opts.url)
    return this.lazyClient
  }

  /**
   * This worker's id: `--worker` / COORD_WORKER, else the one saved by an earlier command in the state
   * directory. Several chats may share a directory: given `taskId`, a saved id is replaced by the
   * worker whose state holds that task's lease. An explicit id is saved as the new default.
   * @throws UsageError when there is no id or it is malformed
   */
  worker (taskId?: string): string {
    let id = this.opts.worker ?? this.state.lastWorker()
    if (this.opts.worker === undefined && id !== null) {
      const holders = taskId === undefined ? [] : this.state.holders(taskId)
      if (holders.length === 1 && holders[0] !== id) id = holders[0] as string
      const others = this.state.workers().filter((w) => w !== id)
      if (holders.length !== 1 && others.length > 0) {
        process.stderr.write(`Note: acting as worker ${id} (last used in ${this.state.dir}); ` +
          `workers ${others.join(', ')} share this directory, so pass --worker to be sure.\n`)
      }
    }
    if (id === null || id === '') {
      throw new UsageError('No worker id: pass --worker <id> (or set COORD_WORKER) once, e.g. `coord next --worker worker-a`; ' +
        `later commands run in ${this.state.dir} reuse it.`)
    }
    if (!idRe.test(id)) {
      throw new UsageError(`Invalid worker id ${JSON.stringify(id)}: use letters, digits and . _ : @ -, ` +
        'starting with a letter or digit, at most 128 characters.')
    }
    // An id given explicitly becomes the default of later commands; an inferred one does not.
    if (this.opts.worker !== undefined && this.state.lastWorker() !== id) this.state.setLastWorker(id)
    return id
  }

  /** Print `data` as JSON with --json, else the text `human()` makes. */
  print (data: unknown, human: () => string): void {
    process.stdout.write((this.json ? JSON.stringify(data, null, 2) : human()) + '\n')
  }

  async close (): Promise<void> {
    await this.lazyClient?.close()
  }
}

/** Tell the user what went wrong on stderr and choose the exit code. */
export function reportError (err: unknown): number {
  if (err instanceof CoordApiError) {
    const details = err.details === undefined ? '' : `\n${JSON.stringify(err.details, null, 2)}`
    process.stderr.write(`Error ${err.statusCode} ${err.code}: ${err.message}${details}\n`)
  } else if (err instanceof CoordConnectionError || err instanceof UsageError) {
    process.stderr.write(`Error: ${err.message}\n`)
  } else {
    process.stderr.write(`Error: ${(err as Error).stack ?? String(err)}\n`)
  }
  return EXIT.ERROR
}

/**
 * Wrap a subcommand body: build the context, run, set the exit code, always close the client.
 * The body gets the command's own options, its positional arguments and the context.
 */
export function action<O> (body: (ctx: CliContext, opts: O, args: string[]) => Promise<number>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command
    const opts = args[args.length - 2] as O
    const positional = args.slice(0, -2) as string[]
    const ctx = new CliContext(cmd)
    try {
      process.exitCode = await body(ctx, opts, positional)
    } catch (err) {
      process.exitCode = reportError(err)
    } finally {
      await ctx.close()
    }
  }
}

/** Commander parser for a non-negative integer option (seconds, counts). */
export function intArg (min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`)
    return n
  }
}

/** Commander parser for a repeatable option: collects every value in order. */
export function collect (value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/** Read all of stdin as text (for `-` arguments). */
export async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
