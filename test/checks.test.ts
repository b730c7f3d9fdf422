// The acceptance-check engine as a coordinator and a worker meet it: each kind passing and failing with
// the message the worker reads, paths that must stay inside the workspace, command checks, and the
// problems a coordinator is told about when it creates a task.
import t, { type Test } from 'tap'
import fc from 'fast-check'
import picomatch from 'picomatch'
import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Check, CheckResult } from '../src/schemas/checks.js'
import { runChecks, type CheckContext } from '../src/checks/run-checks.js'
import { checkProblems, describeCheck } from '../src/checks/validate-checks.js'
import { checkPathInside, openInside, resolveWorkspaceRoot } from '../src/checks/workspace.js'
import { jsonErrorOffset } from '../src/checks/json-position.js'

// What no message may show; checks below look for `ZEBRA`, so that a read would match.
const SECRET = 'ZEBRA-SECRET-4821'

/** A workspace root holding `files`, beside a folder `outside` whose secret.txt no message may show. */
function workspace (t: Test, files: Record<string, string> = {}): { root: string, outside: string } {
  const dir = realpathSync(t.testdir({ root: {}, outside: { 'secret.txt': `${SECRET}\n` } }))
  const root = join(dir, 'root')
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), content)
  }
  return { root, outside: join(dir, 'outside') }
}

function context (root: string | null, extra: Partial<CheckContext> = {}): CheckContext {
  return {
    root,
    deliverables: [],
    declaredWrites: [],
    globMatches: (path, pattern) => path === pattern || picomatch.isMatch(path, pattern),
    commands: { enabled: true, timeoutMs: 10_000 },
    ...extra,
  }
}

async function one (check: Check, ctx: CheckContext): Promise<CheckResult> {
  const [result] = await runChecks([check], ctx)
  if (result === undefined) throw new Error('no result')
  return result
}

const words = (n: number): string => Array.from({ length: n }, (_, i) => `w${i}`).join(' ')

t.test('file-exists, file-nonempty, word-count: pass, and fail with what to do', async (t) => {
  const { root } = workspace(t, { 'out/summary.md': words(87), 'out/blank.md': ' \n\t\n', 'out/long.md': words(300) })
  const ctx = context(root)
  const missing = await one({ kind: 'file-exists', path: 'out/none.md' }, ctx)
  t.match(missing, { index: 0, kind: 'file-exists', passed: false, label: 'out/none.md exists' })
  t.equal(missing.message, 'out/none.md does not exist; write it, then report again.')
  t.equal((await one({ kind: 'file-exists', path: 'out/summary.md' }, ctx)).passed, true)
  t.match(await one({ kind: 'file-nonempty', path: 'out/blank.md' }, ctx), {
    passed: false, message: 'out/blank.md is empty (only whitespace); write its content, then report again.',
  })
  t.equal((await one({ kind: 'file-nonempty', path: 'out/summary.md' }, ctx)).passed, true)
  const range = { kind: 'word-count', path: 'out/summary.md', min: 150, max: 250 } as const
  t.match(await one(range, ctx), { passed: false, label: 'out/summary.md has 150–250 words', message: 'out/summary.md has 87 words; needs 150–250.' })
  t.match(await one({ ...range, path: 'out/long.md' }, ctx), { passed: false, message: 'out/long.md has 300 words; needs 150–250.' })
  t.match(await one({ kind: 'word-count', path: 'out/summary.md', min: 150 }, ctx), { passed: false, message: /needs at least 150\.$/ })
  t.match(await one({ kind: 'word-count', path: 'out/long.md', max: 250 }, ctx), { passed: false, message: /needs at most 250\.$/ })
  t.match(await one({ kind: 'word-count', path: 'out/summary.md', min: 50, max: 100 }, ctx), { passed: true, message: 'out/summary.md has 87 words.' })
})

t.test('contains and lacks: the first offending line is quoted with its number', async (t) => {
  const { root } = workspace(t, { 'out/a.md': '# Summary\n\nAll done.\n- todo: add sources\nTODO again\n' })
  const ctx = context(root)
  t.match(await one({ kind: 'contains', path: 'out/a.md', pattern: '^# Summary', flags: 'm' }, ctx), {
    passed: true, message: 'out/a.md matches /^# Summary/m at line 1.',
  })
  t.match(await one({ kind: 'contains', path: 'out/a.md', pattern: 'Sources\\b' }, ctx), {
    passed: false, message: 'out/a.md has no match of /Sources\\b/; add the missing text, then report again.',
  })
  t.match(await one({ kind: 'lacks', path: 'out/a.md', pattern: 'TODO', flags: 'i' }, ctx), {
    passed: false, label: 'out/a.md has no match of /TODO/i', message: 'out/a.md line 4 matches /TODO/i: "- todo: add sources"; remove it, then report again.',
  })
  t.match(await one({ kind: 'lacks', path: 'out/a.md', pattern: 'FIXME' }, ctx), { passed: true })
  const started = Date.now()
  writeFileSync(join(root, 'out/a.md'), 'a'.repeat(40) + '!')
  t.match(await one({ kind: 'contains', path: 'out/a.md', pattern: '(a+)+$' }, ctx), { passed: false, message: /ran longer than 1 s on out\/a\.md and was stopped/ })
  t.ok(Date.now() - started < 5000, 'a catastrophic pattern is stopped instead of blocking the server')
})

t.test('json: syntax errors with line and column, schema errors with their paths', async (t) => {
  const { root } = workspace(t, {
    'out/bad.json': '{\n  "title": "x",\n  "n": }\n',
    'out/meta.json': '{ "tags": "a", "year": "1999" }',
    'out/ok.json': '{"title":"T"}',
  })
  const ctx = context(root)
  t.match(await one({ kind: 'json', path: 'out/bad.json' }, ctx), { passed: false, message: /^out\/bad\.json is not valid JSON at line 3, column 8: .+; fix the syntax, then report again\.$/ })
  const schema = { type: 'object', required: ['title'], properties: { title: { type: 'string' }, tags: { type: 'array' }, year: { type: 'integer' } } }
  const result = await one({ kind: 'json', path: 'out/meta.json', schema }, ctx)
  t.equal(result.label, 'out/meta.json is valid JSON matching its schema')
  t.match(result, { passed: false, message: "out/meta.json does not match its schema: (root) must have required property 'title'; /tags must be array; /year" })
  t.equal((await one({ kind: 'json', path: 'out/ok.json', schema }, ctx)).passed, true)
  const s2020 = { $schema: 'https://json-schema.org/draft/2020-12/schema', prefixItems: [{ type: 'number' }], type: 'array' }
  writeFileSync(join(root, 'out/arr.json'), '["one"]')
  t.match(await one({ kind: 'json', path: 'out/arr.json', schema: s2020 }, ctx), { passed: false, message: /\/0 must be number/ }, '2020-12 keywords apply')

  // The position scanner agrees with JSON.parse about which documents are valid.
  const valid = (s: string): boolean => { try { JSON.parse(s); return true } catch { return false } }
  const documents = fc.oneof(fc.json(), fc.string(), fc.json().map((s) => s.slice(0, -1)))
  fc.assert(fc.property(documents, (s) => (jsonErrorOffset(s) === -1) === valid(s)), { numRuns: 2000 })
})

t.test('headings: ATX and setext count, fenced code does not; the message lists found and missing', async (t) => {
  const doc = '# Summary #\n\n#hashtag is text.\n\nNotes\n-----\n\n```md\n## Sources\n```\n'
  const { root } = workspace(t, { 'out/a.md': doc })
  const ctx = context(root)
  t.match(await one({ kind: 'headings', path: 'out/a.md', headings: ['summary', ' Notes '] }, ctx), { passed: true })
  t.match(await one({ kind: 'headings', path: 'out/a.md', headings: ['Summary', 'Sources'] }, ctx), {
    passed: false, message: 'out/a.md lacks the heading "Sources"; found "Summary", "Notes". Add it, then report again.',
  })
  writeFileSync(join(root, 'out/b.md'), '**Summary**\n\nSources:\n')
  t.match(await one({ kind: 'headings', path: 'out/b.md', headings: ['Summary'] }, ctx), { passed: false, message: /found no Markdown headings/ })
})

t.test('deliverables must cover files.write; absolute paths inside the root count as relative', async (t) => {
  const { root } = workspace(t)
  const check = { kind: 'deliverables' } as const
  const declaredWrites = ['out/summary.md', 'out/data/*.json']
  const ok = context(root, { declaredWrites, deliverables: [join(root, 'out/summary.md'), './out/data/x.json'] })
  t.match(await one(check, ok), { passed: true })
  const short = context(root, { declaredWrites, deliverables: ['out/summary.md', '/elsewhere/out/data/x.json'] })
  t.match(await one(check, short), { passed: false, message: /^the report's deliverables omit out\/data\/\*\.json \(declared in files\.write/ })
})

t.test('a file too large to read fails with its size; other failures name the file', async (t) => {
  const { root } = workspace(t, { 'out/big.md': 'x '.repeat(1000), 'out/dir/inner.md': 'x' })
  const ctx = context(root, { maxFileBytes: 1024 })
  t.match(await one({ kind: 'word-count', path: 'out/big.md', min: 1 }, ctx), {
    passed: false, message: 'out/big.md is 2 KiB; checks read at most 1 KiB; make it smaller, then report again.',
  })
  t.equal((await one({ kind: 'file-exists', path: 'out/big.md' }, ctx)).passed, true, 'existence does not depend on size')
  t.match(await one({ kind: 'file-nonempty', path: 'out/dir' }, ctx), { passed: false, message: /^out\/dir is a directory, not a file/ })
  t.match(await one({ kind: 'file-exists', path: 'out/a.md' }, context(null)), { passed: false, message: /names no workspace/ })
})

t.test('workspace roots: absolute, existing directories inside an allowed root', async (t) => {
  const dir = realpathSync(t.testdir({ allowed: { project: {}, 'file.txt': 'x' }, other: {} }))
  const allowed = [join(dir, 'allowed')]
  t.equal(resolveWorkspaceRoot(join(dir, 'allowed', 'project'), allowed), join(dir, 'allowed', 'project'))
  t.equal(resolveWorkspaceRoot(join(dir, 'allowed'), allowed), join(dir, 'allowed'), 'the allowed root itself')
  symlinkSync(join(dir, 'other'), join(dir, 'allowed', 'link-out'))
  symlinkSync(join(dir, 'allowed', 'project'), join(dir, 'other', 'link-in'))
  t.equal(resolveWorkspaceRoot(join(dir, 'other', 'link-in'), allowed), join(dir, 'allowed', 'project'), 'judged and returned by realpath')
  const refused = (root: string, message: RegExp): void => {
    t.throws(() => resolveWorkspaceRoot(root, allowed), { name: 'WorkspaceError', path: root, message })
  }
  refused(join(dir, 'allowed', 'link-out'), /outside the allowed workspace roots .*COORD_WORKSPACE_ROOTS/)
  refused(join(dir, 'other'), /outside the allowed workspace roots/)
  refused('allowed/project', /is relative; name it by its absolute path/)
  refused(join(dir, 'allowed', 'nope'), /does not exist; create the folder first/)
  refused(join(dir, 'allowed', 'file.txt'), /is not a directory/)
  t.throws(() => resolveWorkspaceRoot(join(dir, 'allowed'), []), { message: /none are configured/ })
})

t.test('paths at creation: relative, no .. out, no symlink out (also through a glob prefix or a dangling link)', async (t) => {
  const { root, outside } = workspace(t, { 'out/a.md': 'a' })
  symlinkSync(outside, join(root, 'link-out'))
  symlinkSync(join(root, 'out'), join(root, 'link-in'))
  symlinkSync(join(outside, 'not-yet'), join(root, 'dangling-out'))
  for (const fine of ['out/a.md', 'out/../out/new.md', 'link-in/a.md', 'new/deeper/file.md', 'out/*.md', '**/x.md']) {
    t.doesNotThrow(() => checkPathInside(root, fine), fine)
  }
  const refused = (rel: string, message: RegExp): void => { t.throws(() => checkPathInside(root, rel), { name: 'WorkspaceError', path: rel, message }, rel) }
  refused('../outside/secret.txt', /leaves the workspace root through \.\./)
  refused('out/../../x.md', /leaves the workspace root/)
  refused(join(root, 'out/a.md'), /is absolute; paths are relative to the workspace root \(here: out\/a\.md\)/)
  refused('/etc/passwd', /is absolute/)
  refused('out/a\0.md', /NUL byte/)
  refused('link-out/secret.txt', /passes through link-out, a symlink to a place outside the workspace root/)
  refused('link-out', /passes through link-out/)
  refused('link-out/*.md', /passes through link-out/)
  refused('dangling-out', /passes through dangling-out/)
  t.doesNotThrow(() => checkPathInside(root, '*/secret.txt'), 'segments from the first glob on are not walked')
})

t.test('a symlink planted after creation is refused at check time and never read', async (t) => {
  const { root, outside } = workspace(t, {})
  const checks: Check[] = [
    { kind: 'contains', path: 'out/summary.md', pattern: 'ZEBRA' },
    { kind: 'lacks', path: 'out/summary.md', pattern: 'ZEBRA' },
    { kind: 'word-count', path: 'out/summary.md', min: 5 },
    { kind: 'json', path: 'out/summary.md' },
    { kind: 'headings', path: 'out/summary.md', headings: ['x'] },
    { kind: 'file-exists', path: 'out/dir/secret.txt' },
  ]
  t.same(checkProblems(checks, { root, commandsEnabled: false }), [], 'fine when the task is created')
  mkdirSync(join(root, 'out'))
  symlinkSync(join(outside, 'secret.txt'), join(root, 'out/summary.md'))
  symlinkSync(outside, join(root, 'out/dir'))
  await t.rejects(openInside(root, 'out/summary.md'), { name: 'WorkspaceError', message: /outside the workspace root, so it was not read/ })
  const results = await runChecks(checks, context(root))
  for (const r of results) {
    t.equal(r.passed, false, r.label)
    t.match(r.message, /resolves through a symlink to a place outside the workspace root, so it was not read/)
    t.notOk(JSON.stringify(r).includes('4821'), 'nothing of the outside file shows')
  }
  t.same(await openInside(root, 'out/none.md'), { missing: true })
})

t.test('command checks: exit 0, exit 1 with the tail of the output, disabled, timeout kills the group', async (t) => {
  const { root } = workspace(t, {})
  const ctx = context(root)
  t.match(await one({ kind: 'command', run: 'echo hi; test -d .' }, ctx), {
    passed: true, label: '`echo hi; test -d .` exits 0', message: '`echo hi; test -d .` exited 0.', output: 'hi\n',
  })
  const noisy = await one({ kind: 'command', run: 'head -c 10000 /dev/zero | tr "\\0" x; echo; echo "2 tests failed" >&2; exit 1' }, ctx)
  t.match(noisy, { passed: false, message: 'exit 1` exited with code 1; needs 0. Last line of output: "2 tests failed".' })
  t.ok((noisy.output ?? '').length <= 4096 && (noisy.output ?? '').endsWith('x\n2 tests failed\n'), 'the last 4 KB of stdout and stderr are kept')

  const disabled = await one({ kind: 'command', run: 'touch ran.txt' }, context(root, { commands: { enabled: false, timeoutMs: 10_000 } }))
  t.match(disabled, { passed: false, message: /was not run: command checks are disabled on this server/ })
  t.notOk(existsSync(join(root, 'ran.txt')), 'a disabled command never runs')

  const started = Date.now()
  const sleeper = 'echo $$ > shell.pid; sleep 30 & echo $! > sleep.pid; wait'
  const slow = await one({ kind: 'command', run: sleeper, timeoutSeconds: 60 }, context(root, { commands: { enabled: true, timeoutMs: 500 } }))
  t.ok(Date.now() - started < 5000, `returned after ${Date.now() - started} ms, well before sleep 30 would end`)
  t.match(slow, { passed: false, message: /timed out after 0\.5 s and was killed/ }, 'the server cap wins over a longer timeoutSeconds')
  const gone = async (pid: number): Promise<boolean> => {
    for (let i = 0; i < 50; i++) {
      try {
        process.kill(pid, 0)
      } catch { return true }
      await new Promise((resolve) => setTimeout(resolve, 40))
    }
    return false
  }
  const shell = Number(readFileSync(join(root, 'shell.pid'), 'utf8'))
  t.ok(await gone(-shell), 'the process group is gone')
  t.ok(await gone(Number(readFileSync(join(root, 'sleep.pid'), 'utf8'))), 'including the sleep the shell started')
})

t.test('checkProblems: each problem names the check and the fix', async (t) => {
  const { root } = workspace(t)
  const checks: Check[] = [
    { kind: 'contains', path: 'a.md', pattern: '(unclosed' },
    { kind: 'lacks', path: 'a.md', pattern: 'x', flags: 'ii' },
    { kind: 'word-count', path: 'a.md' },
    { kind: 'word-count', path: 'a.md', min: 250, max: 150 },
    { kind: 'json', path: 'a.json', schema: { type: 'object', properties: { a: { type: 'no-such-type' } } } },
    { kind: 'json', path: 'a.json', schema: { $ref: 'https://example.com/remote.json' } },
    { kind: 'headings', path: 'a.md', headings: ['Summary', ' ', 'summary '] },
    { kind: 'file-exists', path: '../a.md' },
    { kind: 'command', run: 'npm test' },
    { kind: 'deliverables' },
    { kind: 'json', path: 'ok.json', schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' } },
  ]
  const problems = checkProblems(checks, { root, commandsEnabled: false })
  t.match(problems, [
    /^checks\[0\] \(contains\): the pattern \/\(unclosed\/ does not compile \(.+\); write a JavaScript regular expression/,
    /^checks\[1\] \(lacks\): the pattern \/x\/ii does not compile/,
    'checks[2] (word-count): neither min nor max is given; give min, max or both',
    'checks[3] (word-count): min 250 is greater than max 150; swap them',
    /^checks\[4\] \(json\): the schema does not compile \(.+\); give a valid JSON Schema/,
    /^checks\[5\] \(json\): the schema does not compile \(.*remote\.json.*\)/,
    /^checks\[6\] \(headings\): headings\[1\] is blank/,
    /^checks\[6\] \(headings\): headings\[2\] "summary " is listed twice/,
    /^checks\[7\] \(file-exists\): The path \.\.\/a\.md leaves the workspace root/,
    'checks[8] (command): command checks are disabled on this server; start the server with COORD_COMMAND_CHECKS=true, or drop this check',
  ])
  t.equal(problems.length, 10, 'the deliverables check and the valid 2020-12 schema are fine')
  t.same(checkProblems([{ kind: 'file-exists', path: 'a.md' }], { root: null, commandsEnabled: true }), [
    'checks[0] (file-exists): reads a.md, but the batch names no workspace; name a workspace on the batch',
  ])
  t.same(checkProblems([{ kind: 'command', run: 'true' }, { kind: 'deliverables' }], { root, commandsEnabled: true }), [])
})

t.test('describeCheck: labels in words, check.label wins', async (t) => {
  t.equal(describeCheck({ kind: 'word-count', path: 'out/summary.md', min: 150, max: 250 }), 'out/summary.md has 150–250 words')
  t.equal(describeCheck({ kind: 'word-count', path: 'a.md', max: 9 }), 'a.md has at most 9 words')
  t.equal(describeCheck({ kind: 'json', path: 'out/a.json', schema: {} }), 'out/a.json is valid JSON matching its schema')
  t.equal(describeCheck({ kind: 'json', path: 'out/a.json' }), 'out/a.json is valid JSON')
  t.equal(describeCheck({ kind: 'command', run: 'npm test' }), '`npm test` exits 0')
  t.equal(describeCheck({ kind: 'headings', path: 'a.md', headings: ['A', 'B'] }), 'a.md has the headings "A", "B"')
  t.equal(describeCheck({ kind: 'file-exists', path: 'a.md', label: 'the summary is there' }), 'the summary is there')
})
