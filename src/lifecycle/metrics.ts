/**
 * A project's metrics (`ProjectMetrics`, see src/schemas/metrics.ts) computed from its stored history
 * as one pure function: no store, no clock (the caller passes `now`), so a route and a test get the
 * same numbers from the same rows. Each part is one pass over its rows plus a sort: O(n log n).
 */
import { TASK_STATES, type TaskState } from '../schemas/common.js'
import type { ProjectMetrics } from '../schemas/metrics.js'
import type { LeaseEnd } from '../store/store.js'

/** Everything stored about one project, as `computeMetrics` reads it. All times are epoch milliseconds. */
export interface MetricsHistory {
  project: string
  now: number
  tasks: Array<{ id: string, type: string, state: TaskState, createdAt: number, finishedAt: number | null, leaseMs: number }>
  /** Every lease of the project's tasks, in any order. */
  leases: Array<{ taskId: string, worker: string, attempt: number, grantedAt: number, expiresAt: number, endedAt: number | null, endReason: LeaseEnd | null }>
  /** Every report, accepted or refused; `rejection` is the refusal's error code, e.g. 'CHECKS_FAILED' or 'LEASE_SUPERSEDED'. */
  reports: Array<{ taskId: string, worker: string, status: string, accepted: boolean, rejection: string | null, contextScore: number | null, at: number }>
  /** Human and coordinator input: engineer answers, and the coordinator's review decisions. */
  notes: Array<{ taskId: string, kind: 'answer' | 'review', decision: 'accept' | 'changes' | null, by: string | null, at: number }>
  /** When the project finished; null while it is not (absent: unknown, treated as not finished). */
  finishedAt?: number | null
  /**
   * Presence of the workers that held a lease on the project: first and last request, and the end of
   * their latest lease in another project before their first lease here (null when none). Absent:
   * idle time counts from the first lease only.
   */
  workers?: Array<{ id: string, firstSeenAt: number, lastSeenAt: number, busyElsewhereUntil: number | null }>
}

type Lease = MetricsHistory['leases'][number]
type Report = MetricsHistory['reports'][number]

const iso = (ms: number | null): string | null => ms === null ? null : new Date(ms).toISOString()
const ratio = (n: number, d: number): number | null => d === 0 ? null : n / d

// Loops, not Math.min(...xs): spreading a project's every lease as arguments overflows the stack near 100k.
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
const minOf = (xs: number[]): number | null => xs.length === 0 ? null : xs.reduce((a, b) => Math.min(a, b))
const maxOf = (xs: number[]): number | null => xs.length === 0 ? null : xs.reduce((a, b) => Math.max(a, b))

/** Rounded mean and max of durations in ms; both null for none. */
function meanMax (ms: number[]): { mean: number | null, max: number | null } {
  const max = maxOf(ms)
  return max === null ? { mean: null, max: null } : { mean: Math.round(sum(ms) / ms.length), max: Math.round(max) }
}

function groupBy<T> (rows: T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const row of rows) {
    const k = key(row)
    const group = groups.get(k)
    if (group === undefined) groups.set(k, [row])
    else group.push(row)
  }
  return groups
}

/**
 * Compute a project's metrics from its history. Pure; an empty history gives zeros and the documented
 * nulls (never NaN or Infinity). Released leases (handed back because the worker had gone before
 * receiving them) are left out of every number. Throws RangeError (from toISOString) only when `now`
 * or a time it prints is not a valid epoch-ms number, which stored rows never are.
 */
export function computeMetrics (h: MetricsHistory): ProjectMetrics {
  const leases = h.leases.filter((l) => l.endReason !== 'released')
  const accepted = h.reports.filter((r) => r.accepted)
  const duration = (l: Lease) => Math.max(0, (l.endedAt ?? h.now) - l.grantedAt)

  const byState: Record<string, number> = Object.fromEntries(TASK_STATES.map((s) => [s, 0]))
  for (const t of h.tasks) byState[t.state] = (byState[t.state] ?? 0) + 1
  const open = h.tasks.filter((t) => t.state !== 'canceled').length
  const answers = h.notes.filter((n) => n.kind === 'answer')
  const helped = new Set(answers.map((n) => n.taskId))
  const completed = h.tasks.filter((t) => t.state === 'completed')
  const completedWithHelp = completed.filter((t) => helped.has(t.id)).length

  const reviews = h.notes.filter((n) => n.kind === 'review' && n.decision !== null)
  const changesRequested = reviews.filter((n) => n.decision === 'changes').length
  const checkRejections = h.reports.filter((r) => !r.accepted && r.rejection === 'CHECKS_FAILED')

  const workMs = Math.round(sum(leases.map(duration)))
  const firstClaim = minOf(leases.map((l) => l.grantedAt))
  const lastCompletion = maxOf(completed.flatMap((t) => t.finishedAt === null ? [] : [t.finishedAt]))
  const wallMs = firstClaim === null || lastCompletion === null ? null : Math.round(lastCompletion - firstClaim)

  return {
    project: h.project,
    computedAt: new Date(h.now).toISOString(),
    tasks: { total: h.tasks.length, byState },
    interventions: answers.length,
    promptsPerTask: ratio(answers.length, open) ?? 0,
    automationRate: ratio(completed.length - completedWithHelp, open),
    completedWithoutHelp: completed.length - completedWithHelp,
    completedWithHelp,
    contextScore: contextScores(accepted),
    workers: workerMetrics(leases, accepted, duration, h),
    time: {
      firstClaimAt: iso(firstClaim),
      lastCompletionAt: iso(lastCompletion),
      wallMs,
      workMs,
      parallelSpeedup: wallMs === null || wallMs <= 0 ? null : workMs / wallMs,
    },
    failureDetection: failureDetection(leases, new Map(h.tasks.map((t) => [t.id, t.leaseMs]))),
    checks: { rejections: checkRejections.length, tasksRejectedOnce: new Set(checkRejections.map((r) => r.taskId)).size },
    review: {
      accepted: reviews.filter((n) => n.decision === 'accept').length,
      changesRequested,
      roundTrips: changesRequested,
      tasksReviewed: new Set(reviews.map((n) => n.taskId)).size,
    },
    failedReports: accepted.filter((r) => r.status === 'failed').length,
    blockedReports: accepted.filter((r) => r.status === 'blocked').length,
  }
}

/** Scores of each task's latest accepted completed report; a later unscored completion supersedes an earlier score. */
function contextScores (accepted: Report[]): ProjectMetrics['contextScore'] {
  const latest = new Map<string, Report>()
  // Ties on `at` go to the later row, as the store appends reports in order.
  for (const r of accepted) {
    if (r.status !== 'completed') continue
    const seen = latest.get(r.taskId)
    if (seen === undefined || r.at >= seen.at) latest.set(r.taskId, r)
  }
  const scores = [...latest.values()].flatMap((r) => r.contextScore === null ? [] : [r.contextScore])
  const distribution = { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 }
  // The report schema only admits integers 1..5; clamping keeps the counts adding up to `reports` regardless.
  for (const s of scores) distribution[Math.min(5, Math.max(1, Math.round(s))) as 1 | 2 | 3 | 4 | 5]++
  return { reports: scores.length, mean: ratio(sum(scores), scores.length), min: minOf(scores), max: maxOf(scores), distribution }
}

/**
 * One entry per worker seen in a lease or an accepted report, sorted by worker id. Idle time counts
 * every wait: from the worker's first request (or, if later, the end of its last lease in another
 * project before its first lease here) to the end of its last lease here — or, later, its last
 * request while the project was open (now while it still waits) — minus its busy time.
 */
function workerMetrics (leases: Lease[], accepted: Report[], duration: (l: Lease) => number, h: MetricsHistory): ProjectMetrics['workers'] {
  const leasesOf = groupBy(leases, (l) => l.worker)
  const reportsOf = groupBy(accepted, (r) => r.worker)
  const presence = new Map((h.workers ?? []).map((w) => [w.id, w]))
  const ids = [...new Set([...leasesOf.keys(), ...reportsOf.keys()])].sort()
  return ids.map((worker) => {
    const own = leasesOf.get(worker) ?? []
    const reports = reportsOf.get(worker) ?? []
    const busy = sum(own.map(duration))
    const firstGrant = minOf(own.map((l) => l.grantedAt)) ?? 0
    const lastEnd = maxOf(own.map((l) => l.endedAt ?? h.now)) ?? 0
    const p = presence.get(worker)
    // Without presence (or leases) the span is that of the leases, as before.
    const from = p === undefined || own.length === 0 ? firstGrant : Math.min(firstGrant, Math.max(p.firstSeenAt, p.busyElsewhereUntil ?? -Infinity))
    const to = p === undefined || own.length === 0 ? lastEnd : Math.max(lastEnd, Math.min(p.lastSeenAt, h.finishedAt ?? h.now))
    const span = to - from
    const tasksWith = (status: string) => new Set(reports.filter((r) => r.status === status).map((r) => r.taskId)).size
    return {
      worker,
      tasksCompleted: tasksWith('completed'),
      tasksFailed: tasksWith('failed'),
      leases: own.length,
      busyMs: Math.round(busy),
      // Overlapping leases of one worker make busy exceed the span; idle time is then none, not negative.
      idleMs: Math.max(0, Math.round(span - busy)),
    }
  })
}

/** Expired leases: how long the silent worker held the task, how late the timer was, how soon the task was re-claimed. */
function failureDetection (leases: Lease[], leaseMsOf: Map<string, number>): ProjectMetrics['failureDetection'] {
  const silent: number[] = []
  const reclaim: number[] = []
  const lag: number[] = []
  let expired = 0
  for (const own of groupBy(leases, (l) => l.taskId).values()) {
    own.sort((a, b) => a.grantedAt - b.grantedAt || a.attempt - b.attempt)
    own.forEach((l, i) => {
      if (l.endReason !== 'expired') return
      expired++
      if (l.endedAt === null) return // an end reason without an end time: nothing to measure
      const leaseMs = leaseMsOf.get(l.taskId)
      // A heartbeat moves expiresAt to its own time + leaseMs, so expiresAt − leaseMs is the last sign of life.
      if (leaseMs !== undefined) silent.push(l.endedAt - (l.expiresAt - leaseMs))
      lag.push(l.endedAt - l.expiresAt)
      const next = own[i + 1]
      if (next !== undefined) reclaim.push(next.grantedAt - l.endedAt)
    })
  }
  const s = meanMax(silent)
  const r = meanMax(reclaim)
  return {
    expired,
    reassignments: reclaim.length,
    meanSilentToReofferMs: s.mean,
    maxSilentToReofferMs: s.max,
    meanReofferToReclaimMs: r.mean,
    maxReofferToReclaimMs: r.max,
    meanExpiryLagMs: meanMax(lag).mean,
  }
}
