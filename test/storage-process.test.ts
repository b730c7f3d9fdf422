// The database file and the server process, with real child processes: one server per file (a second
// refuses with exit 78, a restart after kill -9 starts at once), a read-only file refused at start-up, and
// writes refused once the file is deleted or replaced under a running server.
import t, { type Test } from 'tap'
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { chmodSync, copyFileSync, renameSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { openSqliteStore } from '../src/store/sqlite-open.js'
import { eventually, tempDir } from './helper.js'
import { freePort } from '../scripts/free-port.js'

interface Server { url: string, child: ChildProcess, stdout: () => string, stderr: () => string, exited: Promise<number | null> }

/** Spawn `src/server.ts` on `db` and a free port; killed when the test ends. Does not wait for it. */
async function spawnServer (t: Test, db: string, opts: SpawnOptions = {}, env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const port = await freePort()
  const child = spawn(process.execPath, [...process.execArgv, 'src/server.ts'], {
    env: { ...process.env, PORT: String(port), COORD_DB: db, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...opts,
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => { child.kill('SIGKILL') })
  return { url: `http://127.0.0.1:${port}`, child, stdout: () => stdout, stderr: () => stderr, exited }
}

/**
 * Resolves 'up' once /health answers 200, 'exited' if the process ends first, 'no answer' after 60 s
 * (a child compiling TypeScript on a loaded 2-core machine can take tens of seconds to start).
 */
async function outcome (s: Server): Promise<'up' | 'exited' | 'no answer'> {
  const up = eventually(async () => {
    try { return (await request(`${s.url}/health`)).statusCode === 200 } catch { return false }
  }, 60_000).then((ok) => (ok ? 'up' as const : 'no answer' as const))
  return Promise.race([up, s.exited.then(() => 'exited' as const)])
}

/** The exit code, or 'running' if the server came up instead of exiting. */
async function exitCode (s: Server): Promise<number | null | 'running' | 'no answer'> {
  const o = await outcome(s)
  return o === 'exited' ? s.exited : o === 'up' ? 'running' : 'no answer'
}

async function call (url: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await request(`${url}${path}`, {
    method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? null : JSON.parse(text) }
}

const task = (id: string): unknown => ({ project: 'p', tasks: [{ id, description: id }] })

t.test('a second server on the same file refuses to start (exit 78); the first keeps working', async (t) => {
  const db = join(tempDir(), 'coord.db')
  const first = await spawnServer(t, db)
  t.equal(await outcome(first), 'up')
  const second = await spawnServer(t, db)
  t.equal(await exitCode(second), 78, 'it does not come up: exit code 78 (EX_CONFIG)')
  t.match(second.stderr(), `Another coordination server (pid ${first.child.pid}) is using the database file ${db}`)
  t.equal((await call(first.url, 'POST', '/tasks', task('a'))).status, 201, 'the first server still takes writes')
})

t.test('after kill -9 a new server starts on the same file at once, with the data', async (t) => {
  const db = join(tempDir(), 'coord.db')
  const first = await spawnServer(t, db)
  t.equal(await outcome(first), 'up')
  t.equal((await call(first.url, 'POST', '/tasks', task('a'))).status, 201)
  first.child.kill('SIGKILL')
  await first.exited
  const started = Date.now()
  const second = await spawnServer(t, db)
  t.equal(await outcome(second), 'up', `a lock left by a dead server does not block the restart (stderr: ${second.stderr()})`)
  // Without the dead-owner check it would exit 78 at once (the lock looks fresh for 10 s). Loose bound.
  t.ok(Date.now() - started < 15_000, `started in ${Date.now() - started} ms`)
  t.equal((await call(second.url, 'GET', '/tasks/a')).body.task.id, 'a')
})

t.test('a database file that cannot be written is refused at start-up (exit 78)', async (t) => {
  const dir = tempDir()
  const db = join(dir, 'coord.db')
  await openSqliteStore(db).close()
  chmodSync(db, 0o444)
  let server: Server
  if (process.getuid?.() === 0) {
    // root writes read-only files anyway: run the server as nobody, the way a real read-only file meets it
    // (tap's coverage hook in the child writes into the temporary directory, not the root-owned .tap/).
    chmodSync(dir, 0o777)
    server = await spawnServer(t, db, { uid: 65534, gid: 65534 }, { _TAPJS_PROCESSINFO_CWD_: dir })
  } else {
    server = await spawnServer(t, db)
  }
  t.equal(await exitCode(server), 78, `it does not come up: exit code 78 (stderr: ${server.stderr()})`)
  t.match(server.stderr(), `The database file ${db} cannot be written (EACCES)`)
  t.match(server.stderr(), 'Make it writable by the user running the server, or set COORD_DB (--db)')
})

t.test('the file deleted or replaced while the server runs: writes answer 503, /health 503, logged once', async (t) => {
  for (const fault of ['deleted', 'replaced'] as const) {
    const dir = tempDir()
    const db = join(dir, 'coord.db')
    const server = await spawnServer(t, db)
    t.equal(await outcome(server), 'up')
    t.equal((await call(server.url, 'POST', '/tasks', task('a'))).status, 201)
    if (fault === 'deleted') unlinkSync(db)
    else {
      copyFileSync(db, join(dir, 'other.db'))
      renameSync(join(dir, 'other.db'), db)
    }
    for (const id of ['b', 'c']) {
      const res = await call(server.url, 'POST', '/tasks', task(id))
      t.equal(res.status, 503, `${fault}: the write is refused, not acknowledged into a lost file`)
      t.equal(res.body.code, 'STORAGE_UNAVAILABLE')
      t.match(res.body.message, fault === 'deleted' ? `the database file ${db} is gone` : `the database file ${db} was replaced`)
      t.match(res.body.message, 'Restart the server.')
    }
    const health = await call(server.url, 'GET', '/health')
    t.equal(health.status, 503)
    t.match(health.body, { code: 'STORAGE_UNAVAILABLE', status: 'unhealthy', store: { ok: false, message: /Restart the server/ } })
    const logged = server.stdout().split('\n').filter((l) => l.includes('"level":50') && l.includes(`"msg":"Storage unavailable: the database file ${db}`))
    t.equal(logged.length, 1, `${fault}: logged at error level once, not at every refused write`)
  }
})
