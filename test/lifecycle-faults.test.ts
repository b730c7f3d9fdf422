// The lifecycle keeps its promises when the store is slow or fails: timers re-arm after a failed run,
// no wake-up is lost between a claim and parking, a committed request never answers 5xx because of
// what ran after its commit, and a change costs nothing for parked polls it cannot serve.
import t from 'tap'
import { request } from 'undici'
import { claim, eventually, listen, post, postTasks } from './helper.js'
import { faulty, type Faults } from './faulty-store.js'

async function poll (url: string, worker: string, wait: number, extra = '') {
  const res = await request(`${url}/tasks/next?worker=${worker}&wait=${wait}${extra}`)
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? null : JSON.parse(text) }
}

t.test('a lease-expiry run that fails is retried: the lapsed task is requeued soon after the store recovers', async (t) => {
  let faults!: Faults
  const { app } = await listen(t, {}, (s) => { const w = faulty(s); faults = w.faults; return w.store })
  await postTasks(app, ['a'], { leaseSeconds: 1 })
  const a = await claim(app, 'w1')
  t.equal(a.lease.attempt, 1)
  faults.failNext = 2 // the expiry at the 1 s deadline fails, and its first retry too
  const requeued = await eventually(async () => (await app.inject('/tasks/a')).json().task.state === 'submitted', 4000)
  t.ok(requeued, 'requeued within ~1 s + two backoff retries, not left working')
  t.equal(faults.failNext, 0, 'the injected failures were hit')
})

t.test('no wake-up is lost: a task committed between a poll\'s claim and its parking still reaches it', async (t) => {
  let faults!: Faults
  const { app, url } = await listen(t, {}, (s) => { const w = faulty(s, { delayMs: 20 }); faults = w.faults; return w.store })
  await poll(url, 'w1', 0) // register
  for (let i = 0; i < 3; i++) {
    // The poll's first claim finds nothing; the task is committed right after it, before the poll parks.
    faults.after = { method: 'transact', run: () => postTasks(app, [`t${i}`]) }
    const started = Date.now()
    const res = await poll(url, 'w1', 10)
    t.equal(res.status, 200, `round ${i}: the poll got the task`)
    t.ok(Date.now() - started < 3000, `round ${i}: answered in ${Date.now() - started} ms, not after its 10 s wait`)
    await post(app, `/tasks/t${i}/report`, { worker: 'w1', leaseId: res.body.lease.leaseId, status: 'completed', summary: 'ok' })
  }
})

t.test('no event wake-up is lost: an event committed between a reader\'s read and its parking still reaches it', async (t) => {
  let faults!: Faults
  const { app, url } = await listen(t, {}, (s) => { const w = faulty(s, { delayMs: 20 }); faults = w.faults; return w.store })
  const after = (await app.inject('/events')).json().nextAfter
  faults.after = { method: 'events', run: () => postTasks(app, ['a']) }
  const started = Date.now()
  const body = await (await request(`${url}/events?after=${after}&wait=10`)).body.json() as { events: Array<{ type: string }> }
  t.equal(body.events[0]?.type, 'task.created')
  t.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms, not after its 10 s wait`)
})

t.test('a post hands its task to a parked worker inside its own transaction', async (t) => {
  let faults!: Faults
  const { app, url } = await listen(t, {}, (s) => { const w = faulty(s); faults = w.faults; return w.store })
  await poll(url, 'w1', 0)
  const pending = poll(url, 'w1', 5)
  t.ok(await eventually(async () => (await app.inject('/workers')).json().workers[0].waiting))
  const start = faults.transactions
  const res = await post(app, '/tasks', { project: 'p1', tasks: [{ id: 'a', description: 'x' }] })
  t.equal(res.statusCode, 201)
  const got = await pending
  t.equal(got.status, 200, 'the parked worker got the task')
  t.equal(got.body.task.id, 'a')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(faults.transactions - start, 1, 'one transaction: the post and the claim for the parked poll, no second claim')
})

t.test('a report whose transaction committed answers 200 even when handing its requeued task to a parked worker fails', async (t) => {
  let faults!: Faults
  const { app, url } = await listen(t, {}, (s) => { const w = faulty(s); faults = w.faults; return w.store })
  await postTasks(app, ['a'])
  const held = await claim(app, 'w2')
  await poll(url, 'w1', 0)
  const pending = poll(url, 'w1', 3)
  t.ok(await eventually(async () => (await app.inject('/workers')).json().workers.some((w: any) => w.waiting)))
  const start = faults.transactions
  faults.failWhen = () => faults.transactions === start + 2 // the report commits; the claim for the parked poll fails
  const res = await post(app, '/tasks/a/report', { worker: 'w2', leaseId: held.lease.leaseId, status: 'failed', summary: 'retry it' })
  t.equal(res.statusCode, 200)
  t.ok(await eventually(async () => faults.transactions >= start + 2), 'the claim for the parked poll was attempted (and failed)')
  await pending
  const again = await poll(url, 'w1', 0)
  t.equal(again.status, 200, 'the requeued task is still there for the next poll')
})

t.test('a post that wakes nobody makes no claim for polls parked on other projects', async (t) => {
  let faults!: Faults
  const { app, url } = await listen(t, {}, (s) => { const w = faulty(s); faults = w.faults; return w.store })
  const parked = Array.from({ length: 50 }, (_, i) => poll(url, `idle-${i}`, 30, '&project=idle'))
  t.ok(await eventually(async () => (await app.inject('/status')).json().workers.waiting === 50, 10_000), '50 polls parked')
  const before = faults.transactions
  await postTasks(app, ['x1', 'x2'], {}, 'busy')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(faults.transactions - before, 1, 'one transaction (the post), no claim per parked poll')
  await postTasks(app, ['i1'], {}, 'idle')
  t.ok(await eventually(async () => (await app.inject('/tasks/i1')).json().task.state === 'working'), 'a post to their project is claimed')
  t.ok(faults.transactions - before <= 4, `a few transactions for that post, not one per parked poll (${faults.transactions - before})`)
  await app.close()
  await Promise.all(parked)
})

t.test('presence costs no write per poll', async (t) => {
  let faults!: Faults
  const { app, url } = await listen(t, {}, (s) => { const w = faulty(s); faults = w.faults; return w.store })
  await poll(url, 'w1', 0)
  const before = faults.transactions
  for (let i = 0; i < 10; i++) await poll(url, 'w1', 0)
  t.equal(faults.transactions - before, 10, 'only the ten claim attempts: no presence write per poll')
  const seen = (await app.inject('/workers')).json().workers[0].lastSeenAt
  t.ok(Date.parse(seen) >= Date.now() - 2000, 'the last-seen time is current')
})

t.test('a worker cycle costs one transaction: report and next claim commit together', async (t) => {
  let faults!: Faults
  const { app } = await listen(t, {}, (s) => { const w = faulty(s); faults = w.faults; return w.store })
  await postTasks(app, ['a', 'b'])
  const a = await claim(app, 'w1')
  const before = faults.transactions
  const res = await post(app, `/tasks/${a.task.id}/report?next=true&wait=5`, { worker: 'w1', leaseId: a.lease.leaseId, status: 'completed', summary: 'ok' })
  t.equal(res.statusCode, 200)
  t.equal(res.json().next.status, 'assigned', 'the next task came with the answer')
  t.equal(faults.transactions - before, 1, 'one transaction for the report and the claim')
  t.equal((await app.inject(`/tasks/${a.task.id}`)).json().task.state, 'completed', 'the report was committed')
})
