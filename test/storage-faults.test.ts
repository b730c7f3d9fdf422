// Storage faults a running server meets, in-process over a real file store: a full disk, another
// connection holding the write lock, the file deleted under the store, a file that cannot be written at
// open, and the durability pragmas. (Faults about the process itself are in storage-process.test.ts.)
import t, { type Test } from 'tap'
import Database from 'better-sqlite3'
import * as fs from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { request } from 'undici'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { listenLocal } from '../src/server.js'
import { BUSY_TIMEOUT_MS, openSqliteStore } from '../src/store/sqlite-open.js'
import { eventually, post, sleep, tempDir } from './helper.js'

/** An app over a file store opened here, and that store's connection (for pragmas). */
type AppOnFile = { app: Awaited<ReturnType<typeof buildApp>>, db: Database.Database, file: string }
async function appOnFile (t: Test, file = join(tempDir(), 'coord.db')): Promise<AppOnFile> {
  let db: Database.Database | undefined
  const store = openSqliteStore(file, { onOpen: (d) => { db = d } })
  const app = await buildApp(loadConfig({ COORD_DB: file, LOG_LEVEL: 'silent' }, false), { store })
  t.teardown(() => app.close())
  if (db === undefined) throw new Error('onOpen was not called')
  return { app, db, file }
}

const batch = (project: string, n: number, size: number): unknown =>
  ({ project, tasks: Array.from({ length: n }, (_, i) => ({ id: `${project}-${i}`, description: 'x'.repeat(size) })) })

t.test('a file store runs with journal_mode = WAL, synchronous = FULL and a short busy timeout', async (t) => {
  const { db } = await appOnFile(t)
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(db.pragma('synchronous', { simple: true }), 2, 'FULL: an acknowledged write survives a power loss')
  t.equal(db.pragma('busy_timeout', { simple: true }), BUSY_TIMEOUT_MS)
  t.ok(BUSY_TIMEOUT_MS <= 250, 'the event loop never waits long for a lock')
})

t.test('disk full: 503 STORAGE_UNAVAILABLE saying so, nothing half-written; the next write after freeing space works', async (t) => {
  const { app, db } = await appOnFile(t)
  t.equal((await post(app, '/tasks', batch('before', 2, 10))).statusCode, 201)
  const events = (await app.inject('/events?limit=500')).json().events.length
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`) // no room to grow

  const full = await post(app, '/tasks', batch('full', 20, 4000))
  t.equal(full.statusCode, 503)
  t.equal(full.json().code, 'STORAGE_UNAVAILABLE')
  t.match(full.json().message, 'the disk holding the database is full')
  t.match(full.json().message, 'Nothing was changed')
  t.same((await app.inject('/tasks?project=full')).json().tasks, [], 'no task of the batch was stored')
  t.equal((await app.inject('/events?limit=500')).json().events.length, events, 'no event was stored')
  // /health does not write: the file is in place and readable, so it stays 200 while the disk is full.
  t.equal((await app.inject('/health')).statusCode, 200)

  db.pragma('max_page_count = 1000000') // space freed
  const again = await post(app, '/tasks', batch('full', 20, 4000))
  t.equal(again.statusCode, 201, 'the same batch goes through once there is room')
  t.equal(again.json().created.length, 20)
})

t.test('another connection holds the write lock: /health answers at once, a write 503 within ~1 s, then works', async (t) => {
  const { app, file } = await appOnFile(t)
  const url = await listenLocal(app)
  const other = new Database(file)
  t.teardown(() => other.close())
  other.exec('BEGIN IMMEDIATE')

  const timed = async (path: string, body?: unknown): Promise<{ status: number, body: any, ms: number }> => {
    const start = Date.now()
    const opts = body === undefined ? {} : { method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
    const res = await request(`${url}${path}`, opts)
    return { status: res.statusCode, body: await res.body.json(), ms: Date.now() - start }
  }
  const [write, health] = await Promise.all([timed('/tasks', batch('locked', 1, 10)), sleep(20).then(() => timed('/health'))])
  t.equal(write.status, 503)
  t.equal(write.body.code, 'STORAGE_UNAVAILABLE')
  t.match(write.body.message, 'another process holds the database lock')
  t.ok(write.ms < 1000, `the write was refused in ${write.ms} ms, not after a long wait`)
  t.equal(health.status, 200)
  t.ok(health.ms < 1000, `/health answered in ${health.ms} ms while a write waited for the lock`)

  other.exec('COMMIT')
  t.equal((await timed('/tasks', batch('locked', 1, 10))).status, 201, 'writes work once the lock is released')
})

t.test('the file deleted under the store: /health 503 with the store problem, writes refused, told once', async (t) => {
  const file = join(tempDir(), 'coord.db')
  const told: string[] = []
  const store = openSqliteStore(file, { onUnavailable: (m) => told.push(m), checkIntervalMs: 20 })
  const app = await buildApp(loadConfig({ COORD_DB: file, LOG_LEVEL: 'silent' }, false), { store })
  t.teardown(() => app.close())
  const healthy = { status: 'ok', store: { ok: true, message: 'ok' }, uptimeSeconds: Math.round(process.uptime()), workerCommand: String }
  t.match((await app.inject('/health')).json(), healthy)

  fs.unlinkSync(file)
  t.ok(await eventually(() => told.length > 0, 2000), 'the background check noticed without any request')
  const health = await app.inject('/health')
  t.equal(health.statusCode, 503)
  t.match(health.json(), { code: 'STORAGE_UNAVAILABLE', status: 'unhealthy', store: { ok: false, message: `the database file ${file} is gone` } })
  t.equal(health.json().message, health.json().store.message)
  t.equal((await post(app, '/tasks', batch('gone', 1, 10))).statusCode, 503)
  await sleep(100)
  t.equal(told.length, 1, 'told once, not at every check or write')
  t.match(told[0], 'Restart the server.')
})

t.test('the lock removed under the store: writes refused, since another server could now take the file', async (t) => {
  const { app, file } = await appOnFile(t)
  fs.rmSync(`${file}.lock`, { recursive: true })
  // proper-lockfile notices at its next refresh (every 2 s).
  t.ok(await eventually(async () => (await app.inject('/health')).statusCode === 503, 6000), '/health turns 503')
  const res = await post(app, '/tasks', batch('unlocked', 1, 10))
  t.equal(res.statusCode, 503)
  t.match(res.json().message, `the lock ${file}.lock was removed or taken by another process`)
})

t.test('one store per file within a process too; closing releases the lock', async (t) => {
  const file = join(tempDir(), 'coord.db')
  const first = openSqliteStore(file)
  t.throws(() => openSqliteStore(file), { name: 'StoreRefusedError', message: `This process already has the database file ${file} open` })
  await first.close()
  await openSqliteStore(file).close()
  t.notOk(fs.existsSync(`${file}.lock`), 'no lock left behind')
})

const eacces = (): never => { throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }) }

/** `openSqliteStore` whose guard sees `accessSync` replaced (tap mocks reach direct imports only). */
async function openWithAccess (t: Test, accessSync: (p: string, mode?: number) => void): Promise<typeof openSqliteStore> {
  const guard = await t.mockImport('../src/store/sqlite-guard.js', { 'node:fs': { ...fs, accessSync } })
  const open = await t.mockImport<typeof import('../src/store/sqlite-open.js')>('../src/store/sqlite-open.js', { '../src/store/sqlite-guard.js': guard })
  return open.openSqliteStore
}

t.test('a database file the server may not write is refused at open, naming the file and the fix', async (t) => {
  // Forced through a mocked fs, so it holds as root too (root passes file-mode checks); storage-process.test.ts
  // covers a real read-only file with a real server process.
  const file = join(tempDir(), 'coord.db')
  await openSqliteStore(file).close()
  const open = await openWithAccess(t, (p, mode) => (p === file ? eacces() : fs.accessSync(p, mode)))
  t.throws(() => open(file), { name: 'StoreRefusedError', message: `The database file ${file} cannot be written (EACCES). Make it writable` })
  await openSqliteStore(file).close() // the refused open released its lock
  t.pass('the refused open left no lock behind')
})

t.test('a file SQLite can only open read-only is refused by the write probe', async (t) => {
  const file = join(tempDir(), 'coord.db')
  await openSqliteStore(file).close()
  if (process.getuid?.() === 0) {
    try {
      execFileSync('chattr', ['+i', file], { stdio: 'ignore' }) // immutable: refused even to root
    } catch {
      t.pass('write probe', { skip: 'running as root where chattr +i is not available: a read-only file cannot be made here' })
      return
    }
    t.teardown(() => { execFileSync('chattr', ['-i', file]) })
  } else {
    fs.chmodSync(file, 0o444)
  }
  // Skip the access() check so the refusal must come from SQLite itself.
  const open = await openWithAccess(t, () => {})
  t.throws(() => open(file), {
    name: 'StoreRefusedError',
    message: `The database file ${file} cannot be written: the database file is read-only (SQLITE_READONLY`,
  })
})
