/** Prepared-statement cache: better-sqlite3 compiles on every `prepare`, so each SQL text is compiled once. */
import type Database from 'better-sqlite3'

/** The prepared statement for an SQL text, compiled on first use. */
export type Statements = (source: string) => Database.Statement

/** A statement cache over `db`. */
export function statementCache (db: Database.Database): Statements {
  const cache = new Map<string, Database.Statement>()
  return (source) => {
    let stmt = cache.get(source)
    if (stmt === undefined) {
      stmt = db.prepare(source)
      cache.set(source, stmt)
    }
    return stmt
  }
}
