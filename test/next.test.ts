// GET /tasks/next over real sockets: the long poll wakes on a post, times out with 204, claims nothing
// for a client that hung up, serves the longest-waiting worker first, and says 410 when a project is done.
import t from 'tap'
import { request } from 'undici'
import { claim, eventually, listen, post, postTasks, report } from './helper.js'
import type { Store } from '../src/store/store.js'

async function poll (url: string, worker: string, wait: number, extra = '', signal?: AbortSignal) {
  const res = await request(`${url}/tasks/next?worker=${worker}&wait=${wait}${extra}`, signal === undefined ? {} : { signal })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? null : JSON.parse(text) }
}

async function waitingWorkers (url: string): Promise<string[]> {
  const res = await request(`${url}/workers`)
  const { workers } = await res.body.json() as { workers: Array<{ id: string, waiting: boolean }> }
  return workers.filter((w) => w.waiting).map((w) => w.id)
}

t.test('a parked long poll is woken by a post', async (t) => {
  const { app, url } = await listen(t)
  const started = Date.now()
  const pending = poll(url, 'w1', 30)
  t.ok(await eventually(async () => (await waitingWorkers(url)).includes('w1')), 'w1 is parked')
  await postTasks(app, ['a'])
  const res = await pending
  t.equal(res.status, 200)
  t.equal(res.body.task.id, 'a')
  t.equal(res.body.lease.worker, 'w1')
  t.equal(res.body.lease.attempt, 1)
  t.equal(res.body.resumed, false)
  t.ok(Date.now() - started < 30_000, 'answered before the wait ran out')
})

t.test('204 when the wait passes with nothing', async (t) => {
  const { url } = await listen(t)
  const res = await poll(url, 'w1', 1)
  t.equal(res.status, 204)
  t.equal(res.body, null)
})

t.test('a client that disconnects while waiting is given nothing', async (t) => {
  const { app, url } = await listen(t)
  const ac = new AbortController()
  const pending = poll(url, 'gone', 30, '', ac.signal).catch((err: Error) => err)
  t.ok(await eventually(async () => (await waitingWorkers(url)).includes('gone')), 'parked')
  ac.abort()
  t.ok((await pending) instanceof Error, 'the client aborted')
  t.ok(await eventually(async () => !(await waitingWorkers(url)).includes('gone')), 'no longer parked')
  await postTasks(app, ['a'])
  const task = (await app.inject('/tasks/a')).json()
  t.equal(task.task.state, 'submitted', 'nothing was claimed for the gone client')
  t.equal(task.task.attempts, 0)
  const next = await poll(url, 'other', 0)
  t.equal(next.body.lease.attempt, 1, 'the next worker gets a first attempt')
})

t.test('the same worker polling again gets its live lease back', async (t) => {
  const { app, url } = await listen(t)
  await postTasks(app, ['a', 'b'])
  const first = await poll(url, 'w1', 0)
  const again = await poll(url, 'w1', 5)
  t.equal(again.status, 200)
  t.equal(again.body.task.id, first.body.task.id)
  t.equal(again.body.lease.leaseId, first.body.lease.leaseId)
  t.equal(again.body.resumed, true)
  t.equal((await app.inject('/tasks/b')).json().task.state, 'submitted', 'no second task was leased')
})

t.test('parked polls woken together are served in a few transactions, not a commit each', async (t) => {
  let transactions = 0
  const counting = (store: Store): Store => new Proxy(store, {
    get (target, prop) {
      if (prop === 'transact') return (fn: Parameters<Store['transact']>[0]) => { transactions++; return target.transact(fn) }
      const v = Reflect.get(target, prop) as unknown
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  const { app, url } = await listen(t, {}, counting)
  const ids = Array.from({ length: 70 }, (_, i) => `after-${i}`)
  await postTasks(app, ['gate'])
  await postTasks(app, ids, { dependsOn: ['gate'] })
  const gate = await claim(app, 'g', '&project=p1')
  const workers = ids.map((_, i) => `w${i}`)
  const polls = workers.map((w) => poll(url, w, 10, '&project=p1'))
  t.ok(await eventually(async () => (await waitingWorkers(url)).length === 70), 'all 70 polls are parked')
  transactions = 0
  t.equal((await report(app, gate)).statusCode, 200, 'the gate is completed: its 70 dependents become ready at once')
  const got = await Promise.all(polls)
  t.ok(got.every((r) => r.status === 200), 'every parked poll got a task')
  t.same(got.map((r) => r.body.task.id).sort(), [...ids].sort(), 'each dependent went to one poll')
  // The report is one, then rounds of up to 64 claims; claiming poll by poll would add 70, each waiting for the previous one's fsync.
  t.ok(transactions <= 5, `the report and 70 claims took ${transactions} transactions`)
})

t.test('the longest-waiting worker is served first', async (t) => {
  const { app, url } = await listen(t)
  const p1 = poll(url, 'early', 30)
  t.ok(await eventually(async () => (await waitingWorkers(url)).includes('early')))
  const p2 = poll(url, 'late', 30)
  t.ok(await eventually(async () => (await waitingWorkers(url)).includes('late')))
  await postTasks(app, ['first'])
  t.equal((await p1).body.task.id, 'first')
  await postTasks(app, ['second'])
  t.equal((await p2).body.task.id, 'second')
})

t.test('project and type filters', async (t) => {
  const { app, url } = await listen(t)
  await post(app, '/tasks', { project: 'p1', tasks: [{ id: 'p1-a', description: 'x', type: 'review' }] })
  await post(app, '/tasks', { project: 'p2', tasks: [{ id: 'p2-a', description: 'x', type: 'code' }] })
  t.equal((await poll(url, 'w1', 0, '&project=p2')).body.task.id, 'p2-a')
  t.equal((await poll(url, 'w2', 0, '&type=code')).status, 204)
  t.equal((await poll(url, 'w3', 0, '&type=review')).body.task.id, 'p1-a')
})

t.test('410 once the project is closed and every task finished; a parked poll is told too', async (t) => {
  const { app, url } = await listen(t)
  await postTasks(app, ['a'])
  const a = await claim(app, 'w1')
  const parked = poll(url, 'w2', 30, '&project=p1')
  t.ok(await eventually(async () => (await waitingWorkers(url)).includes('w2')))
  t.equal((await post(app, '/projects/p1/close')).json().done, false, 'closed but not done: a task is working')
  await post(app, '/tasks/a/report', { worker: 'w1', leaseId: a.lease.leaseId, status: 'completed', summary: 'ok' })
  const res = await parked
  t.equal(res.status, 410)
  t.equal(res.body.code, 'PROJECT_FINISHED')
  t.match(res.body.message, /You may stop/)
  const fresh = await poll(url, 'w3', 10, '&project=p1')
  t.equal(fresh.status, 410, 'answered at once, without waiting')
  t.equal((await poll(url, 'w3', 0)).status, 410, 'without a project filter: every project is done')
  t.equal((await app.inject('/status?project=p1')).json().done, true)
})

t.test('a worker polling twice at once keeps one lease: the older poll is answered 204', async (t) => {
  const { app, url } = await listen(t)
  const older = poll(url, 'w1', 30)
  t.ok(await eventually(async () => (await waitingWorkers(url)).includes('w1')))
  const newer = poll(url, 'w1', 30)
  t.equal((await older).status, 204)
  await postTasks(app, ['a', 'b'])
  t.equal((await newer).body.task.id, 'a')
  t.equal((await app.inject('/tasks/b')).json().task.state, 'submitted')
})

t.test('wait is capped at the configured maximum', async (t) => {
  const { url } = await listen(t, { COORD_MAX_WAIT_SECONDS: 1, COORD_DEFAULT_WAIT_SECONDS: 1, COORD_OFFLINE_SECONDS: 5 })
  const started = Date.now()
  t.equal((await poll(url, 'w1', 3600)).status, 204)
  t.ok(Date.now() - started < 3000, 'returned after the 1 s cap, not an hour')
})
