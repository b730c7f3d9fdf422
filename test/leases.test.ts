// Heartbeats and lease expiry: a silent worker's task goes back to the queue, a waiting worker gets it,
// and the late report of the first worker is refused with 409 yet kept in the history.
import t from 'tap'
import { request } from 'undici'
import { build, claim, eventually, listen, post, postTasks, report } from './helper.js'

t.test('a heartbeat extends the lease by its length from now', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a'], { leaseSeconds: 30 })
  const a = await claim(app, 'w1')
  await new Promise((resolve) => setTimeout(resolve, 20))
  const hb = await post(app, '/tasks/a/heartbeat', { worker: 'w1', leaseId: a.lease.leaseId })
  t.equal(hb.statusCode, 200)
  t.equal(hb.json().leaseId, a.lease.leaseId)
  t.equal(hb.json().leaseSeconds, 30)
  t.ok(Date.parse(hb.json().expiresAt) > Date.parse(a.lease.expiresAt), 'the deadline moved later')
  t.equal((await app.inject('/tasks/a')).json().task.leaseExpiresAt, hb.json().expiresAt)
})

t.test('an expired lease re-offers the task to a waiting worker; the late report is 409 and kept', async (t) => {
  const { app, url } = await listen(t)
  await postTasks(app, ['a'], { leaseSeconds: 1 })
  const first = await claim(app, 'slow')
  const res = await request(`${url}/tasks/next?worker=fast&wait=20`)
  t.equal(res.statusCode, 200, 'the waiting worker got the task when the lease lapsed')
  const second = await res.body.json() as any
  t.equal(second.task.id, 'a')
  t.equal(second.lease.attempt, 2, 'the lapsed attempt was counted')

  const late = await report(app, first)
  t.equal(late.statusCode, 409)
  t.equal(late.json().code, 'LEASE_SUPERSEDED')
  t.match(late.json().message, /claimed again by fast/)
  const hist = (await app.inject('/tasks/a')).json()
  t.equal(hist.task.state, 'working')
  t.equal(hist.task.worker, 'fast')
  t.match(hist.reports, [{ worker: 'slow', accepted: false, rejection: 'LEASE_SUPERSEDED' }])
  t.same(hist.leases.map((l: any) => l.endReason), ['expired', null])
  const types = hist.events.map((e: any) => e.type)
  t.same(types, ['task.created', 'task.claimed', 'task.lease_expired', 'task.claimed', 'task.report_rejected'])
  t.equal((await report(app, second)).statusCode, 200, 'the current holder reports normally')
})

t.test('a late report on a lapsed lease nobody re-claimed is accepted', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a'], { leaseSeconds: 1 })
  const a = await claim(app, 'w1')
  t.ok(await eventually(async () => (await app.inject('/tasks/a')).json().task.state === 'submitted'), 'lease lapsed, task requeued')
  const res = await report(app, a)
  t.equal(res.statusCode, 200)
  t.equal(res.json().task.state, 'completed')
})

t.test('a heartbeat revives a lapsed lease nobody re-claimed', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a'], { leaseSeconds: 1 })
  const a = await claim(app, 'w1')
  t.ok(await eventually(async () => (await app.inject('/tasks/a')).json().task.state === 'submitted'))
  const hb = await post(app, '/tasks/a/heartbeat', { worker: 'w1', leaseId: a.lease.leaseId })
  t.equal(hb.statusCode, 200)
  const task = (await app.inject('/tasks/a')).json().task
  t.equal(task.state, 'working')
  t.equal(task.worker, 'w1')
})

t.test('after maxAttempts lapsed leases the task is dead-lettered as failed', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a'], { leaseSeconds: 1, maxAttempts: 1 })
  const a = await claim(app, 'w1')
  t.ok(await eventually(async () => (await app.inject('/tasks/a')).json().task.state === 'failed'))
  const hb = await post(app, '/tasks/a/heartbeat', { worker: 'w1', leaseId: a.lease.leaseId })
  t.equal(hb.statusCode, 409, 'a dead-lettered task is not revived by a heartbeat')
  const events = (await app.inject('/events?after=0')).json().events.map((e: any) => e.type)
  t.ok(events.includes('task.lease_expired'))
  t.ok(events.includes('task.failed'))
  const done = await report(app, a)
  t.equal(done.statusCode, 200, 'the work arrived after all: a completed report still counts')
  t.equal(done.json().task.state, 'completed')
})

t.test('leases survive the timer: expiry happens within a second of the deadline', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a'], { leaseSeconds: 1 })
  const a = await claim(app, 'w1')
  const deadline = Date.parse(a.lease.expiresAt)
  t.ok(await eventually(async () => (await app.inject('/tasks/a')).json().task.state === 'submitted', 3000))
  const expired = (await app.inject('/events?after=0')).json().events.find((e: any) => e.type === 'task.lease_expired')
  t.ok(Date.parse(expired.at) - deadline < 1000, 'requeued within 1 s of the deadline')
})

t.test('heartbeat errors: unknown task, unknown lease, other worker', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a'])
  const a = await claim(app, 'w1')
  t.equal((await post(app, '/tasks/zz/heartbeat', { worker: 'w1', leaseId: a.lease.leaseId })).statusCode, 404)
  const unknown = await post(app, '/tasks/a/heartbeat', { worker: 'w1', leaseId: 'nope' })
  t.equal(unknown.json().code, 'LEASE_UNKNOWN')
  const other = await post(app, '/tasks/a/heartbeat', { worker: 'w2', leaseId: a.lease.leaseId })
  t.equal(other.statusCode, 409)
  t.equal(other.json().code, 'LEASE_NOT_YOURS')
})
