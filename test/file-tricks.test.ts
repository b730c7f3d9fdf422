// What users do to the database's files around a running or starting server: the `-wal` deleted or
// replaced (writes refused instead of acknowledged and lost at the next crash).
import t, { type Test } from 'tap'
import { copyFileSync, renameSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openSqliteStore } from '../src/store/sqlite-open.js'
import { post, tempDir } from './helper.js'

async function appOn (t: Test, file: string): Promise<Awaited<ReturnType<typeof buildApp>>> {
  const store = openSqliteStore(file)
  const app = await buildApp(loadConfig({ COORD_DB: file, LOG_LEVEL: 'silent' }, false), { store })
  t.teardown(() => app.close())
  return app
}

const task = (id: string): unknown => ({ project: 'p', tasks: [{ id, description: id }] })

t.test('the -wal deleted or replaced under a running server: writes 503, /health 503', async (t) => {
  for (const fault of ['deleted', 'replaced'] as const) {
    for (const reopened of [false, true]) {
      const dir = tempDir()
      const file = join(dir, 'coord.db')
      if (reopened) await openSqliteStore(file).close() // an existing file: nothing to migrate at start
      const app = await appOn(t, file)
      const what = `${fault}${reopened ? ', existing file' : ''}`
      t.equal((await post(app, '/tasks', task('a'))).statusCode, 201, what)
      if (fault === 'deleted') unlinkSync(`${file}-wal`)
      else {
        copyFileSync(`${file}-wal`, join(dir, 'other'))
        renameSync(join(dir, 'other'), `${file}-wal`)
      }
      const res = await post(app, '/tasks', task('b'))
      t.equal(res.statusCode, 503, `${what}: the write is refused, not acknowledged into a lost log`)
      t.match(res.json(), {
        code: 'STORAGE_UNAVAILABLE',
        message: fault === 'deleted' ? `the write-ahead log ${file}-wal is gone` : `the write-ahead log ${file}-wal was replaced`,
      })
      t.match(res.json().message, 'Restart the server.')
      const health = await app.inject('/health')
      t.equal(health.statusCode, 503, `${what}: /health says so`)
      t.match(health.json(), { code: 'STORAGE_UNAVAILABLE', status: 'unhealthy', store: { ok: false } })
    }
  }
})
