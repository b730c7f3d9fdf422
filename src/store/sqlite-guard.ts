/**
 * Guarding the SQLite file a server runs on:
 * - one server per file: a lock next to it (`<file>.lock`, a directory made by proper-lockfile, and the
 *   owner's pid in `<file>.lock.pid`), so a second server refuses to start instead of silently never
 *   waking the first one's long polls nor expiring its leases; whatever name the file is reached by:
 *   symlinks are resolved first, and a file with more than one hard link is refused (each name would
 *   get its own lock and its own `-wal`);
 * - start only on a file that can be written;
 * - once running, refuse writes when the file or its `-wal` was deleted or replaced (dev + inode changed)
 *   or the lock was lost, so nothing is acknowledged into an unlinked file and lost at the next restart
 *   (a deleted `-wal` keeps taking commits through the open descriptor; they vanish with the process).
 */
import { accessSync, constants, existsSync, readFileSync, realpathSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import lockfile from 'proper-lockfile'
import { CoordError } from '../errors.js'
import type { StorageGuard } from './store.js'

/**
 * The server cannot start on this file (held by another server, not writable). Its message names the
 * file and what to fix; `server.ts` turns it into exit code 78 (EX_CONFIG).
 */
export class StoreRefusedError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'StoreRefusedError'
  }
}

/** Options for `SqliteGuard.acquire`. */
export interface GuardOptions {
  /** Told once, with the STORAGE_UNAVAILABLE message, when the check first fails (the server logs it at error level). */
  onUnavailable?: (message: string) => void
  /** Period of the background check, in ms; default 5000. */
  checkIntervalMs?: number
}

/**
 * proper-lockfile refreshes the lock's mtime every UPDATE_MS and others treat it as abandoned after
 * STALE_MS without a refresh (its default staleness; a suspended server loses its lock after that). A
 * restart after `kill -9` does not wait for it: the owner's pid is kept beside the lock (not inside: a file
 * there would change the mtime proper-lockfile checks), and a lock whose owner no longer runs is taken at once.
 */
const STALE_MS = 10_000
const UPDATE_MS = 2_000

/** Whether a process with this pid is running; a killed one its parent has not reaped yet (Linux: state Z) is not. */
function running (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // exists, owned by another user
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true // no /proc: trust kill(0)
  }
}

function readOwner (lockPath: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(`${lockPath}.pid`, 'utf8'), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/** Refuse unless `path` can be written by this process (file modes, read-only mount, immutable flag). */
function assertWritable (path: string, what: string): void {
  try {
    accessSync(path, constants.W_OK)
  } catch (err) {
    throw new StoreRefusedError(`The ${what} ${path} cannot be written (${(err as NodeJS.ErrnoException).code ?? 'error'}). ` +
      'Make it writable by the user running the server, or set COORD_DB (--db) to a writable location.')
  }
}

/**
 * Take `<path>.lock` and record this process as its owner in `<path>.lock.pid`.
 * @returns the release function
 * @throws StoreRefusedError when a running process holds it or it cannot be created
 */
function takeLock (path: string, onCompromised: (err: Error) => void): () => void {
  const lockPath = `${path}.lock`
  const options = { realpath: false, stale: STALE_MS, update: UPDATE_MS, onCompromised } // realpath: the file may not exist yet
  let release: () => void
  try {
    release = lockfile.lockSync(path, options)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
      throw new StoreRefusedError(`Cannot create the lock ${lockPath} next to the database file (${(err as Error).message}). Make ${dirname(path)} writable.`)
    }
    // Held, and refreshed within STALE_MS: by a running server, or by one killed moments ago?
    const owner = readOwner(lockPath)
    if (owner === process.pid) {
      throw new StoreRefusedError(`This process already has the database file ${path} open. Close that store first.`)
    }
    if (owner !== null && running(owner)) {
      throw new StoreRefusedError(`Another coordination server (pid ${owner}) is using the database file ${path}. ` +
        `Use that server, stop it first, or set COORD_DB (--db) to another file. If pid ${owner} is not a coordination server, remove ${lockPath}.`)
    }
    if (owner === null) {
      throw new StoreRefusedError(`The database file ${path} is locked (${lockPath}) by a server that is starting or crashed moments ago. ` +
        `Retry in ${STALE_MS / 1000} s; if no server runs, remove ${lockPath}.`)
    }
    try { rmdirSync(lockPath) } catch {} // its owner is gone (kill -9, crash)
    try {
      release = lockfile.lockSync(path, options)
    } catch {
      throw new StoreRefusedError(`Another coordination server took the database file ${path} while this one started. ` +
        'Use that server, or set COORD_DB (--db) to another file.')
    }
  }
  try {
    writeFileSync(`${lockPath}.pid`, String(process.pid))
  } catch (err) {
    release()
    throw new StoreRefusedError(`Cannot write ${lockPath}.pid next to the database file (${(err as Error).message}). Make ${dirname(path)} writable.`)
  }
  return release
}

/**
 * The file's real path: symlinks in it and its folders resolved, so every name of the file locks the
 * same `<path>.lock` (and SQLite opens the same `-wal`). A file not created yet: its real folder + its name.
 */
function realPath (file: string): string {
  try {
    return realpathSync(file)
  } catch {
    return join(realpathSync(dirname(resolve(file))), basename(file))
  }
}

/**
 * Refuse a file with more than one hard link: another server started on another name would take
 * another lock and write its own `-wal`, and both would write the file (a corrupt index, lost tasks).
 */
function assertOneName (path: string): void {
  let links: number
  try {
    links = statSync(path).nlink
  } catch {
    return // not created yet: it has no other name
  }
  if (links > 1) {
    throw new StoreRefusedError(`The database file ${path} has ${links} names (hard links), so another server could use it under ` +
      `another name and both would write it. Remove the other links (find them with: find / -xdev -samefile ${path}), ` +
      'or copy the file and set COORD_DB (--db) to the copy.')
  }
}

/** The `StorageGuard` of a SQLite file store: its lock, and the identity of the file it opened. */
export class SqliteGuard implements StorageGuard {
  private identity: { dev: number, ino: number } | null = null
  private walIdentity: { dev: number, ino: number } | null = null
  private lockLost: string | null = null
  private reported = false
  private timer: NodeJS.Timeout | undefined
  private readonly lockPath: string

  private constructor (
    /** The database file's real path (symlinks resolved): the one to open. */
    readonly file: string, private readonly release: () => void, private readonly opts: GuardOptions) {
    this.lockPath = `${file}.lock`
  }

  /**
   * Take the file's lock (at its real path, `guard.file`) and check that the file has one name and
   * that it, its WAL files and its directory can be written.
   * @param file path of the database file, possibly through symlinks (its directory must exist)
   * @throws StoreRefusedError when another live server holds the lock, the file has several hard
   *   links, or something cannot be written
   */
  static acquire (file: string, opts: GuardOptions = {}): SqliteGuard {
    assertWritable(dirname(resolve(file)), 'database directory')
    const path = realPath(file)
    const holder: { guard?: SqliteGuard } = {}
    const release = takeLock(path, (err) => holder.guard?.loseLock(err))
    const guard = holder.guard = new SqliteGuard(path, release, opts)
    try {
      assertOneName(path)
      for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) assertWritable(f, 'database file')
    } catch (err) {
      guard.close()
      throw err
    }
    return guard
  }

  /**
   * Remember the identity of the file now open, and of its `-wal` (SQLite keeps that file, truncated
   * or not, as long as a connection is open in WAL mode), and start the background check.
   */
  watch (): void {
    const s = statSync(this.file)
    this.identity = { dev: s.dev, ino: s.ino }
    try {
      const w = statSync(`${this.file}-wal`)
      this.walIdentity = { dev: w.dev, ino: w.ino }
    } catch {} // not in WAL mode: nothing to watch
    this.timer = setInterval(() => { try { this.check() } catch {} }, this.opts.checkIntervalMs ?? 5000)
    this.timer.unref()
  }

  /**
   * @throws CoordError STORAGE_UNAVAILABLE when the file was deleted or replaced, or the lock was lost
   */
  check (): void {
    const problem = this.problem()
    if (problem === null) return
    const message = `Storage unavailable: ${problem} Writes are refused so nothing is acknowledged and then lost. Restart the server.`
    if (!this.reported) {
      this.reported = true
      this.opts.onUnavailable?.(message)
    }
    throw new CoordError('STORAGE_UNAVAILABLE', message)
  }

  private problem (): string | null {
    if (this.lockLost !== null) {
      return `the lock ${this.lockPath} was removed or taken by another process (${this.lockLost}), ` +
        `so another server may be using the database file ${this.file}.`
    }
    if (this.identity === null) return null
    let s
    try {
      s = statSync(this.file)
    } catch (err) {
      return `the database file ${this.file} is gone (${(err as NodeJS.ErrnoException).code ?? 'error'}): it was deleted or moved while the server ran.`
    }
    if (s.dev !== this.identity.dev || s.ino !== this.identity.ino) return `the database file ${this.file} was replaced by another file while the server ran.`
    if (this.walIdentity === null) return null
    const wal = `${this.file}-wal`
    let w
    try {
      w = statSync(wal)
    } catch (err) {
      return `the write-ahead log ${wal} is gone (${(err as NodeJS.ErrnoException).code ?? 'error'}): it was deleted while the server ran, ` +
        'and writes since its last checkpoint would be lost.'
    }
    if (w.dev !== this.walIdentity.dev || w.ino !== this.walIdentity.ino) return `the write-ahead log ${wal} was replaced by another file while the server ran.`
    return null
  }

  private loseLock (err: Error): void {
    this.lockLost = err.message
    try { this.check() } catch {} // report it now, not at the next write
  }

  /** Stop the background check and release the lock. */
  close (): void {
    clearInterval(this.timer)
    if (this.lockLost !== null) return
    this.lockLost = 'released'
    try { unlinkSync(`${this.lockPath}.pid`) } catch {} // first: once released, the pid file is the next owner's
    try { this.release() } catch {}
  }
}
