// What a worker reads in its claim and its report answers, through the HTTP API: each check's exact
// rule (as the CLI and the MCP tools print it), lean report answers (outcomes; output tails only for
// failed checks; the full output in the task's history), and a note when a poll's filter was not
// applied because the worker still holds a task elsewhere.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build, claim, eventually, post, report } from './helper.js'
import { formatAssignment } from '../clients/format.js'
import { ANSWER_OUTPUT_BYTES, ANSWER_OUTPUT_LINES } from '../src/checks/answer-results.js'

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

t.test('report answers keep each check\'s outcome and only a failed command\'s output tail; the history keeps it all', async (t) => {
  const root = t.testdir({ out: {} })
  const app = await build(t, { COORD_COMMAND_CHECKS: true })
  // 200 lines of output either way: the check passes once out/ok exists.
  const run = 'for i in $(seq 1 200); do echo "line $i of the build log"; done; test -f out/ok'
  const checks = [{ kind: 'command', run }, { kind: 'file-exists', path: 'out/a.md' }]
  await post(app, '/tasks', { workspace: root, tasks: [{ id: 'c', description: 'x', checks }] })
  writeFileSync(join(root, 'out/a.md'), 'a\n')
  const a = await claim(app, 'w1')

  const refused = await report(app, a, 'completed')
  t.equal(refused.statusCode, 422)
  const d = refused.json().details
  const tail: string = d.failed[0].output
  t.equal(tail.trimEnd().split('\n').length, ANSWER_OUTPUT_LINES, `the failed check's output is its last ${ANSWER_OUTPUT_LINES} lines`)
  t.ok(Buffer.byteLength(tail) <= ANSWER_OUTPUT_BYTES)
  t.match(tail, /line 200 of the build log\n$/)
  t.same(d.checks.map((c: any) => Object.keys(c).sort()), [['index', 'kind', 'label', 'message', 'passed'], ['index', 'kind', 'label', 'message', 'passed']],
    'details.checks: outcomes only')
  t.ok(refused.body.length < 4000, `the 422 answer stays small (${refused.body.length} bytes)`)

  writeFileSync(join(root, 'out/ok'), '')
  const done = await report(app, a, 'completed')
  t.equal(done.statusCode, 200, done.body)
  t.same(done.json().checks.map((c: any) => [c.kind, c.passed, c.output]), [['command', true, undefined], ['file-exists', true, undefined]],
    'a passed check carries no output')
  t.ok(done.body.length < 1000, `the 200 answer stays small (${done.body.length} bytes)`)

  const history = (await app.inject({ url: '/tasks/c' })).json()
  const [rejected, accepted] = history.reports
  t.match(rejected.checks[0].output, /line 150 of the build log[\s\S]*line 200 of the build log/, 'the history keeps the full output of the refused report')
  t.match(accepted.checks[0].output, /line 150 of the build log[\s\S]*line 200 of the build log/, 'and of the accepted one')
  t.ok(accepted.checks[0].output.length > ANSWER_OUTPUT_BYTES)
})

t.test('a worker that still holds a task in project A and polls project B gets A back with a note saying so', async (t) => {
  const app = await build(t)
  await post(app, '/tasks', { project: 'A', tasks: [{ id: 'a1', type: 'write', description: 'a' }] })
  await post(app, '/tasks', { project: 'B', tasks: [{ id: 'b1', type: 'write', description: 'b' }] })
  const held = await claim(app, 'w1', '&project=A')
  t.equal(held.task.id, 'a1')
  t.equal(held.note, undefined, 'no note on a fresh claim')

  const other = await claim(app, 'w1', '&project=B')
  t.match(other, { resumed: true, task: { id: 'a1', project: 'A' } })
  t.equal(other.note, `You still hold task a1 in project A (lease until ${held.lease.expiresAt}); finish or report it first — ` +
    'this poll\'s project filter B was not applied.')
  t.match(formatAssignment(other, commands), /^Resumed a1 [^\n]*\nNote: You still hold task a1 in project A/)
  t.match((await claim(app, 'w1', '&type=review')).note, /\(type write\).*this poll's type filter review was not applied\.$/)
  t.equal((await claim(app, 'w1', '&project=A')).note, undefined, 'no note when the filter matches')
  t.equal((await claim(app, 'w1')).note, undefined, 'nor without a filter')
})

t.test('report?next=true says so too when the next task is one the worker still holds elsewhere', async (t) => {
  const app = await build(t)
  await post(app, '/tasks', { project: 'A', tasks: [{ id: 'a1', description: 'a', leaseSeconds: 1 }] })
  await post(app, '/tasks', { project: 'B', tasks: [{ id: 'b1', description: 'b' }] })
  const late = await claim(app, 'w1', '&project=A')
  t.ok(await eventually(async () => (await app.inject('/tasks/a1')).json().task.state === 'submitted'), 'the a1 lease lapsed')
  const held = await claim(app, 'w1', '&project=B')
  t.equal(held.task.id, 'b1')
  // A late report on a lapsed lease nobody re-claimed is accepted; the next poll of project A gives back b1.
  const res = await report(app, late, 'completed', {}, '?next=true&wait=0&project=A')
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json().next, { status: 'assigned', assignment: { resumed: true, task: { id: 'b1' } } })
  t.equal(res.json().next.assignment.note, `You still hold task b1 in project B (lease until ${held.lease.expiresAt}); finish or report it first — ` +
    'this poll\'s project filter A was not applied.')
})

t.test('a failed command\'s output tail in the answer is at most 2 KB, never cut through a character', async (t) => {
  const root = t.testdir({})
  const app = await build(t, { COORD_COMMAND_CHECKS: true })
  const checks = [{ kind: 'command', run: 'printf "é%.0s" $(seq 1 3000); exit 1' }]
  await post(app, '/tasks', { workspace: root, tasks: [{ id: 'c', description: 'x', checks }] })
  const res = await report(app, await claim(app, 'w1'), 'completed')
  t.equal(res.statusCode, 422)
  const tail: string = res.json().details.failed[0].output
  t.ok(Buffer.byteLength(tail) <= ANSWER_OUTPUT_BYTES && Buffer.byteLength(tail) > ANSWER_OUTPUT_BYTES - 2, `${Buffer.byteLength(tail)} bytes`)
  t.match(tail, /^é+$/)
})
