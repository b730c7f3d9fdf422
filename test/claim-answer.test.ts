// What a worker reads in its claim, through the HTTP API: each check's exact rule, as the CLI and
// the MCP tools print it.
import t from 'tap'
import { build, claim, post } from './helper.js'
import { formatAssignment } from '../clients/format.js'

const commands = { report: 'coord report …', heartbeat: 'coord heartbeat …' }

t.test('a claim shows each check\'s exact rule, also when the coordinator gave it a label', async (t) => {
  const root = t.testdir({ test: { 'a.test.ts': '// skip this when flaky\n' } })
  const app = await build(t, { COORD_COMMAND_CHECKS: true })
  const checks = [
    { kind: 'lacks', path: 'test/a.test.ts', pattern: '\\.(skip|only|todo)\\(', flags: 'i', label: 'has no skip / only / todo' },
    { kind: 'word-count', path: 'out/sum.md', min: 150, max: 250 },
    { kind: 'command', run: 'npm test', timeoutSeconds: 120, label: 'tests pass' },
    { kind: 'json', path: 'out/a.json', schema: { type: 'object', required: ['title'] } },
  ]
  t.equal((await post(app, '/tasks', { workspace: root, tasks: [{ id: 'c', description: 'x', checks }] })).statusCode, 201)
  const a = await claim(app, 'w1')
  t.same(a.task.checks, checks, 'the claim carries each check as posted: every field of its rule')
  const text = formatAssignment(a, commands)
  t.match(text, 'Each rule is exact: text it does not match needs no change.')
  t.match(text, '  - has no skip / only / todo\n      rule: lacks: test/a.test.ts has no match of /\\.(skip|only|todo)\\(/i ' +
    '(JavaScript regular expression, flags i) anywhere in the file, comments and strings included')
  t.match(text, '  - out/sum.md has 150–250 words\n      rule: word-count: out/sum.md has 150–250 words (min 150, max 250, inclusive;')
  t.match(text, '  - tests pass\n      rule: command: `npm test` run by sh -c in the workspace root exits 0 within 120 s')
  t.match(text, 'rule: json: out/a.json parses as JSON and satisfies the JSON Schema {"type":"object","required":["title"]}')
})
