/**
 * The acceptance-check engine: run a task's checks against its workspace when a worker reports
 * `completed`, and say for each one what was found in words the worker can act on. Pure of HTTP and
 * storage: the lifecycle passes the checks, the workspace root and the report's deliverables.
 */
import type { Check, CheckResult } from '../schemas/checks.js'
import { firstMatch, RegexTimeoutError } from './bounded-regex.js'
import { runCommand } from './command-check.js'
import { jsonErrorOffset, lineColumn } from './json-position.js'
import { compileSchema, describeSchemaErrors } from './json-schema.js'
import { countWords, markdownHeadings } from './markdown.js'
import { formatBytes, MAX_FILE_BYTES, readCheckedFile, type FileRead } from './read-file.js'
import { describeCheck, showPattern, wordRange } from './describe-check.js'
import { workspaceRelative } from './workspace.js'

/** What checks run against. */
export interface CheckContext {
  /** Workspace root (a realpath, see `resolveWorkspaceRoot`), or null when the batch names none. */
  root: string | null
  /** The report's deliverables: paths relative to the root, or absolute paths inside it. */
  deliverables: readonly string[]
  /** The task's `files.write` paths and globs, relative to the root. */
  declaredWrites: readonly string[]
  /** Whether the relative `path` matches the `files.write` `pattern`. */
  globMatches: (path: string, pattern: string) => boolean
  /** Command checks: allowed at all (COORD_COMMAND_CHECKS), and the cap on their run time in ms. */
  commands: { enabled: boolean, timeoutMs: number }
  /** Largest file read, in bytes; default 2 MiB. A larger file fails every check that reads it except existence. */
  maxFileBytes?: number
}

type Verdict = { passed: boolean, message: string, output?: string }
type FileCheck = Exclude<Check, { kind: 'deliverables' | 'command' }>

const pass = (message: string): Verdict => ({ passed: true, message })
const fail = (message: string): Verdict => ({ passed: false, message })
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`

/** Line number (from 1) and text of the line holding `index`. */
function lineAt (text: string, index: number): { line: number, text: string } {
  const start = text.lastIndexOf('\n', index - 1) + 1
  const end = text.indexOf('\n', index)
  const line = text.slice(0, start).split('\n').length
  const full = text.slice(start, end === -1 ? undefined : end).replace(/\r$/, '').trim()
  return { line, text: full.length > 200 ? full.slice(0, 200) + '…' : full }
}

/**
 * Where the JSON goes wrong (`at line 3, column 8: `) when it can be told, then JSON.parse's message on
 * one line (V8 quotes the text around the error, newlines included) and at most 200 characters.
 */
function jsonSyntaxError (text: string, err: Error): string {
  const said = err.message.replace(/\s+/g, ' ')
  const message = said.length > 200 ? said.slice(0, 200) + '…' : said
  const offset = jsonErrorOffset(text)
  if (offset === -1) return `: ${message}`
  const { line, column } = lineColumn(text, offset)
  return ` at line ${line}, column ${column}: ${message}`
}

function tooLarge (path: string, file: Extract<FileRead, { ok: true }>, maxBytes: number): Verdict {
  return fail(`${path} is ${formatBytes(file.size)}; checks read at most ${formatBytes(maxBytes)}; make it smaller, then report again.`)
}

function judgeText (check: FileCheck, text: string): Verdict {
  const { path } = check
  switch (check.kind) {
    case 'file-exists':
    case 'file-nonempty':
      return pass(`${path} exists${check.kind === 'file-nonempty' ? ' and is not empty' : ''}.`)
    case 'word-count': {
      const words = countWords(text)
      const inRange = (check.min === undefined || words >= check.min) && (check.max === undefined || words <= check.max)
      if (inRange) return pass(`${path} has ${plural(words, 'word')}.`)
      return fail(`${path} has ${plural(words, 'word')}; needs ${wordRange(check.min, check.max)}.`)
    }
    case 'contains':
    case 'lacks': {
      const shown = showPattern(check.pattern, check.flags)
      let found
      try {
        found = firstMatch(new RegExp(check.pattern, check.flags), text)
      } catch (err) {
        if (err instanceof RegexTimeoutError) return fail(`${shown} ${err.message} on ${path} and was stopped; the coordinator should simplify the pattern.`)
        return fail(`${shown} does not compile (${(err as Error).message}); the coordinator should fix the check.`)
      }
      if (check.kind === 'contains') {
        if (found === null) return fail(`${path} has no match of ${shown}; add the missing text, then report again.`)
        return pass(`${path} matches ${shown} at line ${lineAt(text, found.index).line}.`)
      }
      if (found === null) return pass(`${path} has no match of ${shown}.`)
      const at = lineAt(text, found.index)
      return fail(`${path} line ${at.line} matches ${shown}: ${JSON.stringify(at.text)}; remove it, then report again.`)
    }
    case 'json': {
      let data: unknown
      try {
        data = JSON.parse(text)
      } catch (err) {
        return fail(`${path} is not valid JSON${jsonSyntaxError(text, err as Error)}; fix the syntax, then report again.`)
      }
      if (check.schema === undefined) return pass(`${path} is valid JSON.`)
      let validate
      try {
        validate = compileSchema(check.schema)
      } catch (err) {
        return fail(`the schema for ${path} does not compile (${(err as Error).message}); the coordinator should fix the check.`)
      }
      if (validate(data)) return pass(`${path} is valid JSON matching its schema.`)
      return fail(`${path} does not match its schema: ${describeSchemaErrors(validate.errors ?? [])}; fix the document, then report again.`)
    }
    case 'headings': {
      const found = markdownHeadings(text)
      const have = new Set(found.map((h) => h.toLowerCase()))
      const missing = check.headings.filter((h) => !have.has(h.trim().toLowerCase()))
      if (missing.length === 0) return pass(`${path} has the headings ${check.headings.map((h) => JSON.stringify(h)).join(', ')}.`)
      const shown = found.slice(0, 20).map((h) => JSON.stringify(h)).join(', ') + (found.length > 20 ? `, and ${found.length - 20} more` : '')
      const one = missing.length === 1
      const foundText = found.length === 0 ? 'no Markdown headings (write them as "## Heading" lines)' : shown
      return fail(`${path} lacks the heading${one ? '' : 's'} ${missing.map((h) => JSON.stringify(h)).join(', ')}; ` +
        `found ${foundText}. Add ${one ? 'it' : 'them'}, then report again.`)
    }
  }
}

async function judgeFile (check: FileCheck, ctx: CheckContext, read: (path: string) => Promise<FileRead>): Promise<Verdict> {
  if (ctx.root === null) return fail(`the batch names no workspace, so ${check.path} cannot be checked; the coordinator should name a workspace.`)
  const file = await read(check.path)
  if (!file.ok) return fail(file.message)
  const maxBytes = ctx.maxFileBytes ?? MAX_FILE_BYTES
  if (check.kind === 'file-exists') return pass(`${check.path} exists.`)
  // A long file that is not blank at its start is not empty, whatever its size.
  if (check.kind === 'file-nonempty' && /\S/.test(file.text)) return pass(`${check.path} exists and is not empty.`)
  if (file.truncated) return tooLarge(check.path, file, maxBytes)
  if (check.kind === 'file-nonempty') return fail(`${check.path} is empty${file.size > 0 ? ' (only whitespace)' : ''}; write its content, then report again.`)
  return judgeText(check, file.text)
}

function judgeDeliverables (ctx: CheckContext): Verdict {
  if (ctx.declaredWrites.length === 0) return pass('the task declares no files.write, so there is nothing to cover.')
  const given = ctx.deliverables.map((d) => workspaceRelative(ctx.root, d))
  const missing = ctx.declaredWrites.filter((w) => !given.some((d) => ctx.globMatches(d, w)))
  if (missing.length === 0) return pass(`the deliverables cover all ${plural(ctx.declaredWrites.length, 'declared write')}.`)
  return fail(`the report's deliverables omit ${missing.join(', ')} (declared in files.write; a glob needs at least one matching file); ` +
    'list every file you wrote in deliverables, then report again.')
}

async function judgeCommand (check: Extract<Check, { kind: 'command' }>, ctx: CheckContext): Promise<Verdict> {
  const shown = `\`${check.run}\``
  if (!ctx.commands.enabled) return fail(`${shown} was not run: command checks are disabled on this server (COORD_COMMAND_CHECKS is not true).`)
  if (ctx.root === null) return fail(`${shown} was not run: the batch names no workspace to run it in.`)
  const timeoutMs = Math.min(check.timeoutSeconds === undefined ? Infinity : check.timeoutSeconds * 1000, ctx.commands.timeoutMs)
  const outcome = await runCommand(check.run, ctx.root, timeoutMs)
  const output = outcome.output
  const lastLine = output.trimEnd().split('\n').at(-1)?.trim() ?? ''
  const tail = lastLine === '' ? '' : ` Last line of output: ${JSON.stringify(lastLine.slice(0, 200))}.`
  switch (outcome.kind) {
    case 'exited':
      return outcome.code === 0
        ? { passed: true, message: `${shown} exited 0.`, output }
        : { passed: false, message: `${shown} exited with code ${outcome.code}; needs 0.${tail}`, output }
    case 'signaled':
      return { passed: false, message: `${shown} was killed by ${outcome.signal}.${tail}`, output }
    case 'timed-out':
      return { passed: false, message: `${shown} timed out after ${seconds(timeoutMs)} and was killed; make it finish sooner.${tail}`, output }
    case 'not-started':
      return { passed: false, message: `${shown} could not be started (${outcome.error}).`, output }
  }
}

/**
 * Run `checks` in order against `ctx` and say how each went. Never throws for a bad file: a missing,
 * unreadable, too-large or escaping file is a failed result whose message names the file and the fix.
 * Each file is read once per call, however many checks read it.
 *
 * @returns one result per check, in order, with `index` its position in `checks`
 */
export async function runChecks (checks: readonly Check[], ctx: CheckContext): Promise<CheckResult[]> {
  const reads = new Map<string, Promise<FileRead>>()
  const read = (path: string): Promise<FileRead> => {
    let file = reads.get(path)
    if (file === undefined) {
      file = readCheckedFile(ctx.root ?? '', path, ctx.maxFileBytes ?? MAX_FILE_BYTES)
      reads.set(path, file)
    }
    return file
  }
  const results: CheckResult[] = []
  for (const [index, check] of checks.entries()) {
    // One at a time: a command may write the files later checks read.
    const verdict = check.kind === 'deliverables'
      ? judgeDeliverables(ctx)
      : check.kind === 'command' ? await judgeCommand(check, ctx) : await judgeFile(check, ctx, read)
    if (check.kind === 'command') reads.clear()
    results.push({ index, kind: check.kind, label: describeCheck(check), ...verdict })
  }
  return results
}
