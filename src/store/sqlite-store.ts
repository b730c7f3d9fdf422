/**
 * The embedded SQLite store (better-sqlite3): one file, WAL, `synchronous = FULL` (see
 * `sqlite-open.ts`), so an acknowledged change survives even a power loss, not only `kill -9`.
 *
 * Group commit: the `transact` calls that queue up while the event loop is busy (one turn of it, which
 * includes the previous commit's fsync: better-sqlite3 blocks while it syncs) run together in one
 * IMMEDIATE transaction, each inside its own SAVEPOINT, and share one COMMIT and so one fsync. An
 * operation that throws rolls back to its savepoint only; the others still commit. Every caller is
 * answered only after the COMMIT that covers its change returned, so the durability promise is the one
 * of a transaction per call, at a fraction of the fsyncs when many clients write at once.
 */
import type { StoreChange, Store, StoreTx } from './store.js'
import type { EventType } from '../schemas/events.js'
import { SqliteReads } from './sqlite-reads.js'
import { SqliteTx } from './sqlite-tx.js'
import { asStorageError } from './storage-errors.js'

/**
 * Most operations sharing one commit. Bounds how long one batch holds the event loop (each operation
 * takes tens of µs); what queues beyond it goes into the next batch at once.
 */
export const MAX_BATCH = 256

/** One queued `transact` call. */
interface Queued {
  fn: (tx: StoreTx) => Promise<unknown>
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

/** An operation that ran inside the batch and waits for the COMMIT. */
interface Applied {
  op: Queued
  tx: SqliteTx
  result: unknown
}

/** Counters for the bench and tests: how many operations shared how many commits. */
export interface CommitStats {
  /** COMMITs that succeeded. */
  commits: number
  /** Operations covered by them. */
  operations: number
}

/** SQLite implementation of `Store`: group-committed transactions and change notifications on top of the reads. */
export class SqliteStore extends SqliteReads implements Store {
  private readonly listeners = new Set<(change: StoreChange) => void>()
  private queue: Queued[] = []
  private scheduled = false
  private running = false
  /** See `CommitStats`. */
  readonly stats: CommitStats = { commits: 0, operations: 0 }

  /**
   * Run `fn` inside one SAVEPOINT of the next group commit (see the top of the file) and resolve with
   * its result once that commit returned. `fn` must await only `tx` calls (they resolve at once), so an
   * operation never interleaves with another; reads made meanwhile wait for the batch to end (no dirty
   * reads). When `fn` throws, only its own writes are rolled back and the error is rethrown (storage
   * failures as CoordError STORAGE_UNAVAILABLE); when the COMMIT fails, every operation of the batch
   * fails with STORAGE_UNAVAILABLE and nothing of it is kept.
   */
  async transact<T> (fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject })
      this.schedule()
    })
  }

  /**
   * Start a batch after the current turn of the event loop, so that the requests read in the same turn
   * (typically all those that arrived during the previous fsync) share it.
   */
  private schedule (): void {
    if (this.scheduled || this.running) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      void this.flush()
    })
  }

  private async flush (): Promise<void> {
    this.running = true
    let release!: () => void
    this.tail = new Promise<void>((resolve) => { release = resolve })
    const batch = this.queue.length <= MAX_BATCH ? this.queue : this.queue.slice(0, MAX_BATCH)
    this.queue = this.queue.length <= MAX_BATCH ? [] : this.queue.slice(MAX_BATCH)
    try {
      await this.runBatch(batch)
    } finally {
      this.running = false
      release()
      if (this.queue.length > 0) this.schedule()
    }
  }

  private async runBatch (batch: Queued[]): Promise<void> {
    try {
      this.guard?.check()
      this.sql('BEGIN IMMEDIATE').run()
    } catch (err) {
      for (const op of batch) op.reject(asStorageError(err))
      return
    }
    const applied: Applied[] = []
    for (let i = 0; i < batch.length; i++) {
      const op = batch[i] as Queued
      const tx = new SqliteTx(this.sql)
      try {
        this.sql('SAVEPOINT op').run()
        const result = await op.fn(tx)
        this.sql('RELEASE op').run()
        applied.push({ op, tx, result })
      } catch (err) {
        if (!this.rollbackTo()) {
          // SQLite rolled the whole transaction back itself (disk full, I/O error), or cannot undo the
          // operation alone: nothing of the batch is kept, so no operation of it may be acknowledged.
          const failure = asStorageError(err)
          for (const a of applied) a.op.reject(failure)
          for (const rest of batch.slice(i)) rest.reject(failure)
          return
        }
        op.reject(asStorageError(err))
      }
    }
    try {
      this.sql('COMMIT').run()
    } catch (err) {
      try { if (this.db.inTransaction) this.sql('ROLLBACK').run() } catch { /* reported by the next BEGIN */ }
      for (const a of applied) a.op.reject(asStorageError(err))
      return
    }
    this.stats.commits++
    this.stats.operations += applied.length
    this.notifyAll(applied)
    for (const a of applied) a.op.resolve(a.result)
  }

  /**
   * Undo one operation's writes and release its savepoint, so the next one starts clean. False when
   * the transaction is gone or the undo failed; the whole transaction is then rolled back.
   */
  private rollbackTo (): boolean {
    if (!this.db.inTransaction) return false
    try {
      this.sql('ROLLBACK TO op').run()
      this.sql('RELEASE op').run()
      return true
    } catch {
      try { if (this.db.inTransaction) this.sql('ROLLBACK').run() } catch { /* the connection reports it on the next BEGIN */ }
      return false
    }
  }

  subscribe (listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Close once every queued transaction has run. */
  override async close (): Promise<void> {
    while (this.running || this.scheduled || this.queue.length > 0) await new Promise((resolve) => setImmediate(resolve))
    await super.close()
  }

  /** One change for the whole commit: the union of what its operations appended. */
  private notifyAll (applied: Applied[]): void {
    const projects = new Set<string | null>()
    const types = new Set<EventType>()
    for (const { tx } of applied) {
      for (const p of tx.projects) projects.add(p)
      for (const ty of tx.types) types.add(ty)
    }
    if (types.size > 0) this.notify({ projects, types })
  }

  /** Tell subscribers; a listener that throws does not stop the others (nor fail the committed change). */
  private notify (change: StoreChange): void {
    for (const listener of this.listeners) {
      try { listener(change) } catch { /* the listener logs its own failures */ }
    }
  }
}
