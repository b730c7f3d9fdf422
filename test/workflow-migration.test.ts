// A database written before the workflow migration (003) opens, upgrades and keeps working.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { toSpec } from '../src/lifecycle/task-spec.js'
import { build, claim, post, report, tempDir } from './helper.js'

const MIGRATIONS = join(import.meta.dirname, '..', 'src', 'store', 'migrations', 'sqlite')

t.test('tasks stored by the previous schema are claimed, reported and re-posted idempotently after the upgrade', async (t) => {
  const file = join(tempDir(), 'coord.db')
  const old = new Database(file)
  for (const [n, f] of [[1, '001-init.sql'], [2, '002-claim-indexes.sql']] as const) {
    old.exec(readFileSync(join(MIGRATIONS, f), 'utf8'))
    old.pragma(`user_version = ${n}`)
  }
  // The rows the previous version wrote for `POST /tasks {project: p, tasks: [{id: a, ...}]}`.
  const input = { id: 'a', description: 'do a', files: { write: ['out/a.md'] } }
  const spec = toSpec(input, 'p', { leaseMs: 120_000, maxAttempts: 3 })
  old.prepare('INSERT INTO projects (name, created_at) VALUES (?, ?)').run('p', 1)
  old.prepare(`INSERT INTO tasks (id, project, type, description, context, acceptance, files, priority, lease_ms, max_attempts, input, spec_hash,
    state, created_at, updated_at) VALUES ('a', 'p', 'task', 'do a', '{}', '[]', ?, 0, 120000, 3, ?, ?, 'submitted', 1, 1)`)
    .run(JSON.stringify(spec.files), JSON.stringify(input), spec.hash)
  old.close()

  const app = await build(t, { COORD_DB: file })
  const db = new Database(file, { readonly: true })
  t.ok((db.pragma('user_version', { simple: true }) as number) >= 3, 'migration 003 applied')
  db.close()
  t.equal((await post(app, '/tasks', { project: 'p', tasks: [{ id: 'a', description: 'do a', files: { write: ['out/a.md'] } }] })).statusCode, 200,
    'an identical re-post is still a no-op (the content hash of a task without workflow fields did not change)')
  const a = await claim(app, 'w1')
  t.equal(a.task.id, 'a')
  t.same([a.task.dependsOn, a.task.checks, a.task.notes, a.task.review, a.dependencies], [[], [], [], false, []])
  t.equal((await report(app, a)).json().task.state, 'completed')
})
