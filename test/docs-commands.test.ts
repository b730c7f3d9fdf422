// The documents a chat reads state the CLI's commands the same way, and every such command line
// parses with the CLI's own command definitions: README, the rules, AGENTS.md and curl.md cannot
// drift from the CLI or from each other.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CommanderError, type Command } from 'commander'
import { buildProgram } from '../clients/cli.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DOCS = ['README.md', 'AGENTS.md', 'clients/curl.md', 'clients/mcp.md', '.cursor/rules/worker-chat.mdc', '.cursor/rules/coordinator-chat.mdc']
const read = (doc: string): string => readFileSync(join(ROOT, doc), 'utf8')

/** Every `<checkout>/coord ...` command line of a document: in a code span, or a line of a code block. */
function commandsIn (text: string): string[] {
  const found: string[] = []
  for (const m of text.matchAll(/<checkout>\/coord ([^`\n]*)/g)) found.push((m[1] as string).replace(/\s+#.*$/, '').trim())
  return found
}

/** Split a command line into words as a POSIX shell would (single and double quotes). */
function shellWords (line: string): string[] {
  const words: string[] = []
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3] ?? '')
  return words
}

/** The program with every action replaced by a no-op and errors thrown instead of exiting. */
function parser (): Command {
  const program = buildProgram()
  const quiet = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} }).action(() => {})
    for (const sub of cmd.commands) quiet(sub)
  }
  quiet(program)
  return program
}

/** The worker commands, word for word as every worker-facing document states them. */
const WORKER_COMMANDS = {
  next: '<checkout>/coord next --worker worker-a --wait 540',
  heartbeat: '<checkout>/coord heartbeat --worker worker-a',
  report: '<checkout>/coord report task-001 --worker worker-a --status completed --summary "What you did, in 1-3 sentences." ' +
    '--deliverable path/one --context-score 4 --next --wait 540',
}

t.test('every documented coord command line parses with the CLI', async (t) => {
  const known = new Set(buildProgram().commands.map((c) => c.name()))
  let checked = 0
  for (const doc of DOCS) {
    for (const line of commandsIn(read(doc))) {
      const words = shellWords(line)
      if (/(^|\s)\.\.\.(\s|$)/.test(line)) continue // prose such as `<checkout>/coord next ...`: not a command line
      if (!known.has(words[0] ?? '')) {
        t.fail(`${doc}: \`coord ${line}\` names no command the CLI has`)
        continue
      }
      await t.resolves(parser().parseAsync(words, { from: 'user' }), `${doc}: coord ${line}`)
      checked++
    }
  }
  t.ok(checked >= 20, `${checked} command lines checked`)
})

t.test('a malformed command line is caught (the check can fail)', async (t) => {
  await t.rejects(parser().parseAsync(shellWords('report task-001 --worker worker-a --summary "x"'), { from: 'user' }), CommanderError)
  await t.rejects(parser().parseAsync(shellWords('next --worker worker-a --wait 9999'), { from: 'user' }), CommanderError)
})

t.test('the worker commands are spelled the same everywhere a chat reads them', async (t) => {
  const loop = ['README.md', 'clients/curl.md', '.cursor/rules/worker-chat.mdc']
  const workerDocs = { next: ['README.md', 'AGENTS.md', '.cursor/rules/worker-chat.mdc'], heartbeat: loop, report: loop }
  for (const [name, command] of Object.entries(WORKER_COMMANDS)) {
    for (const doc of workerDocs[name as keyof typeof workerDocs]) t.ok(read(doc).includes(command), `${doc} states \`${command}\``)
  }
  for (const doc of DOCS) {
    const heartbeats = commandsIn(read(doc)).filter((l) => l.startsWith('heartbeat'))
    t.same([...new Set(heartbeats)].filter((l) => l !== 'heartbeat --worker worker-a'), [], `${doc}: heartbeat has one spelling`)
  }
})
