/**
 * Presence that tells the truth, on a mocked clock (node:test MockTimers: setTimeout, setInterval and
 * Date advance only when the test ticks; the store's setImmediate stays real): a worker heartbeating
 * as the rules say is `working`, never offline, and wakes no coordinator; one whose lease lapses goes
 * offline naming the lost task, which wakes `coord wait` / `wait_for` for its project only.
 */
import t, { type Test } from 'tap'
import { mock } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { CoordClient } from '../clients/client.js'
import { waitUntil } from '../clients/wait-until.js'
import { build, claim, post, postTasks } from './helper.js'

const T0 = Date.parse('2026-12-01T10:00:00Z')

/** Mock the clock from T0 for this test (restored when it ends). */
function mockClock (t: Test): void {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: T0 })
  t.teardown(() => mock.timers.reset())
}

/** Let the work the fired timers started (store transactions on setImmediate) finish. */
async function settle (): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Advance the mocked clock by `s` seconds, one second at a time (so each timer fires at its own time). */
async function advance (s: number): Promise<void> {
  for (let i = 0; i < s; i++) {
    mock.timers.tick(1000)
    await settle()
  }
}

/** The part of CoordClient that waitUntil uses, through inject (no socket: the clock is mocked). */
function injectClient (app: FastifyInstance): CoordClient {
  const get = async (url: string): Promise<any> => (await app.inject(url)).json()
  return {
    status: (project?: string) => get(`/status${project === undefined ? '' : `?project=${project}`}`),
    events: (q: { after: number, limit: number, project?: string }) =>
      get(`/events?after=${q.after}&limit=${q.limit}&wait=0${q.project === undefined ? '' : `&project=${q.project}`}`),
    getTask: async (id: string) => ({ task: await get(`/tasks/${id}`) }),
  } as unknown as CoordClient
}

const types = async (app: FastifyInstance): Promise<string[]> => (await app.inject('/events')).json().events.map((e: any) => e.type)

t.test('workers heartbeating every 300 s on 600 s leases stay working for 16 minutes: no offline event, no coord wait wake-up', async (t) => {
  mockClock(t)
  const app = await build(t, { COORD_OFFLINE_SECONDS: 90 })
  await postTasks(app, ['a', 'b', 'c'], { leaseSeconds: 600 })
  const leases = [await claim(app, 'w1'), await claim(app, 'w2'), await claim(app, 'w3')]
  for (let round = 1; round <= 3; round++) {
    await advance(300)
    for (const a of leases) {
      const res = await post(app, `/tasks/${a.task.id as string}/heartbeat`, { worker: a.lease.worker, leaseId: a.lease.leaseId })
      t.equal(res.statusCode, 200, `heartbeat ${round} of ${a.lease.worker as string}`)
    }
  }
  await advance(60) // 16 minutes in all, 5 of them since the last heartbeat
  t.notOk((await types(app)).some((e) => e.startsWith('worker.') && e !== 'worker.registered'), 'no worker.offline or worker.online event')
  const { workers } = (await app.inject('/workers')).json()
  t.match(workers, [1, 2, 3].map((i) => ({ id: `w${i}`, state: 'working', currentTask: 'abc'[i - 1], lastSeenAt: new Date(T0 + 900_000).toISOString() })))
  t.same(workers.map((w: any) => w.leaseSecondsLeft), [540, 540, 540], 'lease time left: 600 s from the last heartbeat, 60 s ago')
  t.same((await app.inject('/status')).json().workers, { idle: 0, working: 3, offline: 0, waiting: 0 })
  const result = await waitUntil(injectClient(app), { project: 'p1', after: 0 }, { waitS: 0 })
  t.equal(result.outcome, 'timeout', 'coord wait is not woken')
  t.same(result.attention, [])
})

t.test('a worker whose lease lapses without a heartbeat goes offline naming the lost task; that wakes its project\'s wait only', async (t) => {
  mockClock(t)
  const app = await build(t, { COORD_OFFLINE_SECONDS: 90 })
  await postTasks(app, ['a'], { leaseSeconds: 600 })
  await postTasks(app, ['x'], {}, 'p2')
  await post(app, '/projects/p2/close')
  const a = await claim(app, 'w1', '&project=p1')
  await advance(599)
  t.match((await app.inject('/workers')).json().workers, [{ id: 'w1', state: 'working', leaseSecondsLeft: 1 }], 'working until the lease ends')
  await advance(2)
  const offline = (await app.inject('/events')).json().events.filter((e: any) => e.type === 'worker.offline')
  t.match(offline, [{ worker: 'w1', taskId: 'a', project: 'p1' }], 'offline once the lease lapsed, naming the lost task')
  t.match((await app.inject('/workers')).json().workers, [{ id: 'w1', state: 'offline', currentTask: null, lostTask: 'a', leaseExpiresAt: null }])

  const p1 = await waitUntil(injectClient(app), { project: 'p1', after: 0 }, { waitS: 0 })
  t.equal(p1.outcome, 'attention')
  t.match(p1.attention, [{ reason: 'worker_offline', worker: 'w1', taskId: 'a' }])
  t.match(p1.message, /w1 went offline and lost task a/)

  // Another project's wait is not woken by it; a finished project says so.
  const p2 = await waitUntil(injectClient(app), { project: 'p2', after: 0 }, { waitS: 0 })
  t.equal(p2.outcome, 'timeout', 'p2 is open and nothing in it needs anyone')
  await report(app, await claim(app, 'w2', '&project=p2'))
  const done = await waitUntil(injectClient(app), { project: 'p2', after: 0 }, { waitS: 0 })
  t.equal(done.outcome, 'done', 'a finished project ends the wait with done, not with other projects\' workers')

  const again = await claim(app, 'w1', '&project=p1')
  t.equal(again.task.id, 'a', 'w1 back: the re-offered task')
  t.equal(again.lease.attempt, a.lease.attempt + 1)
  t.same((await types(app)).filter((e) => e.startsWith('worker.')), ['worker.registered', 'worker.offline', 'worker.registered', 'worker.online'])
  t.match((await app.inject('/workers')).json().workers[0], { id: 'w1', state: 'working', lostTask: null }, 'its next request clears lostTask')
})

t.test('an idle worker that goes quiet is offline after the threshold, and wakes no one', async (t) => {
  mockClock(t)
  const app = await build(t, { COORD_OFFLINE_SECONDS: 90 })
  await postTasks(app, ['a'])
  await claim(app, 'w1', '&type=other')
  await advance(89)
  t.match((await app.inject('/workers')).json().workers, [{ id: 'w1', state: 'idle' }])
  await advance(2)
  t.match((await app.inject('/workers')).json().workers, [{ id: 'w1', state: 'offline', lostTask: null }])
  t.match((await app.inject('/events')).json().events.filter((e: any) => e.type === 'worker.offline'), [{ worker: 'w1', taskId: null, project: null }])
  const result = await waitUntil(injectClient(app), { project: 'p1', after: 0 }, { waitS: 0 })
  t.equal(result.outcome, 'timeout', 'a worker holding nothing needs no one')
  const all = await waitUntil(injectClient(app), { after: 0 }, { waitS: 0 })
  t.equal(all.outcome, 'timeout', 'not across every project either')
})

async function report (app: FastifyInstance, a: any): Promise<void> {
  const res = await post(app, `/tasks/${a.task.id as string}/report`, { worker: a.lease.worker, leaseId: a.lease.leaseId, status: 'completed', summary: 'ok' })
  if (res.statusCode !== 200) throw new Error(`report: ${res.statusCode} ${res.body}`)
}

t.test('a worker inside one 540 s long poll (the default cap) is waiting, never offline, though the threshold is 90 s', async (t) => {
  mockClock(t)
  const app = await build(t)
  const poll = app.inject('/tasks/next?worker=w1&wait=540')
  await settle()
  await advance(300)
  t.match((await app.inject('/workers')).json().workers, [{ id: 'w1', state: 'waiting', waiting: true }])
  t.match((await app.inject('/status')).json().workers, { waiting: 1, idle: 0, offline: 0 })
  await advance(240)
  t.equal((await poll).statusCode, 204, 'one poll waited the whole 540 s')
  t.match((await app.inject('/workers')).json().workers, [{ id: 'w1', state: 'idle' }])
  t.same(await types(app), ['worker.registered'])
})

t.test('GET /projects/{p}/metrics: idle time counts every wait, the one before the first task included', async (t) => {
  mockClock(t)
  const app = await build(t)
  t.equal(await claim(app, 'w1', '&project=p1'), 204, 'w1 asks before the coordinator has posted anything')
  await advance(180)
  await postTasks(app, ['a'])
  const a = await claim(app, 'w1', '&project=p1')
  await advance(60)
  await report(app, a)
  const poll = app.inject('/tasks/next?worker=w1&wait=540&project=p1')
  await settle()
  await advance(60)
  const idle = async (): Promise<unknown> => (await app.inject('/projects/p1/metrics')).json().workers
  t.match(await idle(), [{ worker: 'w1', busyMs: 60_000, idleMs: 240_000 }], '180 s before its task and 60 s waiting since')
  await post(app, '/projects/p1/close')
  t.equal((await poll).statusCode, 410, 'the project finished')
  await advance(100)
  t.match(await idle(), [{ worker: 'w1', busyMs: 60_000, idleMs: 240_000 }], 'no more idle time once the project finished')
})

t.test('a worker working silently on its lease still counts as polling for its type: no unclaimable escalation', async (t) => {
  mockClock(t)
  const app = await build(t)
  await postTasks(app, ['a', 'b'], { type: 'x', leaseSeconds: 600 })
  const a = await claim(app, 'w1', '&type=x')
  await advance(300)
  t.equal((await post(app, '/tasks/a/heartbeat', { worker: 'w1', leaseId: a.lease.leaseId })).statusCode, 200)
  await advance(100)
  t.same((await app.inject('/escalations')).json().escalations, [], 'b waits for w1, which is working (silent 100 s, lease live)')
})
