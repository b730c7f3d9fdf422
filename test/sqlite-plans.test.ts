// The hot SQLite queries walk an index: a claim's cost must not grow with tasks queued elsewhere
// (checked with EXPLAIN QUERY PLAN, which names the index a query uses or says SCAN for a full scan).
import t from 'tap'
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { openSqliteStore } from '../src/store/sqlite-open.js'
import { pickSql } from '../src/store/sqlite-tx.js'
import { tempDir } from './helper.js'

t.test('claims, live-lease lookups and open-task checks use indexes', async (t) => {
  const file = join(tempDir(), 'coord.db')
  await openSqliteStore(file).close()
  const db = new Database(file, { readonly: true })
  t.teardown(() => db.close())
  const plan = (sql: string, params: Record<string, unknown> | unknown[]): string =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>).map((r) => r.detail).join(' | ')
  const shapes = [{}, { project: 'p' }, { type: 'x' }, { project: 'p', type: 'x' }]
  for (const filter of shapes) {
    for (const skip of [false, true]) {
      const p = plan(pickSql(filter, skip), { ...filter, ...(skip ? { worker: 'w' } : {}) })
      t.match(p, /SEARCH t USING INDEX tasks_queue/, `claim ${JSON.stringify(filter)}${skip ? ' skipping retries' : ''}: ${p}`)
      t.notMatch(p, /SCAN t\b/, 'no full scan of tasks')
      t.notMatch(p, /TEMP B-TREE/, 'no sort: the index gives claim order')
    }
  }
  t.match(plan('SELECT * FROM leases WHERE worker = ? AND ended_at IS NULL', ['w']), /USING INDEX leases_live_worker/)
  t.match(plan('SELECT * FROM leases WHERE ended_at IS NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?', [1, 1]), /USING INDEX leases_live_deadline/)
  t.match(plan('SELECT EXISTS (SELECT 1 FROM tasks WHERE project = ? AND state = ?) AS e', ['p', 'working']), /USING COVERING INDEX tasks_queue_project/)
})
