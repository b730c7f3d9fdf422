/**
 * One timer armed for the next deadline only (the earliest lease expiry, the next worker to go
 * offline), instead of a sweep on every request or a fixed-interval scan.
 */
const MAX_DELAY_MS = 2 ** 31 - 1 // setTimeout's limit

export class DeadlineTimer {
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  /**
   * @param fire called when the armed deadline passes; should re-arm for the following one
   * @param onError receives whatever `fire` throws (logged by the caller; the timer stays usable)
   */
  constructor (private readonly fire: () => Promise<void>, private readonly onError: (err: unknown) => void) {}

  /** Arm for epoch-ms deadline `at` (replacing the previous arming); `null` disarms. */
  arm (at: number | null, now: number = Date.now()): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (at === null || this.stopped) return
    const delay = Math.min(Math.max(at - now, 0), MAX_DELAY_MS)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.fire().catch(this.onError)
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
