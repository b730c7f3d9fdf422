/**
 * When each worker was last seen, kept in memory so that a poll costs no synced disk write. What the
 * store must know at once is written at once (a worker's first request: worker.registered; the first
 * request after it was declared offline: worker.online); plain "still here" times are flushed in one
 * transaction every `flushMs`, so after a restart a worker's stored last-seen is at most `flushMs`
 * old and `worker.offline` / `online` stay right within one offline threshold.
 *
 * Times are epoch ms.
 */

/** A worker's presence as the lifecycle tracks it. */
export interface Presence {
  lastSeenAt: number
  /** Declared offline (worker.offline stored); the next request must reach the store. */
  offline: boolean
}

export class PresenceTable {
  private readonly seen = new Map<string, Presence>()
  private readonly dirty = new Set<string>()

  /** Load the workers the store has not declared offline (at start-up). */
  load (online: Array<{ id: string, lastSeenAt: number }>): void {
    for (const w of online) this.seen.set(w.id, { lastSeenAt: w.lastSeenAt, offline: false })
  }

  /**
   * Note a request of `worker` at `now`. Returns true when the store must hear of it now (unknown
   * worker, or one declared offline), false when memory suffices until the next flush.
   */
  touch (worker: string, now: number): boolean {
    const p = this.seen.get(worker)
    if (p === undefined || p.offline) return true
    if (now > p.lastSeenAt) {
      p.lastSeenAt = now
      this.dirty.add(worker)
    }
    return false
  }

  /** Record that the store now knows `worker` as online, last seen at `now`. */
  stored (worker: string, now: number): void {
    this.seen.set(worker, { lastSeenAt: now, offline: false })
    this.dirty.delete(worker)
  }

  /** Take the changed last-seen times to flush (the caller writes them or calls `restore`). */
  takeDirty (): Array<{ id: string, lastSeenAt: number }> {
    const out: Array<{ id: string, lastSeenAt: number }> = []
    for (const id of this.dirty) {
      const p = this.seen.get(id)
      if (p !== undefined && !p.offline) out.push({ id, lastSeenAt: p.lastSeenAt })
    }
    this.dirty.clear()
    return out
  }

  /** Put back entries whose flush failed, to retry at the next flush. */
  restore (entries: Array<{ id: string }>): void {
    for (const e of entries) this.dirty.add(e.id)
  }

  /** Last-seen time of a worker, or undefined when unknown. */
  lastSeen (worker: string): number | undefined {
    return this.seen.get(worker)?.lastSeenAt
  }

  /**
   * Online workers silent since before `before`, except `waiting` ones (a worker inside a long poll
   * is present), and the earliest last-seen among the others (for the next deadline).
   */
  silent (before: number, waiting: (worker: string) => boolean): { silent: Array<{ id: string, lastSeenAt: number }>, earliest: number | null } {
    const silent: Array<{ id: string, lastSeenAt: number }> = []
    let earliest: number | null = null
    for (const [id, p] of this.seen) {
      if (p.offline || waiting(id)) continue
      if (p.lastSeenAt < before) silent.push({ id, lastSeenAt: p.lastSeenAt })
      else if (earliest === null || p.lastSeenAt < earliest) earliest = p.lastSeenAt
    }
    return { silent, earliest }
  }

  /** Record that these workers were declared offline. */
  markedOffline (ids: string[]): void {
    for (const id of ids) {
      const p = this.seen.get(id)
      if (p !== undefined) p.offline = true
      this.dirty.delete(id)
    }
  }
}
