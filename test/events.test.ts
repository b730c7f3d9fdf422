// GET /events: ordered, resumable by sequence number, long-polled, filtered by project, durable.
import t from 'tap'
import { request } from 'undici'
import { join } from 'node:path'
import { build, claim, eventually, listen, post, postTasks, report, tempDir } from './helper.js'

t.test('events are ordered and resumable with after', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a', 'b'])
  const a = await claim(app, 'w1')
  await report(app, a)
  const all = (await app.inject('/events?after=0')).json()
  const seqs = all.events.map((e: any) => e.seq)
  t.same(seqs, [...seqs].sort((x: number, y: number) => x - y), 'increasing')
  t.same(all.events.map((e: any) => e.type), ['task.created', 'task.created', 'worker.registered', 'task.claimed', 'task.completed'])
  t.equal(all.nextAfter, seqs[seqs.length - 1])
  const page = (await app.inject('/events?after=0&limit=2')).json()
  t.equal(page.events.length, 2)
  const rest = (await app.inject(`/events?after=${page.nextAfter}`)).json()
  t.same([...page.events, ...rest.events].map((e: any) => e.seq), seqs, 'two pages make the whole feed, nothing skipped or repeated')
  const none = (await app.inject(`/events?after=${all.nextAfter}`)).json()
  t.same(none, { events: [], nextAfter: all.nextAfter })
})

t.test('a waiting reader is woken by the next event', async (t) => {
  const { app, url } = await listen(t)
  const pending = request(`${url}/events?after=0&wait=20&project=p1`)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const posted = Date.now()
  await postTasks(app, ['a'])
  const res = await pending
  const body = await res.body.json() as any
  t.ok(Date.now() - posted < 2000, `woken ${Date.now() - posted} ms after the post, not at the end of its 20 s wait`)
  t.equal(res.statusCode, 200)
  t.equal(body.events[0].type, 'task.created')
  t.equal(body.events[0].taskId, 'a')
})

t.test('a project filter keeps that project and worker events', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a'], {}, 'p1')
  await postTasks(app, ['b'], {}, 'p2')
  await claim(app, 'w1', '&project=p2')
  const p1 = (await app.inject('/events?project=p1')).json().events
  t.same(p1.map((e: any) => [e.type, e.taskId]), [['task.created', 'a'], ['worker.registered', null]])
})

t.test('worker offline and online events', async (t) => {
  const app = await build(t, { COORD_OFFLINE_SECONDS: 2, COORD_MAX_WAIT_SECONDS: 1, COORD_DEFAULT_WAIT_SECONDS: 0 })
  await claim(app, 'w1')
  t.ok(await eventually(async () => (await app.inject('/workers')).json().workers[0].state === 'offline', 5000))
  t.ok(await eventually(async () => (await app.inject('/events')).json().events.some((e: any) => e.type === 'worker.offline'), 3000))
  await claim(app, 'w1')
  const types = (await app.inject('/events')).json().events.map((e: any) => e.type)
  t.same(types, ['worker.registered', 'worker.offline', 'worker.online'])
})

t.test('the feed survives a restart from the same file', async (t) => {
  const db = join(tempDir(), 'coord.db')
  const first = await build(t, { COORD_DB: db })
  await postTasks(first, ['a'])
  await post(first, '/projects/p1/close')
  const before = (await first.inject('/events')).json()
  await first.close()
  const second = await build(t, { COORD_DB: db })
  t.same((await second.inject('/events')).json(), before)
  await postTasks(second, ['b'], {}, 'p2')
  const after = (await second.inject(`/events?after=${before.nextAfter}`)).json().events
  t.equal(after[0].seq, before.nextAfter + 1, 'numbering continues after the restart')
})
