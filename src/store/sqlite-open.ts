/**
 * Opening the SQLite file: pragmas (WAL, `synchronous = FULL`) and the numbered migrations in
 * `src/store/migrations/sqlite/`, tracked in `PRAGMA user_version`.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import { packageRoot } from '../paths.js'
import { SqliteStore } from './sqlite-store.js'

const MIGRATIONS = join(packageRoot, 'src', 'store', 'migrations', 'sqlite')

/**
 * Open (creating if needed) the database at `file` (`:memory:` allowed) and apply pending migrations,
 * the numbered files in `src/store/migrations/sqlite/`, tracked in `PRAGMA user_version`.
 */
export function openSqliteStore (file: string): SqliteStore {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  migrate(db)
  return new SqliteStore(db)
}

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
