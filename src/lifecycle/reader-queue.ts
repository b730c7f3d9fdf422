/**
 * Parked `GET /events` long polls. A reader parks before it reads, so an event committed between its
 * read and its parking still wakes it (no lost wake-up); every change wakes every reader, which then
 * reads again.
 */

/** One parked reader: `woken` settles on the next wake-up, the timeout, or an abort. */
export interface ParkedReader {
  readonly woken: Promise<void>
  /** Stop waiting (the reader already has what it needs). */
  cancel: () => void
}

export class ReaderQueue {
  private readonly parked = new Set<() => void>()

  /** Park until `wakeAll`, `timeoutMs` (ms) or `signal` aborts; registration is synchronous. */
  park (timeoutMs: number, signal: AbortSignal | undefined): ParkedReader {
    let done!: () => void
    const woken = new Promise<void>((resolve) => {
      done = () => {
        if (!this.parked.delete(done)) return
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
    })
    const timer = setTimeout(done, timeoutMs)
    this.parked.add(done)
    signal?.addEventListener('abort', done, { once: true })
    if (signal?.aborted === true) done()
    return { woken, cancel: done }
  }

  /** Wake every parked reader. */
  wakeAll (): void {
    for (const done of [...this.parked]) done()
  }

  get size (): number {
    return this.parked.size
  }
}
