// What users do to the database's files around a running or starting server: the `-wal` deleted or
// replaced (writes refused instead of acknowledged and lost at the next crash); a second server started
// through a symlink or a hard link to the file (refused: the lock follows the file, not the name); a full
// disk at start-up (always exit 78 with the reason, whichever step would meet it).
import t, { type Test } from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, linkSync, mkdirSync, renameSync, statfsSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openSqliteStore } from '../src/store/sqlite-open.js'
import { StoreRefusedError } from '../src/store/sqlite-guard.js'
import { eventually, post, tempDir } from './helper.js'
import { freePort } from '../scripts/free-port.js'

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

/**
 * Start `src/server.ts` on `db` (killed when the test ends); resolves 'up' once /health answers 200, or
 * the exit code and stderr if it exits first (60 s allowed: compiling TypeScript on a loaded machine).
 */
async function startServer (t: Test, db: string): Promise<{ result: 'up' | 'no answer' | number | null, stderr: string, pid?: number }> {
  const port = await freePort()
  const child = spawn(process.execPath, [...process.execArgv, 'src/server.ts'], {
    env: { ...process.env, PORT: String(port), COORD_DB: db, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'],
  })
  t.teardown(() => { child.kill('SIGKILL') })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const up = eventually(async () => {
    try { return (await request(`http://127.0.0.1:${port}/health`)).statusCode === 200 } catch { return false }
  }, 60_000).then((ok) => (ok ? 'up' as const : 'no answer' as const))
  const result = await Promise.race([up, exited])
  return { result, stderr, pid: child.pid }
}

t.test('a second server through a symlink or a hard link to the same file refuses to start (exit 78)', async (t) => {
  const dir = tempDir()
  const db = join(dir, 'coord.db')
  const first = await startServer(t, db)
  t.equal(first.result, 'up')
  mkdirSync(join(dir, 'elsewhere'))
  symlinkSync(db, join(dir, 'elsewhere', 'coord.db'))
  symlinkSync(dir, join(dir, 'linked-dir'))
  linkSync(db, join(dir, 'hard.db'))
  const [viaSymlink, viaDirSymlink, viaHardLink] = await Promise.all([
    startServer(t, join(dir, 'elsewhere', 'coord.db')), startServer(t, join(dir, 'linked-dir', 'coord.db')), startServer(t, join(dir, 'hard.db')),
  ])
  for (const [what, second] of [['a symlink to the file', viaSymlink], ['a symlinked folder', viaDirSymlink]] as const) {
    t.equal(second.result, 78, `${what}: it does not come up, exit 78 (stderr: ${second.stderr})`)
    t.match(second.stderr, `Another coordination server (pid ${first.pid}) is using the database file ${db}`)
  }
  t.equal(viaHardLink.result, 78, `a hard link: it does not come up, exit 78 (stderr: ${viaHardLink.stderr})`)
  t.match(viaHardLink.stderr, `The database file ${join(dir, 'hard.db')} has 2 names (hard links)`)
})

/** A fresh tmpfs of `options` (e.g. `size=2m`) mounted for this test, or null when mounting is not allowed (not root). */
function tinyDisk (t: Test, options: string): string | null {
  const dir = join(tempDir(), 'disk')
  mkdirSync(dir)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' })
  } catch {
    return null
  }
  t.teardown(() => { execFileSync('umount', ['-l', dir]) })
  return dir
}

/** Fill the disk at `dir` until `keepBytes` remain free (a file `fill-<n>`). */
function fill (dir: string, keepBytes: number, n = 0): void {
  const s = statfsSync(dir)
  const size = s.bavail * s.bsize - keepBytes
  if (size > 0) writeFileSync(join(dir, `fill-${n}`), Buffer.alloc(size))
}

/** How opening `file` went: 'opened' (then closed), the refusal's message, or the unexpected error. */
async function open (file: string): Promise<string> {
  try {
    await openSqliteStore(file).close()
    return 'opened'
  } catch (err) {
    return err instanceof StoreRefusedError ? `refused: ${err.message}` : `other error: ${String(err)}`
  }
}

const canMount = process.platform === 'linux' && process.getuid?.() === 0
const needsMount = (): { skip: string | false } => ({ skip: !canMount && 'needs root to mount a tmpfs' }) // fresh: tap changes the object

t.test('a full disk at start-up is refused with the reason, new file or existing one', needsMount(), async (t) => {
  for (const keep of [0, 64 * 1024, 512 * 1024]) {
    for (const existing of [false, true]) {
      const disk = tinyDisk(t, 'size=2m')
      if (disk === null) { t.comment('mounting a tmpfs is not allowed here: skipped'); return }
      const file = join(disk, 'coord.db')
      if (existing) t.equal(await open(file), 'opened')
      fill(disk, keep)
      t.match(await open(file), `refused: The disk holding the database file ${file} is full`,
        `${keep / 1024} KiB free, ${existing ? 'existing' : 'new'} file: refused, not started`)
    }
  }
})

t.test('no inode left at whichever step of opening: refused with the reason, never another error', needsMount(), async (t) => {
  const outcomes = new Set<string>()
  for (let inodes = 2; inodes <= 8; inodes++) {
    const disk = tinyDisk(t, `size=8m,nr_inodes=${inodes}`)
    if (disk === null) { t.comment('mounting a tmpfs is not allowed here: skipped'); return }
    const result = await open(join(disk, 'coord.db'))
    t.ok(result === 'opened' || result.startsWith('refused: '), `${inodes} inodes: ${result}`)
    outcomes.add(result === 'opened' ? 'opened' : 'refused')
  }
  t.same([...outcomes].sort(), ['opened', 'refused'], 'some inode counts are too few, some enough')
})

t.test('a server started on a full disk exits 78 with the reason, even on an existing file', needsMount(), async (t) => {
  const disk = tinyDisk(t, 'size=2m')
  if (disk === null) { t.comment('mounting a tmpfs is not allowed here: skipped'); return }
  const file = join(disk, 'coord.db')
  t.equal(await open(file), 'opened')
  fill(disk, 0)
  const server = await startServer(t, file)
  t.equal(server.result, 78, `it does not come up: exit 78 (stderr: ${server.stderr})`)
  t.match(server.stderr, `The disk holding the database file ${file} is full`)
})
