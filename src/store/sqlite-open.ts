/**
 * Opening the SQLite file: the guard (one server per file, writable, not replaced while running), pragmas
 * (WAL, `synchronous = FULL`, a short busy timeout) and the numbered migrations in
 * `src/store/migrations/sqlite/`, tracked in `PRAGMA user_version`.
 */
import { mkdirSync, readdirSync, readFileSync, statfsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import { packageRoot } from '../paths.js'
import { SqliteGuard, StoreRefusedError, type GuardOptions } from './sqlite-guard.js'
import { SqliteStore } from './sqlite-store.js'
import { storageTrouble } from './storage-errors.js'

const MIGRATIONS = join(packageRoot, 'src', 'store', 'migrations', 'sqlite')

/**
 * How long a statement waits for another connection's lock, in ms. better-sqlite3 is synchronous, so the
 * wait blocks the event loop (every request, `/health` included); with one server per file only outside
 * tools (a backup, the sqlite3 shell) take the lock, and past this a write answers 503 STORAGE_UNAVAILABLE.
 */
export const BUSY_TIMEOUT_MS = 250

/**
 * Free space, in bytes, the database's disk must have for the server to start. Below it the start is
 * refused (exit 78) rather than left to chance: on a full disk an existing file opens fine and every
 * write then fails, while a new one fails at whichever step first needs a block.
 */
export const MIN_FREE_BYTES = 1024 * 1024

/** Options for `openSqliteStore`. */
export interface OpenOptions extends GuardOptions {
  /** Called with the open connection after the migrations (tests set pragmas such as `max_page_count`). */
  onOpen?: (db: Database.Database) => void
}

/**
 * Open (creating if needed) the database at `file` (`:memory:` allowed) and apply pending migrations,
 * the numbered files in `src/store/migrations/sqlite/`, tracked in `PRAGMA user_version`. A file store
 * opens the file at its real path (symlinks resolved) and holds `<real path>.lock` until closed.
 * @throws StoreRefusedError when another server uses the file or it cannot be written (exit 78 at start-up)
 */
export function openSqliteStore (file: string, opts: OpenOptions = {}): SqliteStore {
  if (file === ':memory:') return new SqliteStore(prepare(new Database(file), file, opts))
  try {
    mkdirSync(dirname(file), { recursive: true })
  } catch (err) {
    throw new StoreRefusedError(`Cannot create the directory of the database file ${file} (${(err as Error).message}). ` +
      'Create it, or set COORD_DB (--db) to a writable location.')
  }
  assertFreeSpace(file)
  let guard: SqliteGuard | undefined
  let db: Database.Database | undefined
  try {
    guard = SqliteGuard.acquire(file, opts)
    db = new Database(guard.file) // the real path the lock is about
    prepare(db, guard.file, opts)
    guard.watch()
    return new SqliteStore(db, guard)
  } catch (err) {
    db?.close()
    guard?.close()
    throw refusal(err, file)
  }
}

/** @throws StoreRefusedError when the disk holding `file` has less than MIN_FREE_BYTES free */
function assertFreeSpace (file: string): void {
  let free: number
  try {
    const s = statfsSync(dirname(file))
    free = s.bavail * s.bsize
  } catch {
    return // no statfs here: the steps below report a full disk
  }
  if (free < MIN_FREE_BYTES) {
    throw new StoreRefusedError(`The disk holding the database file ${file} is full (${Math.floor(free / 1024)} KiB free; ` +
      `the server needs at least ${MIN_FREE_BYTES / 1024 / 1024} MiB to start). Free some space, or set COORD_DB (--db) to a file on another disk.`)
  }
}

/** Errors of the file system met while opening (e.g. no inode left to create the `-wal`). */
const FS_TROUBLE: Record<string, string> = {
  ENOSPC: 'the disk holding the database is full', EDQUOT: 'the disk quota is exhausted', EROFS: 'the file system is read-only', EIO: 'I/O error',
}

/**
 * A storage failure while opening becomes a StoreRefusedError (exit 78 with what happened), whichever
 * step met it; SQLITE_BUSY (an outside tool holds the lock for a moment) and bugs pass unchanged.
 */
function refusal (err: unknown, file: string): unknown {
  if (err instanceof StoreRefusedError) return err
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || code.startsWith('SQLITE_BUSY')) return err
  const what = storageTrouble(err) ?? FS_TROUBLE[code]
  if (what === undefined || what === null) return err
  return new StoreRefusedError(`The database file ${file} cannot be opened: ${what} (${code}). ` +
    'Check the free space (df) and inodes (df -i) of its disk and that it is writable, or set COORD_DB (--db) to another location.')
}

function prepare (db: Database.Database, file: string, opts: OpenOptions): Database.Database {
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('foreign_keys = ON')
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
  probeWrite(db, file)
  migrate(db)
  opts.onOpen?.(db)
  return db
}

/** A write rolled back: SQLite opens a file it may not write read-only and would refuse every write later. */
function probeWrite (db: Database.Database, file: string): void {
  try {
    db.transaction(() => {
      db.pragma(`user_version = ${db.pragma('user_version', { simple: true }) as number}`)
      throw new Rollback()
    }).immediate()
  } catch (err) {
    if (err instanceof Rollback) return
    const what = storageTrouble(err)
    if (what === null || (err as { code: string }).code.startsWith('SQLITE_BUSY')) throw err
    throw new StoreRefusedError(`The database file ${file} cannot be written: ${what} (${(err as { code: string }).code}). ` +
      'Make it writable by the user running the server, or set COORD_DB (--db) to a writable location.')
  }
}

class Rollback extends Error {}

function migrate (db: Database.Database): void {
  const applied = db.pragma('user_version', { simple: true }) as number
  const files = readdirSync(MIGRATIONS).filter((f) => /^\d+-.*\.sql$/.test(f)).sort()
  for (const f of files) {
    const n = Number.parseInt(f, 10)
    if (n <= applied) continue
    db.transaction(() => {
      db.exec(readFileSync(join(MIGRATIONS, f), 'utf8'))
      db.pragma(`user_version = ${n}`)
    }).immediate()
  }
}
