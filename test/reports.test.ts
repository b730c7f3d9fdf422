// POST /tasks/{id}/report: completion, safe retries, failure with retries, blocked → input-required,
// and report-and-next in one call.
import t from 'tap'
import { request } from 'undici'
import { build, claim, listen, postTasks, report } from './helper.js'

t.test('completed: stored as the result, counted for the worker, retry is a duplicate', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a'])
  const a = await claim(app, 'w1')
  const res = await report(app, a, 'completed', { deliverables: ['out/a.md'], contextScore: 4, details: { words: 150 } })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { accepted: true, duplicate: false, task: { id: 'a', project: 'p1', state: 'completed', attempts: 1, maxAttempts: 3, willRetry: false } })
  t.ok(res.json().task.finishedAt)
  const stored = (await app.inject('/tasks/a')).json().task
  const result = { status: 'completed', deliverables: ['out/a.md'], contextScore: 4, worker: 'w1', attempt: 1 }
  t.match(stored, { worker: null, result }, 'the result is stored')
  const retry = await report(app, a, 'completed', { deliverables: ['out/a.md'], contextScore: 4 })
  t.equal(retry.statusCode, 200, 'a retried report (lost response) succeeds')
  t.equal(retry.json().duplicate, true)
  const workers = (await app.inject('/workers')).json().workers
  t.match(workers, [{ id: 'w1', tasksCompleted: 1, state: 'idle', currentTask: null }])
  const hist = (await app.inject('/tasks/a')).json()
  t.equal(hist.reports.length, 1, 'the duplicate is not stored twice')
  t.same(hist.reports[0].details, { words: 150 })
  const other = await report(app, a, 'failed')
  t.equal(other.statusCode, 409, 'a different status on a finished lease is refused')
  t.equal(other.json().code, 'LEASE_ENDED')
})

t.test('failed: retried up to maxAttempts, then failed for good', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a'], { maxAttempts: 2 })
  const a1 = await claim(app, 'w1')
  const r1 = await report(app, a1, 'failed')
  t.match(r1.json().task, { state: 'submitted', attempts: 1, maxAttempts: 2, willRetry: true, finishedAt: null }, 'back in the queue')
  const a2 = await claim(app, 'w2')
  t.equal(a2.lease.attempt, 2)
  const r2 = await report(app, a2, 'failed')
  t.match(r2.json().task, { state: 'failed', attempts: 2, willRetry: false }, 'failed for good')
  t.equal(await claim(app, 'w3'), 204)
  const failed = (await app.inject('/events?after=0')).json().events.filter((e: any) => e.type === 'task.failed')
  t.same(failed.map((e: any) => e.data.final), [false, true])
  t.equal((await app.inject('/workers')).json().workers.find((w: any) => w.id === 'w2').tasksFailed, 1)
})

t.test('blocked: input-required, out of the queue, visible in status and events', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a'])
  const a = await claim(app, 'w1')
  const res = await report(app, a, 'blocked', { question: 'Which license header?' })
  t.equal(res.json().task.state, 'input-required')
  t.equal((await app.inject('/tasks/a')).json().task.result.question, 'Which license header?')
  t.equal(await claim(app, 'w2'), 204, 'not offered again')
  t.equal((await app.inject('/status?project=p1')).json().counts['input-required'], 1)
  const ev = (await app.inject('/events?after=0&project=p1')).json().events.find((e: any) => e.type === 'task.input_required')
  t.equal(ev.data.question, 'Which license header?')
  const close = await app.inject({ method: 'POST', url: '/projects/p1/close' })
  t.equal(close.json().done, false, 'an input-required task keeps the project open')
})

t.test('report-and-next returns the next task in the same call (real socket)', async (t) => {
  const { app, url } = await listen(t)
  await postTasks(app, ['a', 'b'])
  const a = await claim(app, 'w1')
  const res = await request(`${url}/tasks/a/report?next=true&wait=5`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ worker: 'w1', leaseId: a.lease.leaseId, status: 'completed', summary: 'done' }),
  })
  const body = await res.body.json() as any
  t.equal(res.statusCode, 200)
  t.equal(body.task.state, 'completed')
  t.equal(body.next.status, 'assigned')
  t.equal(body.next.assignment.task.id, 'b')
  const last = await request(`${url}/tasks/b/report?next=true&wait=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ worker: 'w1', leaseId: body.next.assignment.lease.leaseId, status: 'completed', summary: 'done' }),
  })
  t.same((await last.body.json() as any).next, { status: 'empty', message: 'No task became available while waiting. Poll again.' })
})

t.test('the report answer carries the new state, not a copy of a 4 KB task', async (t) => {
  const app = await build(t)
  const description = 'Rewrite the module. '.repeat(200) // ~4 KB, as real chats' tasks are
  await postTasks(app, ['big'], { description, acceptance: ['criterion '.repeat(50)], context: { notes: 'n'.repeat(500) } })
  const a = await claim(app, 'w1')
  const res = await report(app, a, 'completed', { summary: 'Rewrote it.', deliverables: ['src/module.ts'] })
  t.equal(res.statusCode, 200)
  t.ok(res.body.length < 600, `answer is ${res.body.length} bytes`)
  t.notMatch(res.body, /Rewrite the module|criterion|description|acceptance/, 'no description or acceptance echoed')
  t.same(Object.keys(res.json().task).sort(), ['attempts', 'finishedAt', 'id', 'maxAttempts', 'project', 'state', 'willRetry'])
})

t.test('a report naming another worker\'s lease is refused and changes nothing', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a'])
  const a = await claim(app, 'w1')
  const res = await report(app, { task: a.task, lease: { ...a.lease, worker: 'w2' } })
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'LEASE_NOT_YOURS')
  t.equal((await app.inject('/tasks/a')).json().task.state, 'working')
})
