/**
 * What every `coord` subcommand shares: the global options, the client, the worker's identity and
 * state, output in text or JSON, and the exit codes.
 */
import { InvalidArgumentError, type Command } from 'commander'
import { ID_PATTERN } from '../src/schemas/common.js'
import { CoordApiError, CoordClient, CoordConnectionError } from './client.js'
import { commandLine, invokedAs, type HintFlags } from './cli-hints.js'
import { defaultStateDir, StateStore } from './worker-state.js'

/**
 * Exit codes. `next` and `report --next` use EMPTY and FINISHED; worker commands use CONFLICT on 409;
 * `report` uses CHECKS_FAILED on a 422 that leaves the lease with the worker; `coord wait` uses ATTENTION.
 */
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
  /** `coord wait`: something needs the coordinator (a question, a failure for good, a review, an escalation). */
  ATTENTION: 5,
  /**
   * `coord report --status completed`: the task's checks failed (HTTP 422 CHECKS_FAILED). The lease is
   * kept and extended: fix the output and run the same report again. (When the checks failed once too
   * often the task goes to the engineer instead, and the exit is CONFLICT: it is no longer yours.)
   */
  CHECKS_FAILED: 6,
  /** `coord serve`: invalid configuration (EX_CONFIG). */
  CONFIG: 78,
} as const

/** Options defined on the program, available to every subcommand. */
export interface GlobalOptions {
  url: string
  worker?: string
  /** Given with `--state-dir` / COORD_STATE_DIR; otherwise `defaultStateDir(url)`. */
  stateDir?: string
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
  /** How to call `coord` again in hints (see `invokedAs`). */
  readonly exe: string
  /** The subcommand's poll options (`--project`, `--type`, `--wait`), repeated in hints. */
  private readonly pollFlags: Pick<HintFlags, 'project' | 'type' | 'wait'>
  private lazyClient: CoordClient | undefined
  private resolvedWorker: string | undefined

  constructor (cmd: Command) {
    this.opts = cmd.optsWithGlobals<GlobalOptions>()
    // The state dir is shared by every chat on the machine, keyed by server: never the current folder.
    this.state = new StateStore(this.opts.stateDir ?? defaultStateDir(this.opts.url))
    this.exe = invokedAs(process.argv[1])
    const own = cmd.opts<{ project?: string, type?: string, wait?: number }>()
    this.pollFlags = { project: own.project, type: own.type, wait: own.wait }
  }

  get json (): boolean {
    return this.opts.json === true
  }

  get client (): CoordClient {
    this.lazyClient ??= new CoordClient(this.opts.url)
    return this.lazyClient
  }

  /**
   * A `coord` command line to print as a hint (see `commandLine`): `head` (subcommand, arguments), the
   * flags this command was given — `--worker` (the one in use), `--url` unless default, `--state-dir`
   * when given — then `tail` and, with `poll`, `--project`, `--type`, `--wait` unless default.
   */
  command (head: string[], opts: { tail?: string[], poll?: boolean } = {}, worker = this.resolvedWorker ?? this.opts.worker): string {
    return commandLine(this.exe, head, { worker, url: this.opts.url, stateDir: this.opts.stateDir, ...this.pollFlags }, opts)
  }

  /**
   * A coordinator's command line to print as a hint: `head`, then `--url` unless default and
   * `--state-dir` when given, then `tail`. No `--worker`: coordinator commands act as nobody.
   */
  coordinatorCommand (head: string[], tail: string[] = []): string {
    return commandLine(this.exe, head, { url: this.opts.url, stateDir: this.opts.stateDir }, { tail })
  }

  /**
   * This worker's id: `--worker` / COORD_WORKER; else, given `taskId` (`report`, `heartbeat`), the one
   * worker whose state here holds a lease on that task; else, for `heartbeat` (`anyLease`), the one
   * worker here holding a live lease. The state dir is shared by every chat on the machine, so
   * nothing is guessed beyond that.
   * @throws UsageError when there is no id (showing the command with `--worker`) or it is malformed
   */
  worker (taskId?: string, example: { head: string[], tail?: string[], poll?: boolean } = { head: ['next'], poll: true }, anyLease = false): string {
    let id = this.opts.worker
    if (id === undefined && (taskId !== undefined || anyLease)) {
      const holders = taskId !== undefined ? this.state.holders(taskId) : this.state.liveHolders()
      if (holders.length === 1) id = holders[0]
    }
    if (id === undefined || id === '') {
      const shown = this.command(example.head, example, 'YOUR_WORKER_ID')
      throw new UsageError(`No worker id: pass --worker (or set COORD_WORKER) on every command, e.g.\n  ${shown}`)
    }
    if (!idRe.test(id)) {
      throw new UsageError(`Invalid worker id ${JSON.stringify(id)}: use letters, digits and . _ : @ -, starting with a letter or digit, ` +
        'at most 128 characters.')
    }
    this.resolvedWorker = id
    return id
  }

  /** Print `data` with --json as one compact JSON line (JSON Lines when called repeatedly), else the text `human()` makes. */
  print (data: unknown, human: () => string): void {
    process.stdout.write((this.json ? JSON.stringify(data) : human()) + '\n')
  }

  async close (): Promise<void> {
    await this.lazyClient?.close()
  }
}

/**
 * What went wrong as one JSON object, for `--json`: `{"error": {"code", "message", "status"?, "details"?}}`
 * with the API's own code and status for an API error, `CONNECTION_FAILED` when the server cannot be
 * reached, `USAGE` for a command line to fix, `INTERNAL` for a bug in the CLI.
 */
export function errorJson (err: unknown): { error: { code: string, message: string, status?: number, details?: unknown } } {
  if (err instanceof CoordApiError) {
    return { error: { code: err.code, message: err.message, status: err.statusCode, ...(err.details === undefined ? {} : { details: err.details }) } }
  }
  if (err instanceof CoordConnectionError) return { error: { code: 'CONNECTION_FAILED', message: err.message } }
  if (err instanceof UsageError || err instanceof InvalidArgumentError) return { error: { code: 'USAGE', message: err.message } }
  return { error: { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) } }
}

/**
 * Tell the user what went wrong on stderr and choose the exit code. With `json`, one compact JSON
 * line (`errorJson`) instead of text, still on stderr: stdout keeps only answers.
 */
export function reportError (err: unknown, json = false): number {
  if (json) {
    process.stderr.write(JSON.stringify(errorJson(err)) + '\n')
  } else if (err instanceof CoordApiError) {
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
      process.exitCode = reportError(err, ctx.json)
    } finally {
      await ctx.close()
    }
  }
}

/**
 * Commander parser for `--url` / COORD_URL: a base URL; `host:port` without a scheme (`127.0.0.1:3500`)
 * means `http://host:port`. Anything else that is not an http(s) URL is a one-line usage error.
 */
export function urlArg (value: string): string {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new InvalidArgumentError('not a server URL: expected e.g. http://127.0.0.1:3100 (or 127.0.0.1:3100).')
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidArgumentError(`${parsed.protocol} is not served: use http://host:port, e.g. http://127.0.0.1:3100.`)
  }
  return url
}

/**
 * Route commander's own errors (unknown option, missing argument, bad value) through `reportError`'s
 * JSON form when `--json` was given; text as before otherwise.
 */
export function jsonParseErrors (program: Command): Command {
  const json = (): boolean => program.opts<GlobalOptions>().json === true
  return program.configureOutput({
    outputError: (text, write) => {
      if (!json()) return write(text)
      const message = text.split('\n')[0]?.replace(/^error: /, '') ?? text
      process.stderr.write(JSON.stringify({ error: { code: 'USAGE', message } }) + '\n')
    },
    // With --json, stderr carries only that JSON line: not the "(run with --help for usage)" after it.
    writeErr: (text) => { if (!json()) process.stderr.write(text) },
  })
}

/**
 * A `preAction` hook requiring options a command does not declare mandatory to commander, which checks
 * mandatory options before arguments (`coord report` with no task id would complain about --status).
 * Hooks run after the arguments are checked, and are kept by a parser whose actions are replaced (the
 * docs' command check). `required` maps each option key to its flag as shown.
 */
export function requiredOptions (required: Record<string, string>): (thisCommand: Command, actionCommand: Command) => void {
  return (_thisCommand, actionCommand) => {
    const opts = actionCommand.opts<Record<string, unknown>>()
    for (const [key, flag] of Object.entries(required)) {
      if (opts[key] === undefined) actionCommand.error(`error: required option '${flag}' not specified`, { code: 'commander.missingMandatoryOptionValue' })
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
