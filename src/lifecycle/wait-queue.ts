/**
 * A first-in, first-out queue of parked long-poll requests. Each entry is settled exactly once: by
 * `take` (work arrived), by its timeout, or by its abort signal (the client disconnected). Iteration
 * is in arrival order, which is what makes `GET /tasks/next` serve the longest-waiting worker first.
 */

/** One parked request. `key` identifies the waiter (a worker id); `meta` is what it waits for. */
export interface Parked<K, M, T> {
  readonly key: K
  readonly meta: M
  /** @internal */ settle: (value: T) => void
}

export class WaitQueue<K, M, T> {
  private readonly parked = new Set<Parked<K, M, T>>()

  /**
   * Park until `take` settles the entry, `timeoutMs` passes (settles with `onTimeout()`), or `signal`
   * aborts (settles with `onTimeout()` too; nobody reads it). Time in milliseconds.
   */
  wait (key: K, meta: M, timeoutMs: number, signal: AbortSignal | undefined, onTimeout: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      const entry: Parked<K, M, T> = {
        key,
        meta,
        settle: (value: T) => {
          if (!this.parked.delete(entry)) return
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          resolve(value)
        },
      }
      const onAbort = (): void => entry.settle(onTimeout())
      const timer = setTimeout(onAbort, timeoutMs)
      this.parked.add(entry)
      signal?.addEventListener('abort', onAbort, { once: true })
      if (signal?.aborted === true) onAbort()
    })
  }

  /** Settle `entry` with `value` if it is still parked; false when it had already gone. */
  take (entry: Parked<K, M, T>, value: T): boolean {
    if (!this.parked.has(entry)) return false
    entry.settle(value)
    return true
  }

  /** Whether `entry` is still parked. */
  holds (entry: Parked<K, M, T>): boolean {
    return this.parked.has(entry)
  }

  /** Parked entries, oldest first (a snapshot: safe to settle while iterating). */
  entries (): Array<Parked<K, M, T>> {
    return [...this.parked]
  }

  /** Keys of all parked entries. */
  keys (): Set<K> {
    return new Set([...this.parked].map((p) => p.key))
  }

  get size (): number {
    return this.parked.size
  }

  /** Settle every entry with `value(entry)`, e.g. at shutdown. */
  settleAll (value: (entry: Parked<K, M, T>) => T): void {
    for (const p of this.entries()) p.settle(value(p))
  }
}
