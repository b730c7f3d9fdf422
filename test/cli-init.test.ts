/**
 * `coord init` as a user runs it in their own project: a child process writing into a temporary
 * folder. It writes the rules, the AGENTS.md and CLAUDE.md sections and `.cursor/mcp.json` pointing
 * at this CLI and the given server, keeps what the user had, changes nothing on a second run, and
 * never overwrites the user's edits without `--force`.
 */
import t from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCoord } from './coord-process.js'
import { tempDir } from './helper.js'

// Each run is a child process compiling TypeScript through tap's loader (2-4 s each, more under load).
t.setTimeout(300_000)

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** The CLI the written files name: run from the sources, `coord` is the checkout's root executable. */
const EXE = join(ROOT, 'coord')
const URL_ = 'http://127.0.0.1:4567'
const FILES = ['.cursor/rules/worker-chat.mdc', '.cursor/rules/coordinator-chat.mdc', 'AGENTS.md', 'CLAUDE.md', '.cursor/mcp.json']

const read = (dir: string, file: string): string => readFileSync(join(dir, file), 'utf8')
const snapshot = (dir: string): string[] => FILES.map((f) => read(dir, f))
/** The outcome word `coord init` printed for `file`. */
const outcome = (stdout: string, file: string): string | undefined => new RegExp(`^\\s+(\\w+)\\s+${file.replaceAll('.', '\\.')}`, 'm').exec(stdout)?.[1]

t.test('init writes rules, sections and the MCP server for this CLI and URL, keeps the user\'s content, and a second run changes nothing', async (t) => {
  const dir = tempDir('coord-init-')
  writeFileSync(join(dir, 'AGENTS.md'), '# My project\n\nOur own agent notes.\n')
  mkdirSync(join(dir, '.cursor'))
  writeFileSync(join(dir, '.cursor', 'mcp.json'), JSON.stringify({ mcpServers: { other: { command: 'other-tool' } }, theirs: 1 }))

  const first = await runCoord(URL_, ['init', dir])
  t.equal(first.code, 0, first.stderr)
  for (const file of FILES) t.ok(['wrote', 'updated'].includes(outcome(first.stdout, file) ?? ''), `${file} reported written: ${first.stdout}`)

  const worker = read(dir, '.cursor/rules/worker-chat.mdc')
  t.match(worker, /^---\ndescription: /, 'the rules keep their front matter first')
  t.match(worker, `${EXE} --url ${URL_} next --worker worker-a --wait 540`, 'the worker rules run this CLI against the given server')
  t.notMatch(worker, '<checkout>', 'no placeholder left')
  t.notMatch(worker, 'http://127.0.0.1:3100', 'no other server')
  t.match(read(dir, '.cursor/rules/coordinator-chat.mdc'), `${EXE} --url ${URL_} create batch.json`)

  const agents = read(dir, 'AGENTS.md')
  t.ok(agents.startsWith('# My project\n\nOur own agent notes.\n'), 'the user\'s AGENTS.md text is kept, first')
  t.match(agents, /<!-- coord:begin[^\n]*-->\n[\s\S]*\.cursor\/rules\/worker-chat\.mdc[\s\S]*<!-- coord:end -->\n$/)
  t.match(agents, `${EXE} --url ${URL_} next --worker worker-a --wait 540`)
  t.match(read(dir, 'CLAUDE.md'), /^<!-- coord:begin[\s\S]*coordinator-chat\.mdc[\s\S]*<!-- coord:end -->\n$/, 'CLAUDE.md gets the same section')

  const mcp = JSON.parse(read(dir, '.cursor/mcp.json')) as Record<string, any>
  t.same(mcp.mcpServers.coord, { command: EXE, args: ['mcp'], env: { COORD_URL: URL_ } }, 'the coord MCP server runs this CLI')
  t.same(mcp.mcpServers.other, { command: 'other-tool' }, 'the user\'s other MCP server is kept')
  t.equal(mcp.theirs, 1, 'and the rest of their file')

  const before = snapshot(dir)
  const second = await runCoord(URL_, ['init', dir])
  t.equal(second.code, 0, second.stderr)
  for (const file of FILES) t.equal(outcome(second.stdout, file), 'unchanged', `${file}: unchanged on the second run`)
  t.same(snapshot(dir), before, 'the second run changed no file')
})

t.test('init keeps the user\'s edits (says "skipped") unless --force', async (t) => {
  const dir = tempDir('coord-init-')
  t.equal((await runCoord(URL_, ['init', dir])).code, 0)
  const edited = read(dir, '.cursor/rules/worker-chat.mdc') + '\nAlways run the linter before reporting.\n'
  writeFileSync(join(dir, '.cursor/rules/worker-chat.mdc'), edited)
  const agents = read(dir, 'AGENTS.md').replace('Follow the rules for your role', 'Follow OUR rules for your role')
  writeFileSync(join(dir, 'AGENTS.md'), `# Notes written after init\n\n${agents}`)
  writeFileSync(join(dir, 'CLAUDE.md'), `${read(dir, 'CLAUDE.md')}\nMore notes of the user, after the section.\n`)

  const kept = await runCoord(URL_, ['init', dir])
  t.equal(kept.code, 0, kept.stderr)
  t.equal(outcome(kept.stdout, '.cursor/rules/worker-chat.mdc'), 'skipped', kept.stdout)
  t.equal(outcome(kept.stdout, 'AGENTS.md'), 'skipped', 'an edited section is kept')
  t.equal(outcome(kept.stdout, 'CLAUDE.md'), 'unchanged', 'text around an unedited section does not count as an edit')
  t.match(kept.stdout, /--force/, 'says how to overwrite')
  t.equal(read(dir, '.cursor/rules/worker-chat.mdc'), edited, 'the edited rules file is untouched')
  t.match(read(dir, 'AGENTS.md'), 'Follow OUR rules', 'the edited section is untouched')

  const forced = await runCoord(URL_, ['init', dir, '--force'])
  t.equal(forced.code, 0, forced.stderr)
  t.equal(outcome(forced.stdout, '.cursor/rules/worker-chat.mdc'), 'updated')
  t.notMatch(read(dir, '.cursor/rules/worker-chat.mdc'), 'Always run the linter', '--force writes the rules again')
  const after = read(dir, 'AGENTS.md')
  t.notMatch(after, 'Follow OUR rules', '--force writes the section again')
  t.ok(after.startsWith('# Notes written after init\n\n'), 'the user\'s text outside the section stays')
  t.match(read(dir, 'CLAUDE.md'), 'More notes of the user, after the section.')
})
