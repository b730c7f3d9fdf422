// GET /workers: pages, presence kept in memory yet right across a graceful restart.
import t from 'tap'
import { join } from 'node:path'
import { build, claim, eventually, postTasks, report, tempDir } from './helper.js'

t.test('workers come in pages, in order of first request', async (t) => {
  const app = await build(t)
  for (const w of ['w1', 'w2', 'w3']) await claim(app, w)
  const first = (await app.inject('/workers?limit=2')).json()
  t.same(first.workers.map((w: any) => w.id), ['w1', 'w2'])
  t.type(first.nextAfter, 'number')
  const rest = (await app.inject(`/workers?limit=2&after=${first.nextAfter}`)).json()
  t.same(rest.workers.map((w: any) => w.id), ['w3'])
  t.equal(rest.nextAfter, null)
  t.equal((await app.inject('/workers?limit=0')).statusCode, 400)
})

t.test('task history lists are capped by limit', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a'], { maxAttempts: 5 })
  for (let i = 0; i < 3; i++) await report(app, await claim(app, `w${i}`), 'failed')
  const full = (await app.inject('/tasks/a')).json()
  t.equal(full.leases.length, 3)
  const capped = (await app.inject('/tasks/a?limit=2')).json()
  t.same([capped.leases.length, capped.reports.length, capped.events.length], [2, 2, 2])
  t.same(capped.leases, full.leases.slice(0, 2), 'oldest first')
})

t.test('last-seen times kept in memory reach the file at a graceful close; offline and online follow after a restart', async (t) => {
  const db = join(tempDir(), 'coord.db')
  const env = { COORD_DB: db, COORD_OFFLINE_SECONDS: 2, COORD_MAX_WAIT_SECONDS: 1, COORD_DEFAULT_WAIT_SECONDS: 0 }
  const first = await build(t, env)
  await claim(first, 'w1')
  await new Promise((resolve) => setTimeout(resolve, 300))
  await claim(first, 'w1')
  const seen = (await first.inject('/workers')).json().workers[0].lastSeenAt
  await first.close()
  const second = await build(t, env)
  t.equal((await second.inject('/workers')).json().workers[0].lastSeenAt, seen, 'the latest last-seen time survived the restart')
  t.ok(await eventually(async () => (await second.inject('/events')).json().events.some((e: any) => e.type === 'worker.offline'), 4000),
    'declared offline one threshold after it was last seen')
  await claim(second, 'w1')
  const types = (await second.inject('/events')).json().events.map((e: any) => e.type)
  t.same(types, ['worker.registered', 'worker.offline', 'worker.online'])
})
