/**
 * One timer armed for the next deadline only (the earliest lease expiry, the next worker to go
 * offline), instead of a sweep on every request or a fixed-interval scan. A run that fails (the disk
 * is full, another process holds the lock) is retried with exponential backoff, so the timer never
 * dies: a lapsed lease is expired as soon as the store works again.
 */
const MAX_DELAY_MS = 2 ** 31 - 1 // setTimeout's limit

/** Retry delays after a failed run, in ms: doubling from `RETRY_MIN_MS` up to `RETRY_MAX_MS`. */
export const RETRY_MIN_MS = 100
export const RETRY_MAX_MS = 5000

export class DeadlineTimer {
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private failures = 0

  /**
   * @param fire called when the armed deadline passes; it re-arms for the following one. When it
   *   throws (or rejects), the timer re-arms itself for a retry after a growing delay.
   * @param onError receives whatever `fire` throws (logged by the caller)
   */
  constructor (private readonly fire: () => Promise<void>, private readonly onError: (err: unknown, retryInMs: number) => void) {}

  /** Arm for epoch-ms deadline `at` (replacing the previous arming); `null` disarms. */
  arm (at: number | null, now: number = Date.now()): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (at === null || this.stopped) return
    // While runs fail, no arming may come sooner than the backoff (no busy loop on a broken disk).
    this.schedule(Math.min(Math.max(at - now, this.failures > 0 ? this.backoff() : 0), MAX_DELAY_MS))
  }

  private backoff (): number {
    return Math.min(RETRY_MIN_MS * 2 ** Math.max(this.failures - 1, 0), RETRY_MAX_MS)
  }

  private schedule (delay: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.fire().then(() => { this.failures = 0 }, (err: unknown) => {
        this.failures++
        const retry = this.backoff()
        this.onError(err, retry)
        // Keep an earlier arming made meanwhile; otherwise retry.
        if (!this.stopped && this.timer === undefined) this.schedule(retry)
      })
    }, delay)
    this.timer.unref()
  }

  /** Whether a deadline is armed. */
  get armed (): boolean {
    return this.timer !== undefined
  }

  /** Disarm for good (server closing). */
  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
  }
}
