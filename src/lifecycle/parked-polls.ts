/**
 * Parked `GET /tasks/next` long polls, grouped by what they wait for (project and type). A change is
 * offered only to the groups it can satisfy, and within a group only until a claim finds nothing, so
 * the cost of a change grows with the groups it touches, not with the number of parked polls.
 * Within a group and across groups, the longest-waiting poll is served first.
 */
import type { NextOutcome } from '../schemas/tasks.js'
import type { ClaimFilter } from '../store/store.js'

/** One parked poll. Settled exactly once: by `settle`, its timeout, or its client disconnecting. */
export interface ParkedPoll {
  readonly worker: string
  readonly filter: ClaimFilter
  /** Arrival order. */
  readonly seq: number
  readonly group: string
}

interface Entry extends ParkedPoll {
  resolve: (outcome: NextOutcome) => void
  timer: NodeJS.Timeout
  signal: AbortSignal | undefined
  onAbort: () => void
}

/** The group key of a filter; `*` stands for "any". */
export function groupKey (f: ClaimFilter): string {
  return JSON.stringify([f.project ?? null, f.type ?? null])
}

export class ParkedPolls {
  private readonly groups = new Map<string, Set<Entry>>()
  private readonly byWorker = new Map<string, Entry>()
  private seq = 0

  /**
   * Park a poll until `settle` answers it, `timeoutMs` passes or `signal` aborts (both answer
   * `onTimeout()`). A worker has at most one parked poll: parking again answers the older one
   * `onTimeout()` first. Registration is synchronous, so a change committed after this call returns
   * is offered to the poll.
   */
  park (
    worker: string, filter: ClaimFilter, timeoutMs: number, signal: AbortSignal | undefined, onTimeout: () => NextOutcome
  ): { poll: ParkedPoll, outcome: Promise<NextOutcome> } {
    const older = this.byWorker.get(worker)
    if (older !== undefined) this.settle(older, onTimeout())
    let entry!: Entry
    const outcome = new Promise<NextOutcome>((resolve) => {
      const onAbort = (): void => { this.settle(entry, onTimeout()) }
      entry = { worker, filter, seq: ++this.seq, group: groupKey(filter), resolve, timer: setTimeout(onAbort, timeoutMs), signal, onAbort }
    })
    let group = this.groups.get(entry.group)
    if (group === undefined) this.groups.set(entry.group, (group = new Set()))
    group.add(entry)
    this.byWorker.set(worker, entry)
    signal?.addEventListener('abort', entry.onAbort, { once: true })
    if (signal?.aborted === true) entry.onAbort()
    return { poll: entry, outcome }
  }

  /** Answer `poll` with `outcome` if it is still parked; false when it had already gone. */
  settle (poll: ParkedPoll, outcome: NextOutcome): boolean {
    const entry = poll as Entry
    const group = this.groups.get(entry.group)
    if (group === undefined || !group.delete(entry)) return false
    if (group.size === 0) this.groups.delete(entry.group)
    if (this.byWorker.get(entry.worker) === entry) this.byWorker.delete(entry.worker)
    clearTimeout(entry.timer)
    entry.signal?.removeEventListener('abort', entry.onAbort)
    entry.resolve(outcome)
    return true
  }

  /** Whether `poll` is still parked. */
  holds (poll: ParkedPoll): boolean {
    return this.groups.get(poll.group)?.has(poll as Entry) === true
  }

  /** The oldest parked poll of a group for which `skip` is false, or undefined when there is none. */
  head (group: string, skip?: (poll: ParkedPoll) => boolean): ParkedPoll | undefined {
    for (const entry of this.groups.get(group) ?? []) if (skip === undefined || !skip(entry)) return entry
    return undefined
  }

  /** Up to `n` polls of a group for which `skip` is false, oldest first (a copy), without copying the whole group. */
  oldest (group: string, n: number, skip: (poll: ParkedPoll) => boolean): ParkedPoll[] {
    const out: ParkedPoll[] = []
    for (const entry of this.groups.get(group) ?? []) {
      if (out.length === n) break
      if (!skip(entry)) out.push(entry)
    }
    return out
  }

  /** The polls of a group, oldest first (a copy: settling them while iterating is safe). */
  inGroup (group: string): ParkedPoll[] {
    return [...(this.groups.get(group) ?? [])]
  }

  /**
   * Keys of the groups a change in `projects` may concern (those waiting for one of them, and those
   * waiting for any project), oldest head first; `'all'` = every group.
   */
  groupsFor (projects: ReadonlySet<string | null> | 'all'): string[] {
    const keys: Array<[string, number]> = []
    for (const [key, group] of this.groups) {
      const head = group.values().next().value as Entry
      const p = head.filter.project
      if (projects === 'all' || p === undefined || projects.has(p)) keys.push([key, head.seq])
    }
    return keys.sort((a, b) => a[1] - b[1]).map(([key]) => key)
  }

  /** Workers with a parked poll. */
  workers (): ReadonlySet<string> {
    return new Set(this.byWorker.keys())
  }

  /** Whether `worker` has a parked poll. */
  has (worker: string): boolean {
    return this.byWorker.has(worker)
  }

  get size (): number {
    return this.byWorker.size
  }

  /** Answer every parked poll, e.g. at shutdown. */
  settleAll (outcome: () => NextOutcome): void {
    for (const group of [...this.groups.values()]) for (const entry of [...group]) this.settle(entry, outcome())
  }
}
