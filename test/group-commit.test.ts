// Group commit: concurrent changes share one COMMIT (one fsync), an operation that throws rolls back
// only its own writes, and nobody is answered before the commit that covers its change.
import t from 'tap'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { openSqliteStore } from '../src/store/sqlite-open.js'
import { createTasks } from '../src/lifecycle/create-ops.js'
import { toSpec } from '../src/lifecycle/task-spec.js'
import { CoordError } from '../src/errors.js'
import { tempDir } from './helper.js'

const spec = (id: string) => toSpec({ id, description: id }, 'p', { leaseMs: 60_000, maxAttempts: 3 })
const T0 = 1_800_000_000_000

t.test('concurrent transactions share commits; a failing one rolls back alone', async (t) => {
  const file = join(tempDir(), 'coord.db')
  const store = openSqliteStore(file)
  t.teardown(() => store.close())
  const before = { ...store.stats }
  const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.transact(async (tx) => {
    await createTasks(tx, 'p', [{ id: `t${i}`, description: `t${i}` }], [spec(`t${i}`)], false, T0)
    if (i === 7) throw new CoordError('TASK_CONFLICT', 'injected failure after a write')
    return i
  })))
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 19, 'every other operation succeeded')
  t.equal((results[7] as PromiseRejectedResult).reason.code, 'TASK_CONFLICT', 'the failing one got its own error')
  const commits = store.stats.commits - before.commits
  t.equal(store.stats.operations - before.operations, 19)
  t.ok(commits <= 2, `20 concurrent operations took ${commits} commit(s), not 20`)

  // What was acknowledged is in the file, seen by another connection; the failed write is not.
  const db = new Database(file, { readonly: true })
  t.teardown(() => db.close())
  const ids = (db.prepare('SELECT id FROM tasks ORDER BY seq').all() as Array<{ id: string }>).map((r) => r.id)
  t.equal(ids.length, 19)
  t.notOk(ids.includes('t7'), 'the failed operation left nothing behind')
  const events = db.prepare("SELECT count(*) AS n FROM events WHERE type = 'task.created'").get() as { n: number }
  t.equal(events.n, 19, 'its event was rolled back with it')
})

t.test('a caller is answered only after its commit: a failing COMMIT fails every operation of the batch', async (t) => {
  const store = openSqliteStore(join(tempDir(), 'coord.db'))
  t.teardown(() => store.close())
  // A deferred foreign key violation is only detected at COMMIT: the whole batch must then fail.
  const db = (store as unknown as { db: Database.Database }).db
  db.pragma('defer_foreign_keys = ON')
  const good = store.transact((tx) => createTasks(tx, 'p', [{ id: 'a', description: 'a' }], [spec('a')], false, T0))
  const bad = store.transact(async () => {
    db.pragma('defer_foreign_keys = ON')
    db.prepare("INSERT INTO leases (id, task_id, worker, attempt, granted_at, expires_at) VALUES ('l', 'nope', 'w', 1, 0, 0)").run()
  })
  const [g, b] = await Promise.allSettled([good, bad])
  t.equal(g.status, 'rejected', 'the good operation is not acknowledged when its commit failed')
  t.equal(b.status, 'rejected')
  t.equal(await store.getTask('a'), null, 'nothing of the batch was kept')
  const after = await store.transact((tx) => createTasks(tx, 'p', [{ id: 'a', description: 'a' }], [spec('a')], false, T0))
  t.same(after.created, ['a'], 'the next batch commits normally')
})
