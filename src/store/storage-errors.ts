/**
 * Telling storage trouble (disk full, file locked, I/O error, read-only or replaced file) from bugs, so
 * the API answers 503 STORAGE_UNAVAILABLE with what happened instead of 500. Codes are SQLite's
 * extended result codes as better-sqlite3 exposes them on `SqliteError.code`
 * (https://www.sqlite.org/rescode.html); a PostgreSQL store maps its SQLSTATEs to the same error.
 */
import { CoordError } from '../errors.js'

/** SQLite result-code prefixes that mean the storage failed, with words for the answer. */
const SQLITE_TROUBLE: Array<[prefix: string, what: string]> = [
  ['SQLITE_FULL', 'the disk holding the database is full'],
  ['SQLITE_BUSY', 'another process holds the database lock'],
  ['SQLITE_LOCKED', 'the database is locked'],
  ['SQLITE_IOERR', 'the database file could not be read or written (I/O error)'],
  ['SQLITE_READONLY', 'the database file is read-only'],
  ['SQLITE_CANTOPEN', 'the database file cannot be opened'],
  ['SQLITE_CORRUPT', 'the database file is corrupt'],
  ['SQLITE_NOTADB', 'the database file is not a SQLite database'],
  ['SQLITE_PERM', 'the database file may not be written'],
]

/** What went wrong with the storage, in words, or null when `err` is not a storage failure. */
export function storageTrouble (err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return null
  return SQLITE_TROUBLE.find(([prefix]) => code.startsWith(prefix))?.[1] ?? null
}

/**
 * `err` as the API should see it: a CoordError passes through; a storage failure becomes
 * STORAGE_UNAVAILABLE (503) whose message says what happened and that nothing was changed; anything
 * else (a bug) is returned unchanged and answers 500.
 */
export function asStorageError (err: unknown): unknown {
  if (err instanceof CoordError) return err
  const what = storageTrouble(err)
  if (what === null) return err
  return new CoordError('STORAGE_UNAVAILABLE',
    `Storage unavailable: ${what}. Nothing was changed; retry later, and tell the engineer if it persists.`,
    { cause: (err as { code: string }).code })
}
