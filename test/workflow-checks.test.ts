// Acceptance checks on reports, review, and the workspace rules, through the HTTP API.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { build, claim, listen, post, report, sleep, tempDir } from './helper.js'

const words = (n: number): string => Array.from({ length: n }, (_, i) => `w${i}`).join(' ')

/** A workspace inside the allowed root (tap's fixture folder is under the server's working directory). */
function workspace (t: Test): string {
  return t.testdir({ out: {} })
}

const summaryTask = (extra: Record<string, unknown> = {}) => ({
  id: 'sum',
  description: 'Summarize',
  files: { write: ['out/summary.md'] },
  checks: [{ kind: 'word-count', path: 'out/summary.md', min: 150, max: 250 }, { kind: 'deliverables' }],
  ...extra,
})

t.test('a completed report that fails its checks is 422 with each failure in words; the lease stays; a fixed output passes', async (t) => {
  const root = workspace(t)
  const app = await build(t, { COORD_MAX_CHECK_REJECTIONS: 5 })
  t.equal((await post(app, '/tasks', { project: 'p', workspace: root, tasks: [summaryTask()] })).statusCode, 201)
  const a = await claim(app, 'w1')
  t.same(a.task.checks.map((c: any) => c.kind), ['word-count', 'deliverables'], 'the worker sees the checks')
  t.equal(a.task.workspace, root)

  const missing = await report(app, a, 'completed', { deliverables: ['out/summary.md'] })
  t.equal(missing.statusCode, 422)
  t.equal(missing.json().code, 'CHECKS_FAILED')
  t.match(missing.json().message, /out\/summary\.md does not exist/)
  writeFileSync(join(root, 'out/summary.md'), words(87))
  const short = await report(app, a, 'completed', { deliverables: [] })
  t.equal(short.statusCode, 422)
  const keyed = (key: string) => app.inject({
    method: 'POST',
    url: '/tasks/sum/report',
    headers: { 'idempotency-key': key },
    payload: { worker: 'w1', leaseId: a.lease.leaseId, status: 'completed', summary: 'again', deliverables: [] },
  })
  t.equal((await keyed('k1')).json().details.rejections, 3)
  const retried = await keyed('k1')
  t.equal(retried.statusCode, 422, 'a retry of the same request (same Idempotency-Key) gets the same answer')
  t.equal(retried.json().details.rejections, 3, 'but is not counted as another rejection')
  const failed = short.json().details.failed.map((f: any) => f.message)
  t.match(failed[0], /out\/summary\.md has 87 words; needs 150–250/)
  t.match(failed[1], /out\/summary\.md/, 'the deliverables check names the undeclared file')
  t.match(short.json().message, /report completed again with the same leaseId/)
  t.equal(short.json().details.escalated, false)
  t.ok(Date.parse(short.json().details.lease.expiresAt) > Date.now() + 60_000, 'the lease was extended')

  const task = (await app.inject('/tasks/sum')).json()
  t.equal(task.task.state, 'working', 'still the worker\'s task')
  t.equal(task.task.checkRejections, 3)
  t.same(task.reports.map((r: any) => [r.accepted, r.rejection]), [[false, 'CHECKS_FAILED'], [false, 'CHECKS_FAILED'], [false, 'CHECKS_FAILED']],
    'rejections are recorded (the retry once)')
  t.equal(task.reports[1].checks.length, 2, 'with their check results')

  writeFileSync(join(root, 'out/summary.md'), words(200))
  const ok = await report(app, a, 'completed', { deliverables: ['out/summary.md', 'notes.txt'] })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().task.state, 'completed')
  t.same(ok.json().checks.map((c: any) => c.passed), [true, true])
  t.same(ok.json().undeclared, ['notes.txt'], 'deliverables outside the declared writes are flagged')
})

t.test('after the configured number of rejections the task goes to the engineer, then back to the worker with the answer', async (t) => {
  const root = workspace(t)
  const app = await build(t, { COORD_MAX_CHECK_REJECTIONS: 2 })
  await post(app, '/tasks', { project: 'p', workspace: root, tasks: [summaryTask()] })
  const a = await claim(app, 'w1')
  writeFileSync(join(root, 'out/summary.md'), words(10))
  t.equal((await report(app, a, 'completed', { deliverables: ['out/summary.md'] })).json().details.escalated, false)
  writeFileSync(join(root, 'out/summary.md'), words(12))
  const last = await report(app, a, 'completed', { deliverables: ['out/summary.md'] })
  t.equal(last.statusCode, 422)
  t.equal(last.json().details.escalated, true)
  t.match(last.json().message, /waits for the engineer/)
  t.equal((await app.inject('/tasks/sum')).json().task.state, 'input-required')
  const queue = (await app.inject('/escalations?project=p')).json().escalations
  t.same(queue.map((e: any) => [e.taskId, e.kind, e.worker]), [['sum', 'checks', 'w1']])
  t.match(queue[0].message, /12 words/)
  t.equal((await post(app, '/tasks/sum/heartbeat', { worker: 'w1', leaseId: a.lease.leaseId })).json().code, 'LEASE_ENDED', 'the old lease is over')

  t.equal((await post(app, '/tasks/sum/answer', { message: 'Cover sections 2 and 3 too.' })).json().state, 'submitted')
  t.equal(await claim(app, 'w2'), 204, 'reserved for the worker that asked')
  const back = await claim(app, 'w1')
  t.equal(back.task.id, 'sum')
  t.match(back.task.notes[0].message, /sections 2 and 3/)
  t.same((await app.inject('/escalations?project=p')).json().escalations, [], 'answered: off the queue')
  const events = (await app.inject('/events?project=p')).json().events.map((e: any) => e.type)
  t.ok(events.includes('task.escalated') && events.includes('task.answered'))
})

t.test('review: a checked task waits for the coordinator, who sends it back once and then accepts it', async (t) => {
  const root = workspace(t)
  const app = await build(t)
  await post(app, '/tasks', { project: 'p', workspace: root, review: true, close: true, tasks: [summaryTask()] })
  const a = await claim(app, 'w1')
  writeFileSync(join(root, 'out/summary.md'), words(160))
  const done = await report(app, a, 'completed', { deliverables: ['out/summary.md'] })
  t.equal(done.json().task.state, 'review-required')
  t.equal((await app.inject('/status?project=p')).json().done, false, 'a task awaiting review keeps the project open')
  t.equal((await app.inject('/status?project=p')).json().counts['review-required'], 1)

  t.equal((await post(app, '/tasks/sum/review', { decision: 'changes' })).json().code, 'FEEDBACK_REQUIRED')
  const back = await post(app, '/tasks/sum/review', { decision: 'changes', feedback: 'Add the install section.', by: 'coordinator' })
  t.equal(back.statusCode, 200)
  t.equal(back.json().state, 'submitted')
  t.equal(back.json().reservedFor, 'w1')
  t.equal((await app.inject('/tasks/sum')).json().task.hold.kind, 'reserved')
  t.equal(await claim(app, 'w2'), 204, 'offered first to the worker that did it')
  const again = await claim(app, 'w1')
  t.equal(again.lease.attempt, 2, 'the round-trip counts as an attempt')
  t.same(again.task.notes.map((n: any) => [n.kind, n.decision, n.message]), [['review', 'changes', 'Add the install section.']])
  await report(app, again, 'completed', { deliverables: ['out/summary.md'] })
  t.equal((await post(app, '/tasks/sum/review', { decision: 'accept' })).json().state, 'completed')
  t.equal((await app.inject('/status?project=p')).json().done, true, 'the last accepted review finishes the project')
  t.equal((await post(app, '/tasks/sum/review', { decision: 'accept' })).json().code, 'NOT_IN_REVIEW')

  const m = (await app.inject('/projects/p/metrics')).json()
  t.equal(m.review.changesRequested, 1)
  t.equal(m.review.accepted, 1)
})

t.test('workspaces and paths that leave them are refused at creation and never read', async (t) => {
  const root = workspace(t)
  const outside = tempDir('coord-outside-')
  writeFileSync(join(outside, 'secret.md'), 'TOPSECRET-4821')
  symlinkSync(outside, join(root, 'link'))
  const app = await build(t, { COORD_WORKSPACE_ROOTS: root })
  const bad = async (body: unknown) => (await post(app, '/tasks', body)).json()
  t.equal((await bad({ workspace: outside, tasks: [{ description: 'x' }] })).code, 'INVALID_WORKSPACE', 'a workspace outside the allowed roots')
  for (const path of ['../secret.md', '/etc/passwd', 'link/secret.md']) {
    const res = await bad({ workspace: root, tasks: [{ id: 'x', description: 'x', checks: [{ kind: 'file-exists', path }] }] })
    t.equal(res.code, 'INVALID_TASK', `check path ${path}`)
    t.notMatch(JSON.stringify(res), /TOPSECRET/)
  }
  t.equal((await bad({ workspace: root, tasks: [{ description: 'x', files: { write: ['../x'] } }] })).code, 'INVALID_TASK', 'files.write leaving the root')
  t.equal((await bad({ workspace: root, tasks: [{ description: 'x', files: { write: [join(outside, 'x')] } }] })).code, 'INVALID_TASK',
    'an absolute path elsewhere')
  const noRoot = await bad({ tasks: [{ description: 'x', checks: [{ kind: 'file-exists', path: 'a.md' }] }] })
  t.equal(noRoot.code, 'INVALID_TASK', 'a file check needs a workspace')
  const cmd = await bad({ workspace: root, tasks: [{ description: 'x', checks: [{ kind: 'command', run: 'true' }] }] })
  t.equal(cmd.code, 'INVALID_TASK')
  t.match(cmd.message, /COORD_COMMAND_CHECKS/)
  const regex = await bad({ workspace: root, tasks: [{ description: 'x', checks: [{ kind: 'contains', path: 'a.md', pattern: '(' }] }] })
  t.equal(regex.code, 'INVALID_TASK')
  t.equal((await app.inject('/tasks')).json().tasks.length, 0)

  // An absolute path inside the workspace is taken as the relative path it names.
  const abs = await post(app, '/tasks', {
    workspace: root,
    tasks: [{ id: 'abs', description: 'x', files: { write: [join(root, 'out/a.md')] }, checks: [{ kind: 'file-exists', path: join(root, 'out/a.md') }] }],
  })
  t.equal(abs.statusCode, 201)
  const absTask = (await app.inject('/tasks/abs')).json().task
  t.same([absTask.files.write, absTask.checks[0].path], [['out/a.md'], 'out/a.md'])
  await post(app, '/tasks/abs/cancel', {})

  // A symlink planted after creation is refused when the check runs.
  mkdirSync(join(root, 'late'))
  await post(app, '/tasks', { workspace: root, tasks: [{ id: 'late', description: 'x', checks: [{ kind: 'contains', path: 'late/s.md', pattern: 'TOP' }] }] })
  symlinkSync(join(outside, 'secret.md'), join(root, 'late/s.md'))
  const res = await report(app, await claim(app, 'w1'), 'completed')
  t.equal(res.statusCode, 422)
  t.notMatch(res.body, /TOPSECRET/, 'the outside file was not read')
})

t.test('command checks run only when enabled, and their output tail is kept', async (t) => {
  const root = workspace(t)
  const app = await build(t, { COORD_COMMAND_CHECKS: true })
  await post(app, '/tasks', { workspace: root, tasks: [{ id: 'c', description: 'x', checks: [{ kind: 'command', run: 'echo building; exit 3' }] }] })
  const res = await report(app, await claim(app, 'w1'), 'completed')
  t.equal(res.statusCode, 422)
  const f = res.json().details.failed[0]
  t.match(f.message, /3/)
  t.match(f.output, /building/)
})

t.test('a task sent back by review reaches the parked worker that did it, even behind a longer-waiting worker', async (t) => {
  const { app, url } = await listen(t)
  await post(app, '/tasks', { project: 'p', review: true, tasks: [{ id: 'r', description: 'r' }] })
  await report(app, await claim(app, 'w1'))
  const other = fetch(`${url}/tasks/next?worker=w-other&wait=4&project=p`)
  await sleep(200)
  const mine = fetch(`${url}/tasks/next?worker=w1&wait=20&project=p`)
  await sleep(200)
  const sentAt = Date.now()
  t.equal((await post(app, '/tasks/r/review', { decision: 'changes', feedback: 'again' })).statusCode, 200)
  const res = await mine
  t.equal(res.status, 200)
  t.equal(((await res.json()) as any).task.id, 'r')
  t.ok(Date.now() - sentAt < 2000, `handed to w1 at once (${Date.now() - sentAt} ms)`)
  t.equal((await other).status, 204, 'the other worker is not given the reserved task')
})
