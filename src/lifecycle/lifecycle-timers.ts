/**
 * The lifecycle's timers: lease expiry, offline detection, the wake-up when a retry backoff or a
 * reservation ends, and the periodic presence flush. Each deadline timer is armed for the next
 * deadline only (see `DeadlineTimer`); a run that fails is logged and retried with backoff.
 *
 * Times: every `*Ms`, `*At` and `now` is epoch / milliseconds.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Store } from '../store/store.js'
import { DeadlineTimer } from './deadline-timer.js'
import * as ops from './operations.js'
import type { PresenceTable } from './presence.js'

/** Leases expired per transaction; more lapsed ones are taken by the next run at once. */
const EXPIRE_BATCH = 500

/** The settings the timers read (a `LifecycleConfig` fits), in ms. */
export interface TimerSettings {
  /** A worker with no request for this long, holding no live lease, is `offline` (and `worker.offline` is emitted); see `presenceState`. */
  offlineMs: number
  /** How often remembered last-seen times are written; default min(5 s, offlineMs / 4). */
  presenceFlushMs?: number
}

/** What the timers take from the lifecycle. */
export interface TimerDeps {
  store: Store
  log: FastifyBaseLogger
  /** Clock in epoch ms. */
  now: () => number
  settings: TimerSettings
  /** The lifecycle's presence table (shared: the lifecycle records requests in it). */
  presence: PresenceTable
  /** Whether `worker` has a parked poll: a worker inside a long poll is present, never offline. */
  waiting: (worker: string) => boolean
  /** Offer work to every parked poll (a backoff or reservation ended). */
  wakeAll: () => void
}

/** The lease, offline and retry wake-up timers and the presence flush; see the module comment. */
export class LifecycleTimers {
  private readonly leaseTimer: DeadlineTimer
  private readonly offlineTimer: DeadlineTimer
  /** Fires when a retry backoff or reservation ends, so parked polls get the task then (no polling loop). */
  private readonly availableTimer: DeadlineTimer
  private availableDueAt: number | null = null
  private flushTimer: NodeJS.Timeout | undefined
  /** The deadline (epoch ms) the lease timer is armed for; null when no live lease is known. */
  private leaseDueAt: number | null = null
  /** The deadline (epoch ms) the offline timer is armed for; null when no online worker may go offline. */
  private offlineDueAt: number | null = null
  /** Set by `stop()`: no timer is armed again. */
  private stopped = false

  constructor (private readonly deps: TimerDeps) {
    const onError = (name: string) => (err: unknown, retryInMs: number): void => this.deps.log.error({ err, retryInMs }, `${name} failed; retrying`)
    this.leaseTimer = new DeadlineTimer(() => this.expireLeases(), onError('lease expiry'))
    this.offlineTimer = new DeadlineTimer(() => this.detectOffline(), onError('offline detection'))
    this.availableTimer = new DeadlineTimer(() => this.tasksAvailable(), onError('retry wake-up'))
  }

  /**
   * Expire leases that lapsed while the server was down, then arm the timers and start the presence
   * flush. Call once the presence table is loaded.
   * @throws whatever the store throws while expiring the lapsed leases
   */
  async start (): Promise<void> {
    await this.expireLeases()
    await this.armAvailableTimer()
    this.armOfflineTimer()
    const flushMs = this.deps.settings.presenceFlushMs ?? Math.min(5000, this.deps.settings.offlineMs / 4)
    this.flushTimer = setInterval(() => { void this.flushPresence() }, flushMs).unref()
  }

  /** Stop every timer for good (the caller flushes presence a last time). */
  stop (): void {
    this.stopped = true
    this.leaseTimer.stop()
    this.offlineTimer.stop()
    this.availableTimer.stop()
    clearInterval(this.flushTimer)
  }

  /**
   * A lease was granted or revived: make sure the lease timer fires by its deadline. The earliest
   * deadline is kept in memory (no query after every change); a timer that fires early finds nothing
   * lapsed and re-arms from the store.
   */
  leaseDue (a: { lease: { expiresAt: string } }): void {
    const at = Date.parse(a.lease.expiresAt)
    if (this.stopped || (this.leaseDueAt !== null && this.leaseDueAt <= at)) return
    this.leaseDueAt = at
    this.leaseTimer.arm(at, this.deps.now())
  }

  /** A task becomes offerable at `at` (ms): make sure parked polls hear of it then. */
  availableDue (at: number): void {
    if (this.stopped || (this.availableDueAt !== null && this.availableDueAt <= at)) return
    this.availableDueAt = at
    this.availableTimer.arm(at, this.deps.now())
  }

  /**
   * A worker made a request: it may go offline `offlineMs` from now; make sure the offline timer fires
   * by then (it may be armed later, for a worker whose lease runs longer).
   */
  watchOffline (): void {
    if (this.stopped) return
    const due = this.deps.now() + this.deps.settings.offlineMs
    if (!this.offlineTimer.armed || this.offlineDueAt === null || this.offlineDueAt > due) this.armOfflineTimer()
  }

  /** Write the last-seen times remembered since the last flush, in one transaction; a failure is logged and retried at the next flush. */
  async flushPresence (): Promise<void> {
    const dirty = this.deps.presence.takeDirty()
    if (dirty.length === 0) return
    try {
      await this.deps.store.transact(async (tx) => {
        for (const w of dirty) await tx.upsertWorker(w.id, { lastSeenAt: w.lastSeenAt })
      })
    } catch (err) {
      this.deps.presence.restore(dirty)
      this.deps.log.error({ err }, 'writing worker last-seen times failed; retrying at the next flush')
    }
  }

  /**
   * Expire the lapsed leases (up to `EXPIRE_BATCH` per run), then arm for the next deadline. A worker
   * whose lease lapsed and that has been silent for `offlineMs` is declared offline in the same
   * transaction, its event naming the lost task; one seen more recently keeps the lost task in memory,
   * for its worker.offline event should it stay silent.
   */
  private async expireLeases (): Promise<void> {
    const now = this.deps.now()
    const { presence, waiting, settings } = this.deps
    const { lapsed, offline } = await this.deps.store.transact(async (tx) => {
      const lapsed = await ops.expireLapsed(tx, now, EXPIRE_BATCH)
      const silent = lapsed.filter((l) => presence.isSilent(l.worker, now - settings.offlineMs + 1, waiting))
      const seen = new Map(silent.map((l) => [l.worker, l]))
      const candidates = [...seen.values()].map((l) => ({ id: l.worker, lastSeenAt: presence.lastSeen(l.worker) ?? now, lost: l }))
      return { lapsed, offline: (await ops.markOffline(tx, candidates, now)).offline }
    })
    presence.markedOffline(offline)
    for (const l of lapsed) if (!offline.some((o) => o.id === l.worker)) presence.lostLease(l.worker, l)
    if (lapsed.length > 0) this.deps.log.info({ lapsed: lapsed.length, offline: offline.length }, 'leases expired; tasks requeued or dead-lettered')
    if (lapsed.length === EXPIRE_BATCH) this.leaseTimer.arm(this.deps.now(), this.deps.now())
    else await this.armLeaseTimer()
    if (lapsed.length > 0) this.armOfflineTimer()
  }

  /** Arm the lease timer for the earliest live deadline the store holds (at start and after each expiry run). */
  private async armLeaseTimer (): Promise<void> {
    try {
      this.leaseDueAt = await this.deps.store.nextLeaseDeadline()
    } catch (err) {
      this.deps.log.error({ err }, 'could not read the next lease deadline; checking again in 1 s')
      this.leaseDueAt = this.deps.now() + 1000
    }
    this.leaseTimer.arm(this.leaseDueAt, this.deps.now())
  }

  /** Arm the wake-up timer for the next end of a backoff or reservation the store holds. */
  private async armAvailableTimer (): Promise<void> {
    try {
      this.availableDueAt = await this.deps.store.nextAvailableAt(this.deps.now())
    } catch (err) {
      this.deps.log.error({ err }, 'could not read when the next backoff ends; checking again in 1 s')
      this.availableDueAt = this.deps.now() + 1000
    }
    this.availableTimer.arm(this.availableDueAt, this.deps.now())
  }

  /** A backoff or reservation ended: offer work to every parked group, then arm for the next one. */
  private async tasksAvailable (): Promise<void> {
    this.deps.wakeAll()
    await this.armAvailableTimer()
  }

  /** Arm the offline timer for when the next online worker may be due (silent `offlineMs`, past any lease it held). */
  private armOfflineTimer (): void {
    const { nextDueAt } = this.deps.presence.silent(-Infinity, this.deps.settings.offlineMs, this.deps.waiting)
    this.offlineDueAt = nextDueAt
    this.offlineTimer.arm(nextDueAt, this.deps.now())
  }

  /**
   * Declare offline (worker.offline) the workers silent for `offlineMs` that hold no live lease (see
   * `presenceState`); one still holding a live lease is working and is looked at again when that lease
   * is due. Then arm for the next one.
   */
  private async detectOffline (): Promise<void> {
    const now = this.deps.now()
    const { silent } = this.deps.presence.silent(now, this.deps.settings.offlineMs, this.deps.waiting)
    if (silent.length > 0) {
      const { offline, held } = await this.deps.store.transact((tx) => ops.markOffline(tx, silent, now))
      this.deps.presence.markedOffline(offline)
      for (const h of held) this.deps.presence.heldUntil(h.id, h.until)
    }
    this.armOfflineTimer()
  }
}
