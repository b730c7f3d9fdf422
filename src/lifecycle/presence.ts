/**
 * Worker presence: the one definition of a worker's state (`presenceState`) and the in-memory table
 * of when each worker was last seen.
 *
 * The table keeps last-seen times in memory so that a poll costs no synced disk write. What the
 * store must know at once is written at once (a worker's first request: worker.registered; the first
 * request after it was declared offline: worker.online); plain "still here" times are flushed in one
 * transaction every `flushMs`, so after a restart a worker's stored last-seen is at most `flushMs`
 * old and `worker.offline` / `online` stay right within one offline threshold.
 *
 * Times are epoch ms.
 */

/**
 * A worker's state, as GET /workers, GET /status and the `worker.*` events use it:
 * - `working`: holds a live lease (its deadline is ahead). However long since its last request — a
 *   worker heartbeating every leaseSeconds/2 is silent for minutes — it is never offline while the
 *   lease lives.
 * - `waiting`: inside a long poll (`GET /tasks/next`, `report?next=true`), holding no lease.
 * - `idle`: no live lease, no long poll, last request less than the offline threshold ago.
 * - `offline`: no live lease, no long poll, and silent for the offline threshold
 *   (COORD_OFFLINE_SECONDS) — or past its lease without a heartbeat and silent that long. Only then is
 *   `worker.offline` emitted; its next request emits `worker.online`.
 */
export type PresenceState = 'working' | 'waiting' | 'idle' | 'offline'

/** What `presenceState` looks at. Times in epoch ms. */
export interface PresenceFacts {
  now: number
  lastSeenAt: number
  /** The threshold of silence, in ms (COORD_OFFLINE_SECONDS · 1000). */
  offlineMs: number
  /** Inside a long poll now. */
  waiting: boolean
  /** Deadline of the worker's unended lease (epoch ms), or null when it holds none. */
  leaseExpiresAt: number | null
}

/** The worker's state now; see `PresenceState` for the definition. */
export function presenceState (f: PresenceFacts): PresenceState {
  if (f.leaseExpiresAt !== null && f.leaseExpiresAt > f.now) return 'working'
  if (f.waiting) return 'waiting'
  return f.now - f.lastSeenAt < f.offlineMs ? 'idle' : 'offline'
}

/** A task a worker lost: its lease lapsed without a heartbeat (the task was re-offered). */
export interface LostTask {
  taskId: string
  project: string
}

/** A worker's presence as the lifecycle tracks it. */
export interface Presence {
  lastSeenAt: number
  /** Declared offline (worker.offline stored); the next request must reach the store. */
  offline: boolean
  /**
   * Not to be declared offline before this time (epoch ms): it held a live lease until then when the
   * offline timer last looked. Cleared by the worker's next request.
   */
  heldUntil?: number
  /** The task whose lease lapsed while the worker was silent; named by its worker.offline event. Cleared by its next request. */
  lost?: LostTask
}

/** A worker silent long enough to be declared offline (if it holds no live lease: the caller checks the store). */
export interface SilentWorker {
  id: string
  lastSeenAt: number
  lost: LostTask | null
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
    delete p.heldUntil
    delete p.lost
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

  /** The task `worker` lost to a lapsed lease since its last request, if any. */
  lostTask (worker: string): LostTask | null {
    return this.seen.get(worker)?.lost ?? null
  }

  /** Whether `worker` is online, not `waiting`, and silent since before `before` (epoch ms). */
  isSilent (worker: string, before: number, waiting: (worker: string) => boolean): boolean {
    const p = this.seen.get(worker)
    return p !== undefined && !p.offline && !waiting(worker) && p.lastSeenAt < before
  }

  /**
   * Online workers silent since before `before` and not held back (`heldUntil` passed by `now`),
   * except `waiting` ones (a worker inside a long poll is present); and the earliest time another one
   * may be due, given silence `offlineMs` (for the next deadline).
   */
  silent (now: number, offlineMs: number, waiting: (worker: string) => boolean): { silent: SilentWorker[], nextDueAt: number | null } {
    const silent: SilentWorker[] = []
    let nextDueAt: number | null = null
    for (const [id, p] of this.seen) {
      if (p.offline || waiting(id)) continue
      const dueAt = Math.max(p.lastSeenAt + offlineMs, p.heldUntil ?? 0)
      if (dueAt <= now) silent.push({ id, lastSeenAt: p.lastSeenAt, lost: p.lost ?? null })
      else if (nextDueAt === null || dueAt < nextDueAt) nextDueAt = dueAt
    }
    return { silent, nextDueAt }
  }

  /** Record that `worker` holds a lease until `until` (epoch ms): not offline before then. */
  heldUntil (worker: string, until: number): void {
    const p = this.seen.get(worker)
    if (p !== undefined) p.heldUntil = until
  }

  /** Record that `worker` lost `task` (its lease lapsed) while not yet silent long enough to be offline. */
  lostLease (worker: string, task: LostTask): void {
    const p = this.seen.get(worker)
    if (p !== undefined && !p.offline) p.lost = task
  }

  /** Record that these workers were declared offline, each with the task it lost (kept until its next request). */
  markedOffline (workers: Array<{ id: string, lost: LostTask | null }>): void {
    for (const { id, lost } of workers) {
      const p = this.seen.get(id)
      if (p !== undefined) {
        p.offline = true
        delete p.heldUntil
        if (lost === null) delete p.lost
        else p.lost = lost
      }
      this.dirty.delete(id)
    }
  }
}
