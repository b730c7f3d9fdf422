/**
 * How a claim answer tells a worker that its poll's filter was not applied. A worker holds at most one
 * live lease, and any poll gives that lease back (`resumed`), whatever the poll's `project` or `type`:
 * a worker that polls project B while it still holds a task of project A gets its A task. Silently,
 * that looked like B handing out A's work; the answer now says so in `note`.
 */
import type { Assignment, NextOutcome } from '../schemas/tasks.js'
import type { ClaimFilter } from '../store/store.js'

/**
 * `a` with a `note` when it is a resumed lease that the poll's `filter` would not have matched, e.g.
 * "You still hold task t1 in project A (lease until 2026-…Z); finish or report it first — this poll's
 * project filter B was not applied." Otherwise `a` unchanged.
 */
export function withFilterNote (a: Assignment, filter: ClaimFilter): Assignment {
  if (!a.resumed) return a
  const t = a.task
  const ignored = [
    filter.project !== undefined && filter.project !== t.project ? `project filter ${filter.project}` : '',
    filter.type !== undefined && filter.type !== t.type ? `type filter ${filter.type}` : '',
  ].filter((f) => f !== '')
  if (ignored.length === 0) return a
  const what = ignored.length === 1 ? `${ignored[0] ?? ''} was` : `${ignored.join(' and ')} were`
  const kind = filter.type !== undefined && filter.type !== t.type ? ` (type ${t.type})` : ''
  return {
    ...a,
    note: `You still hold task ${t.id} in project ${t.project}${kind} (lease until ${a.lease.expiresAt}); finish or report it first — ` +
      `this poll's ${what} not applied.`,
  }
}

/** A poll outcome with `withFilterNote` applied to its assignment. */
export function outcomeWithFilterNote (outcome: NextOutcome, filter: ClaimFilter): NextOutcome {
  return outcome.status === 'assigned' ? { ...outcome, assignment: withFilterNote(outcome.assignment, filter) } : outcome
}
