// A database written before migration 004 (smaller commits) opens, keeps its events, reports and queue, and
// numbers new events after the old ones: `after=seq` cursors held by readers stay valid across the upgrade.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { toSpec } from '../src/lifecycle/task-spec.js'
import { build, claim, post, report, tempDir } from './helper.js'

const MIGRATIONS = join(import.meta.dirname, '..', 'src', 'store', 'migrations', 'sqlite')

t.test('events keep their seq, reports and queued tasks survive, and new events follow the old ones', async (t) => {
  const file = join(tempDir(), 'coord.db')
  const old = new Database(file)
  for (const [n, f] of [[1, '001-init.sql'], [2, '002-claim-indexes.sql'], [3, '003-workflow.sql']] as const) {
    old.exec(readFileSync(join(MIGRATIONS, f), 'utf8'))
    old.pragma(`user_version = ${n}`)
  }
  const task = (id: string): unknown[] => {
    const input = { id, description: `do ${id}` }
    const spec = toSpec(input, 'p', { leaseMs: 120_000, maxAttempts: 3 })
    return [id, JSON.stringify(spec.files), JSON.stringify(input), spec.hash]
  }
  old.prepare('INSERT INTO projects (name, created_at) VALUES (?, ?)').run('p', 1)
  const insertTask = old.prepare(`INSERT INTO tasks (id, project, type, description, context, acceptance, files, priority, lease_ms, max_attempts,
    input, spec_hash, state, created_at, updated_at, finished_at) VALUES (?, 'p', 'task', 'do', '{}', '[]', ?, 0, 120000, 3, ?, ?, ?, 1, 1, ?)`)
  insertTask.run(...task('done'), 'completed', 2)
  insertTask.run(...task('queued'), 'submitted', null)
  old.prepare(`INSERT INTO reports (task_id, lease_id, worker, attempt, status, summary, deliverables, accepted, created_at)
    VALUES ('done', 'l1', 'w0', 1, 'completed', 'the old report', '[]', 1, 2)`).run()
  // Seqs with a gap, as rolled-back transactions leave them under AUTOINCREMENT.
  const insertEvent = old.prepare('INSERT INTO events (seq, type, project, task_id, worker, data, at) VALUES (?, ?, \'p\', ?, NULL, \'{}\', 1)')
  insertEvent.run(5, 'task.created', 'done')
  insertEvent.run(9, 'task.created', 'queued')
  old.close()

  const app = await build(t, { COORD_DB: file })
  const db = new Database(file, { readonly: true })
  t.ok((db.pragma('user_version', { simple: true }) as number) >= 4, 'migration 004 applied')
  const ddl = db.prepare('SELECT name, sql FROM sqlite_master WHERE name IN (\'events\', \'reports\')').all() as Array<{ name: string, sql: string }>
  t.same(ddl.map((r) => r.name).sort(), ['events', 'reports'])
  for (const r of ddl) t.notMatch(r.sql, /AUTOINCREMENT/i, `${r.name} no longer writes sqlite_sequence on each insert`)
  db.close()

  const before = (await app.inject('/events?after=0')).json()
  t.same(before.events.map((e: { seq: number, taskId: string }) => [e.seq, e.taskId]), [[5, 'done'], [9, 'queued']], 'the old events, same seqs')
  t.match((await app.inject('/tasks/done')).json(), { reports: [{ summary: 'the old report' }] }, 'the old report is kept')

  const a = await claim(app, 'w1')
  t.equal(a.task.id, 'queued', 'the queued task is still offered')
  const r = await report(app, a)
  t.equal(r.statusCode, 200, r.body)
  t.equal((await post(app, '/tasks', { project: 'p', tasks: [{ id: 'new', description: 'do new' }] })).statusCode, 201)
  const after = (await app.inject('/events?after=9')).json()
  const seqs = after.events.map((e: { seq: number }) => e.seq)
  t.ok(seqs.length >= 3 && seqs.every((s: number, i: number) => s > 9 && (i === 0 || s > (seqs[i - 1] as number))),
    `new events come after seq 9, increasing: ${seqs.join(', ')}`)
  t.same(after.events.map((e: { type: string }) => e.type).filter((type: string) => type.startsWith('task.')),
    ['task.claimed', 'task.completed', 'task.created'])
})
