/**
 * `coord init [dir]`: set up a project folder so that its chats can take part, with no pointer to
 * this checkout's own files. Writes, from the rules this package ships (read at run time, so they are
 * the installed version's):
 *   .cursor/rules/worker-chat.mdc, .cursor/rules/coordinator-chat.mdc — with `<checkout>/coord`
 *     replaced by the command that runs this CLI and the default URL by `--url`;
 *   a section of AGENTS.md and of CLAUDE.md between `<!-- coord:begin -->` and `<!-- coord:end -->`;
 *   the `coord` server of `.cursor/mcp.json` (merged into the file's `mcpServers`, the others kept).
 *
 * Idempotent: a second run changes nothing. What it wrote carries a hash of its content, so a later
 * run updates its own unchanged output (a newer version of the rules) but leaves anything the user
 * edited alone unless `--force`, and says so ("skipped").
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import type { Command } from 'commander'
import { packageRoot } from '../src/paths.js'
import { action, EXIT, UsageError, type CliContext } from './cli-common.js'
import { DEFAULT_URL } from './client.js'
import { shellWord } from './cli-hints.js'

/** What happened to one file. */
export type InitOutcome = 'wrote' | 'updated' | 'unchanged' | 'skipped'

/** One file's result: its path (relative to the project folder), the outcome and, when skipped, why. */
export interface InitResult { file: string, outcome: InitOutcome, why?: string }

/** The new content of a file, or why it is left as it is. */
type Plan = { outcome: 'wrote' | 'updated' | 'unchanged', content: string } | { outcome: 'skipped', why: string }

const RULES = ['worker-chat.mdc', 'coordinator-chat.mdc']
const BEGIN = '<!-- coord:begin'
const END = '<!-- coord:end -->'
const EDITED = 'edited since coord init wrote it: kept (--force overwrites it)'

const hash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16)

function readOrNull (file: string): string | null {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new UsageError(`Cannot read ${file}: ${(err as Error).message}`)
  }
}

/** The stamp line of a generated rules file, carrying the hash of the file without it. */
const STAMP_RE = /^<!-- written by coord init \(edit freely: a later coord init keeps your edits\) sha256:([0-9a-f]{16}) -->\n/m

/** A rules file with its stamp inserted after the front matter (`---` ... `---`), if any. */
function stamped (body: string): string {
  const stamp = `<!-- written by coord init (edit freely: a later coord init keeps your edits) sha256:${hash(body)} -->\n`
  const front = /^---\n[\s\S]*?\n---\n/.exec(body)
  const at = front === null ? 0 : front[0].length
  return body.slice(0, at) + stamp + body.slice(at)
}

/** Whether `text` is a rules file as coord init wrote it: its stamp matches the rest. */
function unedited (text: string): boolean {
  const m = STAMP_RE.exec(text)
  return m !== null && hash(text.replace(STAMP_RE, '')) === m[1]
}

/** Plan a whole generated file. */
function planFile (current: string | null, generated: string, force: boolean): Plan {
  if (current === null) return { outcome: 'wrote', content: generated }
  if (current === generated) return { outcome: 'unchanged', content: current }
  if (force || unedited(current)) return { outcome: 'updated', content: generated }
  return { outcome: 'skipped', why: STAMP_RE.test(current) ? EDITED : 'not written by coord init: kept (--force overwrites it)' }
}

/** The marked block for `body`, with the hash that tells a later run whether the user edited it. */
const block = (body: string): string => `${BEGIN} sha256:${hash(body)} -->\n${body}\n${END}`

/** Plan a file that holds our block among the user's own text: added at the end, or replaced in place. */
function planBlock (current: string | null, body: string, force: boolean): Plan {
  const ours = block(body)
  if (current === null) return { outcome: 'wrote', content: ours + '\n' }
  const start = current.indexOf(BEGIN)
  const end = start < 0 ? -1 : current.indexOf(END, start)
  if (start < 0 || end < 0) return { outcome: 'updated', content: `${current.trimEnd()}${current.trim() === '' ? '' : '\n\n'}${ours}\n` }
  const existing = current.slice(start, end + END.length)
  if (existing === ours) return { outcome: 'unchanged', content: current }
  const m = /^<!-- coord:begin sha256:([0-9a-f]{16}) -->\n([\s\S]*)\n<!-- coord:end -->$/.exec(existing)
  if (!force && (m === null || hash(m[2] as string) !== m[1])) return { outcome: 'skipped', why: `its coord section was ${EDITED}` }
  return { outcome: 'updated', content: current.slice(0, start) + ours + current.slice(end + END.length) }
}

/** Plan `.cursor/mcp.json`: our `coord` server merged into `mcpServers`, every other key kept. */
function planMcp (current: string | null, entry: Record<string, unknown>, force: boolean): Plan {
  if (current === null) return { outcome: 'wrote', content: JSON.stringify({ mcpServers: { coord: entry } }, null, 2) + '\n' }
  let config: { mcpServers?: Record<string, unknown> }
  try {
    config = JSON.parse(current) as typeof config
  } catch (err) {
    return { outcome: 'skipped', why: `not valid JSON (${(err as Error).message}): fix it, then run coord init again` }
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return { outcome: 'skipped', why: 'not a JSON object: kept' }
  const servers = config.mcpServers ?? {}
  if (JSON.stringify(servers.coord) === JSON.stringify(entry)) return { outcome: 'unchanged', content: current }
  if (servers.coord !== undefined && !force) return { outcome: 'skipped', why: 'has a different "coord" server: kept (--force replaces it)' }
  return { outcome: 'updated', content: JSON.stringify({ ...config, mcpServers: { ...servers, coord: entry } }, null, 2) + '\n' }
}

/** The AGENTS.md / CLAUDE.md section: who follows which rules, and the first commands. */
function section (coord: string, serve: string, url: string): string {
  return [
    '## Coordination server',
    '',
    `Several AI chats work this project together through a coordination server (${url}). Follow the rules for your role:`,
    '',
    '- worker: [.cursor/rules/worker-chat.mdc](.cursor/rules/worker-chat.mdc)',
    '- coordinator: [.cursor/rules/coordinator-chat.mdc](.cursor/rules/coordinator-chat.mdc)',
    '',
    `Start the server once, in a terminal of its own: \`${serve}\`. A worker's first command:`,
    `\`${coord} next --worker worker-a --wait 540\` (pass \`--worker\` on every worker command). A coordinator posts`,
    `tasks with \`${coord} create batch.json\` and waits with \`${coord} wait --project my-project --wait 540\`.`,
    `MCP tools: the \`coord\` server of .cursor/mcp.json (\`${coord} mcp\`). Every command has \`--help\`.`,
  ].join('\n')
}

/** Options of `coord init`. */
export interface InitOptions {
  /** The command that runs `coord` in the written files; default: `coord` when it was run from PATH, else this CLI's absolute path. */
  cli?: string
  force?: boolean
}

/**
 * Write the coordination setup into `dir` (created if missing) for the server at `url`.
 * @returns one result per file, in the order written
 * @throws UsageError when a file cannot be read or written
 */
export function initProject (dir: string, url: string, exe: string, force: boolean): InitResult[] {
  const sh = shellWord(exe)
  const coord = url === DEFAULT_URL ? sh : `${sh} --url ${shellWord(url)}`
  const port = new URL(url).port
  const serve = `${sh} serve${url === DEFAULT_URL || port === '' ? '' : ` --port ${port}`}`
  const withCli = (text: string): string => text.replaceAll('<checkout>/coord', coord).replaceAll(DEFAULT_URL, url)
  const plans: Array<[string, (current: string | null) => Plan]> = [
    ...RULES.map((name): [string, (c: string | null) => Plan] => [join('.cursor', 'rules', name),
      (c) => planFile(c, stamped(withCli(readFileSync(join(packageRoot, '.cursor', 'rules', name), 'utf8'))), force)]),
    ['AGENTS.md', (c) => planBlock(c, section(coord, serve, url), force)],
    ['CLAUDE.md', (c) => planBlock(c, section(coord, serve, url), force)],
    [join('.cursor', 'mcp.json'), (c) => planMcp(c, { command: exe, args: ['mcp'], env: { COORD_URL: url } }, force)],
  ]
  return plans.map(([file, plan]) => {
    const path = join(dir, file)
    const current = readOrNull(path)
    const p = plan(current)
    if (p.outcome === 'skipped') return { file, outcome: p.outcome, why: p.why }
    if (p.outcome !== 'unchanged') {
      try {
        mkdirSync(dirname(path), { recursive: true })
        writeFileSync(path, p.content)
      } catch (err) {
        throw new UsageError(`Cannot write ${path}: ${(err as Error).message}`)
      }
    }
    return { file, outcome: p.outcome }
  })
}

async function init (ctx: CliContext, opts: InitOptions, [dirArg]: string[]): Promise<number> {
  const dir = resolve(dirArg ?? '.')
  const exe = opts.cli ?? (ctx.exe === 'coord' ? 'coord' : join(packageRoot, 'coord'))
  const results = initProject(dir, ctx.opts.url, exe, opts.force === true)
  const skipped = results.filter((r) => r.outcome === 'skipped')
  ctx.print({ dir, cli: exe, url: ctx.opts.url, files: results }, () => [
    `coord init in ${dir} (CLI: ${exe}, server: ${ctx.opts.url})`,
    ...results.map((r) => `  ${r.outcome.padEnd(9)} ${relative(dir, join(dir, r.file))}${r.why === undefined ? '' : ` — ${r.why}`}`),
    skipped.length === 0
      ? 'Done. Start the server (the command is in AGENTS.md), then tell each chat its role: worker or coordinator.'
      : `${skipped.length} file(s) skipped, left as they are. Run again with --force to overwrite them.`,
  ].join('\n'))
  return EXIT.OK
}

/** Add `coord init` to `program`. */
export function addInitCommand (program: Command): void {
  program.command('init')
    .description('Set up a project folder for coordinated chats: .cursor/rules/worker-chat.mdc and coordinator-chat.mdc, a section of ' +
      'AGENTS.md and CLAUDE.md, the coord server in .cursor/mcp.json; all pointing at this CLI and --url. Safe to run again: it changes ' +
      'nothing that is current and keeps your edits (prints "skipped") unless --force. Prints what it wrote.')
    .argument('[dir]', 'the project folder (default: the current folder)')
    .option('--cli <command>', 'the command the written files use to run coord (default: `coord` when run from PATH, else this CLI\'s absolute path)')
    .option('--force', 'overwrite files and sections you edited')
    .action(action(init))
}
