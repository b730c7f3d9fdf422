// Reads are total: rows that today's rules would reject (another version, a migration, a hand edit)
// never make listing, reading, claiming or the event feed fail. Bad values are written straight into
// the SQLite file, then read through the API.
import t from 'tap'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { build, claim, postTasks, report, tempDir } from './helper.js'

const EPOCH = '1970-01-01T00:00:00.000Z'

t.test('bad stored values read by a documented fallback, never a 500', async (t) => {
  const file = join(tempDir(), 'coord.db')
  const app = await build(t, { COORD_DB: file })
  await postTasks(app, ['done', 'odd', 'queued'], { acceptance: ['ok'], files: { read: ['a'] } })
  const a = await claim(app, 'w1')
  t.equal((await report(app, a, 'completed', { deliverables: ['x'], details: { n: 1 }, contextScore: 4 })).statusCode, 200)

  const db = new Database(file)
  t.teardown(() => db.close())
  const set = (sql: string, ...args: unknown[]): void => { db.prepare(sql).run(...args) }
  set("UPDATE tasks SET priority = 'high', lease_ms = ?, max_attempts = 'many', attempts = -5 WHERE id = 'queued'", Infinity)
  set("UPDATE tasks SET context = '{not json', acceptance = '\"one\"', files = '[1]', state = 'paused', created_at = 'yesterday', " +
    "priority = ?, result = '{\"status\":\"weird\"}' WHERE id = 'odd'", 1e300)
  set("UPDATE tasks SET result = 'oops', finished_at = ?, lease_ms = 99999999999 WHERE id = 'done'", -Infinity)
  set("UPDATE reports SET deliverables = 'x', details = '[', context_score = 'five', attempt = 1.5, created_at = ?", 1e300)
  set("UPDATE leases SET granted_at = 'then', attempt = 'first' WHERE task_id = 'done'")
  set("INSERT INTO events (type, project, task_id, worker, data, at) VALUES ('task.teleported', 'p1', 'odd', 7, 'nope', ?)", 1e300)

  const list = await app.inject('/tasks')
  t.equal(list.statusCode, 200, 'GET /tasks')
  const byId = Object.fromEntries(list.json().tasks.map((x: any) => [x.id, x]))
  t.match(byId.queued, { priority: 0, leaseSeconds: 120, maxAttempts: 3, attempts: 0 }, 'non-integers read as the default, out-of-range integers are clamped')
  t.match(byId.odd, { context: {}, acceptance: [], files: { read: [], write: [] }, state: 'input-required', createdAt: EPOCH, priority: 0, result: null },
    'bad JSON reads as empty; an unknown state as input-required')
  t.match(byId.done, { result: null, finishedAt: null, leaseSeconds: 86400, state: 'completed' })

  for (const id of ['done', 'odd', 'queued']) {
    const res = await app.inject(`/tasks/${id}`)
    t.equal(res.statusCode, 200, `GET /tasks/${id}`)
    if (id === 'done') {
      t.match(res.json().reports[0], { deliverables: [], details: {}, contextScore: null, attempt: null, reportedAt: EPOCH })
      t.match(res.json().leases[0], { grantedAt: EPOCH, attempt: 1 })
    }
  }

  const events = await app.inject('/events?limit=1000')
  t.equal(events.statusCode, 200, 'GET /events')
  const odd = events.json().events.at(-1)
  t.match(odd, { type: 'task.teleported', data: {}, at: EPOCH, worker: '7' }, 'an unknown event type is passed through; bad data reads as {}')
  t.equal(events.json().nextAfter, odd.seq, 'the feed moves past it')

  const next = await app.inject('/tasks/next?worker=w2&wait=0')
  t.equal(next.statusCode, 200, 'a task with a bad lease length and priority can still be claimed')
  const lease = next.json().lease
  t.equal(next.json().task.id, 'queued')
  t.equal(lease.leaseSeconds, 120)
  t.ok(Math.abs(Date.parse(lease.expiresAt) - Date.now() - 120_000) < 5000, 'the lease runs the default 120 s')
  const beat = await app.inject({ method: 'POST', url: '/tasks/queued/heartbeat', payload: { worker: 'w2', leaseId: lease.leaseId } })
  t.equal(beat.statusCode, 200, 'and heartbeated')

  for (const url of ['/status', '/projects', '/workers']) t.equal((await app.inject(url)).statusCode, 200, `GET ${url}`)
})
