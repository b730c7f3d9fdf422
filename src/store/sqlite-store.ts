/**
 * The embedded SQLite store (better-sqlite3): one file, WAL, `synchronous = FULL` (see
 * `sqlite-open.ts`), so an acknowledged change survives even a power loss, not only `kill -9`. Each
 * `transact` is one IMMEDIATE transaction holding the change and its events.
 */
import type { StoreChange, Store, StoreTx } from './store.js'
import { SqliteReads } from './sqlite-reads.js'
import { SqliteTx } from './sqlite-tx.js'
import { asStorageError } from './storage-errors.js'

/** SQLite implementation of `Store`: transactions and change notifications on top of the reads. */
export class SqliteStore extends SqliteReads implements Store {
  private readonly listeners = new Set<(change: StoreChange) => void>()

  /**
   * Run `fn` in one IMMEDIATE transaction. Transactions take turns on the one connection; `fn` must
   * await only `tx` calls (they resolve at once), so a turn lasts one pass of the event loop. Reads
   * made meanwhile wait for the turn to end (no dirty reads).
   */
  async transact<T> (fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const previous = this.tail
    let release!: () => void
    this.tail = new Promise<void>((resolve) => { release = resolve })
    await previous
    try {
      return await this.run(fn)
    } finally {
      release()
    }
  }

  private async run<T> (fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const tx = new SqliteTx(this.sql)
    let result: T
    try {
      this.guard?.check()
      this.sql('BEGIN IMMEDIATE').run()
      try {
        result = await fn(tx)
        this.sql('COMMIT').run()
      } catch (err) {
        if (this.db.inTransaction) this.sql('ROLLBACK').run()
        throw err
      }
    } catch (err) {
      throw asStorageError(err)
    }
    if (tx.types.size > 0) this.notify({ projects: tx.projects, types: tx.types })
    return result
  }

  subscribe (listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Tell subscribers; a listener that throws does not stop the others (nor fail the committed change). */
  private notify (change: StoreChange): void {
    for (const listener of this.listeners) {
      try { listener(change) } catch { /* the listener logs its own failures */ }
    }
  }
}
