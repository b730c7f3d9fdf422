/**
 * Parked-poll dispatch: who gets a task among the `GET /tasks/next` long polls that are waiting. It
 * owns the parked polls, the groups of them still to be offered work (`pending`, drained by one loop
 * at a time), the polls already given a task by a transaction that has not committed yet (`reserved`)
 * and the workers a sent-back task is reserved for (`reservations`).
 *
 * Two ways in: `handOut` claims inside the caller's own store transaction (a post or a report, so a
 * parked worker has its task in the tick that transaction commits), then `deliver` answers after the
 * commit; `wake` queues groups for the dispatch loop, which claims in a transaction of its own per poll.
 *
 * Times: every `*Ms` and `now` is epoch / milliseconds; API timestamps are ISO strings.
 */
import type { FastifyBaseLogger } from 'fastify'
import { CoordError } from '../errors.js'
import type { Assignment, NextOutcome, Task } from '../schemas/tasks.js'
import type { ClaimFilter, Store, StoreTx } from '../store/store.js'
import * as ops from './operations.js'
import { ParkedPolls, type ParkedPoll } from './parked-polls.js'

/**
 * Most polls one dispatch round claims for in its transaction. Bounds how long a round holds the event
 * loop (a claim takes ~0.1 ms) when many polls wait and much work frees at once; the rest go in the next
 * round, one commit later.
 */
const ROUND_MAX = 64
const FINISHED_MESSAGE = 'All tasks done: the project is closed and every task is finished. You may stop.'
const EMPTY_MESSAGE = 'No task became available while waiting. Poll again.'

/** The outcome of a poll that got `a`. */
export const assigned = (a: Assignment): NextOutcome => ({ status: 'assigned', assignment: a })
/** The outcome of a poll that found nothing (the worker polls again). */
export const empty = (): NextOutcome => ({ status: 'empty', message: EMPTY_MESSAGE })
/** The outcome of a poll whose project is closed with every task finished. */
export const finished = (): NextOutcome => ({ status: 'finished', message: FINISHED_MESSAGE })

/** Polls given a task by a claim made for them, with the task each got; filled by `claimInto`, answered by `deliver`. */
type HandedOut = Array<{ poll: ParkedPoll, a: Assignment }>

/** What the dispatcher takes from the lifecycle. */
export interface DispatchDeps {
  store: Store
  log: FastifyBaseLogger
  /** Clock in epoch ms. */
  now: () => number
  /** Shared with the lifecycle's own claims (`ops.claim` sets `heldByFiles` in it). */
  claimNotes: ops.ClaimNotes
  /** A lease was granted: make sure the lease timer fires by its deadline. */
  leaseDue: (a: { lease: { expiresAt: string } }) => void
  /** A task becomes offerable at `at` (epoch ms): make sure parked polls hear of it then. */
  availableDue: (at: number) => void
  /** Run post-commit work; a failure is logged, never thrown. */
  afterCommit: (what: string, fn: () => Promise<void>) => Promise<void>
}

/** The parked long polls and the claims made for them; see the module comment. */
export class PollDispatcher {
  private readonly polls = new ParkedPolls()
  /** Workers a sent-back task is reserved for (until its availableAt): their parked polls are tried even when others found nothing. */
  private readonly reservations = new Set<string>()
  /** Groups of parked polls to offer work to; drained by `dispatch`. */
  private readonly pending = new Set<string>()
  /** Polls given a task by a post's transaction that has not committed yet (see `handOut`). */
  private readonly reserved = new Set<ParkedPoll>()
  private dispatching = false

  constructor (private readonly deps: DispatchDeps) {}

  /**
   * Park a poll of `worker` for up to `waitMs` and offer it work at once; resolves with its outcome
   * (`empty` on timeout or abort). Parking is synchronous, so a change committed after this call
   * returns is offered to the poll. A second poll of the same worker answers the first one `empty`.
   */
  park (worker: string, filter: ClaimFilter, waitMs: number, signal: AbortSignal | undefined): Promise<NextOutcome> {
    const { poll, outcome } = this.polls.park(worker, filter, waitMs, signal, empty)
    this.pending.add(poll.group)
    void this.dispatch()
    return outcome
  }

  /** Whether `worker` has a parked poll. */
  has (worker: string): boolean {
    return this.polls.has(worker)
  }

  /** Keys of the groups of parked polls a change in `projects` may concern, oldest head first (see `ParkedPolls.groupsFor`). */
  groupsFor (projects: ReadonlySet<string | null> | 'all'): string[] {
    return this.polls.groupsFor(projects)
  }

  /** Offer work to the parked polls a change in `projects` may concern (`'all'`: every one), in the background. */
  wake (projects: ReadonlySet<string | null> | 'all'): void {
    for (const group of this.polls.groupsFor(projects)) this.pending.add(group)
    void this.dispatch()
  }

  /** Answer every parked poll `empty` (at shutdown). */
  settleAll (): void {
    this.polls.settleAll(empty)
  }

  /**
   * Run `fn` in one store transaction that may hand tasks to parked polls: `fn` calls `serve(groups)` for
   * the groups of polls its change concerns (see `handOut`). After the commit the polls served are
   * answered; then, committed or not, they stop being reserved — in that order, so the dispatch loop
   * never claims again for a poll that already has its task.
   * @param now epoch ms, the time of the claims
   * @throws whatever `fn` or the transaction throws (nothing was then handed out)
   */
  async transactServing<T> (now: number, fn: (tx: StoreTx, serve: (groups: string[]) => Promise<void>) => Promise<T>): Promise<T> {
    const handed: HandedOut = []
    try {
      const out = await this.deps.store.transact((tx) => fn(tx, (groups) => this.handOut(tx, groups, now, handed)))
      this.deliver(handed)
      return out
    } finally {
      this.unreserve(handed)
    }
  }

  /**
   * Claim just-posted tasks for the polls parked on them, inside the post's (or report's) own
   * transaction, so a parked worker has its task in the tick it commits (no second commit, no read per
   * waiter). Longest-waiting first, group by group, until a group's claim finds nothing. A claim the
   * rules refuse (CoordError) skips that poll and leaves the change intact. Each poll handed a task is
   * marked reserved until `transactServing` delivers and unreserves it.
   * @throws whatever a claim throws other than CoordError (the caller's transaction then rolls back)
   */
  private async handOut (tx: StoreTx, groups: string[], now: number, handed: HandedOut): Promise<void> {
    // A resumed lease is one a claim made earlier in this batch (the dispatch loop's): that claim answers the poll.
    const opts = { skipResumed: true, refuses: () => true }
    for (const group of groups) await this.claimInto(tx, this.polls.inGroup(group), now, { handed, refused: [] }, opts)
  }

  /**
   * Claim in `tx` for `polls` in order until the queue has nothing for them; true then (dry). Each poll
   * handed a task goes into `out.handed` and is reserved: until the commit answers it, no other claim may
   * be made for it. Polls that left or are reserved already are passed over; a poll whose claim threw a
   * CoordError that `opts.refuses` goes into `out.refused`; with `opts.skipResumed` a claim that found the
   * worker's live lease is passed over too.
   * @throws whatever a claim throws that `opts.refuses` does not (the transaction then rolls back)
   */
  private async claimInto (tx: StoreTx, polls: Iterable<ParkedPoll>, now: number, out: { handed: HandedOut, refused: ParkedPoll[] },
    opts: { skipResumed: boolean, refuses: (err: CoordError) => boolean }): Promise<boolean> {
    for (const poll of polls) {
      if (!this.polls.holds(poll) || this.reserved.has(poll)) continue
      const a = await ops.claim(tx, poll.worker, poll.filter, now, this.deps.claimNotes).catch((err: unknown) => {
        if (err instanceof CoordError && opts.refuses(err)) return undefined
        throw err
      })
      if (a === null) return true
      if (a === undefined) {
        out.refused.push(poll)
        continue
      }
      if (opts.skipResumed && a.resumed) continue
      out.handed.push({ poll, a })
      this.reserved.add(poll)
    }
    return false
  }

  /** Answer the polls that got a task in a committed hand-out; give back the tasks of those that left meanwhile. */
  private deliver (handed: HandedOut): void {
    for (const { poll, a } of handed) {
      this.deps.leaseDue(a)
      void this.answerOrRelease(poll, a)
    }
  }

  /** The hand-out's transaction has ended: the dispatch loop may claim for its polls again. */
  private unreserve (handed: HandedOut): void {
    for (const { poll } of handed) this.reserved.delete(poll)
  }

  /** Remember that `t` is reserved for a worker until its availableAt, so parked polls of that worker are tried (see serveReserved). */
  reservedTask (t: Task): void {
    if (t.availableAt === null) return
    const until = Date.parse(t.availableAt)
    this.deps.availableDue(until)
    const worker = t.reservedFor
    if (worker === null) return
    this.reservations.add(worker)
    setTimeout(() => { this.reservations.delete(worker) }, Math.max(0, until - this.deps.now())).unref()
  }

  /** Offer queued tasks to the pending groups of parked polls, longest-waiting first. */
  private async dispatch (): Promise<void> {
    if (this.dispatching) return // the running loop takes the groups added meanwhile
    this.dispatching = true
    try {
      for (let group = first(this.pending); group !== undefined; group = first(this.pending)) {
        this.pending.delete(group)
        await this.serve(group)
      }
    } finally {
      this.dispatching = false
    }
  }

  /**
   * Claim for the group's polls, oldest first, until the queue has nothing for them. Each round claims
   * for the polls parked at its start (up to ROUND_MAX) in one transaction, so polls that parked together
   * share one commit (and one fsync) instead of queueing behind a commit each.
   */
  private async serve (group: string): Promise<void> {
    for (;;) {
      const polls = this.polls.oldest(group, ROUND_MAX, (p) => this.reserved.has(p))
      if (polls.length === 0) return
      const round = await this.claimRound(polls)
      if (round === undefined) return
      this.deliver(round.handed)
      this.unreserve(round.handed)
      for (const p of round.refused) this.polls.settle(p, empty())
      if (round.dry) {
        const head = this.polls.head(group)
        if (head !== undefined && await this.deps.store.isFinished(head.filter.project).catch(() => false)) {
          for (let p = this.polls.head(group); p !== undefined; p = this.polls.head(group)) this.polls.settle(p, finished())
        }
        await this.serveReserved(group)
        return
      }
      if (round.handed.length === 0 && round.refused.length === 0) return
    }
  }

  /**
   * One transaction claiming for `polls` in order until the queue has nothing (`dry`). A poll that left
   * or was handed a task meanwhile is passed over; one the rules refuse (CoordError below 500) is
   * returned in `refused`, to be answered `empty`. Undefined when the transaction failed (logged; the
   * polls stay parked until the next change or their timeout).
   */
  private async claimRound (polls: ParkedPoll[]): Promise<{ handed: HandedOut, refused: ParkedPoll[], dry: boolean } | undefined> {
    const out = { handed: [] as HandedOut, refused: [] as ParkedPoll[] }
    try {
      const now = this.deps.now()
      const dry = await this.deps.store.transact((tx) => this.claimInto(tx, polls, now, out, { skipResumed: false, refuses: (err) => err.statusCode < 500 }))
      return { ...out, dry }
    } catch (err) {
      // Storage trouble: the polls stay parked until the next change or their timeout.
      this.deps.log.error({ err, workers: polls.map((p) => p.worker) }, 'claim for parked polls failed')
      this.unreserve(out.handed)
      return undefined
    }
  }

  /**
   * The queue had nothing for the group's longest-waiting poll, but a task sent back by a review or an
   * answer is offered only to the worker that did it: claim for the group's polls of such workers too.
   */
  private async serveReserved (group: string): Promise<void> {
    if (this.reservations.size === 0) return
    for (const poll of this.polls.inGroup(group)) {
      if (!this.reservations.has(poll.worker) || this.reserved.has(poll)) continue
      const a = await this.claimFor(poll)
      if (a === null || a === undefined) continue
      this.reservations.delete(poll.worker)
      await this.answerOrRelease(poll, a)
    }
  }

  /**
   * Answer a parked poll with the task claimed for it. The client may have gone while the claim ran:
   * then the task is given back, uncounted (unless it was the worker's resumed lease).
   */
  private async answerOrRelease (poll: ParkedPoll, a: Assignment): Promise<void> {
    if (this.polls.settle(poll, assigned(a)) || a.resumed) return
    await this.deps.afterCommit('release', async () => {
      const now = this.deps.now()
      await this.deps.store.transact((tx) => ops.release(tx, a.lease.leaseId, now))
    })
  }

  /** A claim for a parked poll: the assignment, null (nothing queued), or undefined (failed; logged). */
  private async claimFor (poll: ParkedPoll): Promise<Assignment | null | undefined> {
    try {
      const now = this.deps.now()
      const a = await this.deps.store.transact((tx) => ops.claim(tx, poll.worker, poll.filter, now, this.deps.claimNotes))
      if (a !== null) this.deps.leaseDue(a)
      return a
    } catch (err) {
      // Storage trouble: the poll stays parked until the next change or its timeout.
      this.deps.log.error({ err, worker: poll.worker }, 'claim for a parked poll failed')
      if (err instanceof CoordError && err.statusCode < 500) this.polls.settle(poll, empty())
      return undefined
    }
  }
}

function first<T> (set: Set<T>): T | undefined {
  return set.values().next().value
}
