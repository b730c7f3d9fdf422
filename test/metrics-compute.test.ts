// Project metrics from stored history: a scripted project with every number worked out by hand,
// the empty project (zeros and documented nulls, never NaN), live leases up to `now`, released leases
// ignored; every answer checked against the response schema.
import t, { type Test } from 'tap'
import { Compile } from 'typebox/compile'
import { computeMetrics, type MetricsHistory } from '../src/lifecycle/metrics.js'
import { ProjectMetrics } from '../src/schemas/metrics.js'
import type { TaskState } from '../src/schemas/common.js'

const T0 = 1_800_000_000_000
const at = (ms: number) => new Date(T0 + ms).toISOString()
const schema = Compile(ProjectMetrics)

type Task = MetricsHistory['tasks'][number]
type Lease = MetricsHistory['leases'][number]
type Report = MetricsHistory['reports'][number]
type Note = MetricsHistory['notes'][number]

const task = (id: string, state: TaskState, finishedAt: number | null = null, leaseMs = 60_000): Task =>
  ({ id, type: 'summarize', state, createdAt: T0 - 10_000, finishedAt: finishedAt === null ? null : T0 + finishedAt, leaseMs })
type End = Lease['endReason']
const lease = (taskId: string, worker: string, attempt: number, grantedAt: number, expiresAt: number, endedAt: number | null, endReason: End): Lease =>
  ({ taskId, worker, attempt, grantedAt: T0 + grantedAt, expiresAt: T0 + expiresAt, endedAt: endedAt === null ? null : T0 + endedAt, endReason })
const report = (taskId: string, worker: string, status: string, atMs: number, contextScore: number | null = null, rejection: string | null = null): Report =>
  ({ taskId, worker, status, accepted: rejection === null, rejection, contextScore, at: T0 + atMs })
const note = (taskId: string, kind: Note['kind'], atMs: number, decision: Note['decision'] = null): Note =>
  ({ taskId, kind, decision, by: kind === 'review' ? 'coordinator' : 'engineer', at: T0 + atMs })
const empty = (now = 0): MetricsHistory => ({ project: 'p', now: T0 + now, tasks: [], leases: [], reports: [], notes: [] })

// Paths the schema lets be null; any other null in the JSON answer would be a NaN or a missing number.
const NULLABLE = new Set([
  'automationRate', 'contextScore.mean', 'contextScore.min', 'contextScore.max', 'time.firstClaimAt', 'time.lastCompletionAt', 'time.wallMs',
  'time.parallelSpeedup', 'failureDetection.meanSilentToReofferMs', 'failureDetection.maxSilentToReofferMs',
  'failureDetection.meanReofferToReclaimMs', 'failureDetection.maxReofferToReclaimMs', 'failureDetection.meanExpiryLagMs',
])
/** Paths of the nulls in `value`, and of the numbers that are not finite. */
function walk (value: unknown, path: string, out: { nulls: string[], notFinite: string[] }) {
  if (value === null) out.nulls.push(path)
  else if (typeof value === 'number' && !Number.isFinite(value)) out.notFinite.push(path)
  else if (typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, path === '' ? k : `${path}.${k}`, out)
  return out
}

/** computeMetrics, asserting what must hold for every answer: schema-valid, finite, nulls only where documented, JSON-stable. */
function metrics (t: Test, h: MetricsHistory): ProjectMetrics {
  const out = computeMetrics(h)
  t.ok(schema.Check(out), `matches the schema: ${JSON.stringify([...schema.Errors(out)].slice(0, 3))}`)
  const { nulls, notFinite } = walk(out, '', { nulls: [], notFinite: [] })
  t.same(notFinite, [], 'no NaN or Infinity')
  t.same(nulls.filter((p) => !NULLABLE.has(p)), [], 'null only where the schema allows it')
  t.same(JSON.parse(JSON.stringify(out)), out, 'survives JSON unchanged')
  return out
}

// The scripted project, times in ms after T0, now = 120 s:
//   t1 a: 0–10 s completed (score 5); reviewed accept. A released claim by c at −5 s (c never got it).
//   t2 b: granted 1 s, heartbeat 5 s (expires 65 s), expired at 66 s; a released claim by c at 68 s; a re-claims at 70 s,
//         b's late report refused (LEASE_SUPERSEDED), two CHECKS_FAILED refusals (one with score 1), completed at 90 s (score 3).
//   t3 a: 12–20 s blocked; engineer answer 25 s; 26–40 s completed (score 2); review changes; 42–50 s completed (score 4); accept.
//   t4 b: 72–80 s failed (retried); a: claimed 95 s, still live at now.
//   t5 canceled, never claimed. t6 (leaseMs 10 s, one attempt) b: granted 81 s, expired at 91.5 s, dead-lettered.
const scripted: MetricsHistory = {
  project: 'docs',
  now: T0 + 120_000,
  tasks: [task('t1', 'completed', 10_000), task('t2', 'completed', 90_000), task('t3', 'completed', 51_000), task('t4', 'working'),
    task('t5', 'canceled', 30_000), task('t6', 'failed', 91_500, 10_000)],
  leases: [
    lease('t4', 'a', 2, 95_000, 155_000, null, null),
    lease('t2', 'a', 2, 70_000, 130_000, 90_000, 'completed'),
    lease('t2', 'c', 2, 68_000, 128_000, 68_100, 'released'),
    lease('t2', 'b', 1, 1_000, 65_000, 66_000, 'expired'),
    lease('t1', 'c', 1, -5_000, 55_000, -4_900, 'released'),
    lease('t1', 'a', 1, 0, 60_000, 10_000, 'completed'),
    lease('t3', 'a', 1, 12_000, 72_000, 20_000, 'blocked'),
    lease('t3', 'a', 2, 26_000, 86_000, 40_000, 'completed'),
    lease('t3', 'a', 3, 42_000, 102_000, 50_000, 'completed'),
    lease('t4', 'b', 1, 72_000, 132_000, 80_000, 'failed'),
    lease('t6', 'b', 1, 81_000, 91_000, 91_500, 'expired'),
  ],
  reports: [
    report('t1', 'a', 'completed', 10_000, 5),
    report('t3', 'a', 'blocked', 20_000),
    report('t3', 'a', 'completed', 40_000, 2),
    report('t3', 'a', 'completed', 50_000, 4),
    report('t2', 'b', 'completed', 75_000, 5, 'LEASE_SUPERSEDED'),
    report('t2', 'a', 'completed', 80_000, 1, 'CHECKS_FAILED'),
    report('t4', 'b', 'failed', 80_000),
    report('t2', 'a', 'completed', 85_000, null, 'CHECKS_FAILED'),
    report('t2', 'a', 'completed', 90_000, 3),
  ],
  notes: [
    note('t3', 'answer', 25_000), note('t3', 'review', 41_000, 'changes'), note('t3', 'review', 51_000, 'accept'), note('t1', 'review', 11_000, 'accept'),
  ],
}

t.test('a scripted project: every number as worked out by hand', async (t) => {
  const out = metrics(t, scripted)
  t.same(out, {
    project: 'docs',
    computedAt: at(120_000),
    tasks: { total: 6, byState: { submitted: 0, working: 1, 'input-required': 0, 'review-required': 0, completed: 3, failed: 1, canceled: 1 } },
    interventions: 1,
    promptsPerTask: 1 / 5, // one answer over the five tasks that are not canceled
    automationRate: 2 / 5, // t1 and t2 completed without help, of five
    completedWithoutHelp: 2,
    completedWithHelp: 1,
    // t3's superseded score 2, and the refused scores 5 and 1, are left out.
    contextScore: { reports: 3, mean: 4, min: 3, max: 5, distribution: { 1: 0, 2: 0, 3: 1, 4: 1, 5: 1 } },
    workers: [
      // a: 10 + 8 + 14 + 8 + 20 + 25 (live to now) = 85 s busy over 0–120 s; tasks t1, t3 (twice), t2 completed.
      { worker: 'a', tasksCompleted: 3, tasksFailed: 0, leases: 6, busyMs: 85_000, idleMs: 35_000 },
      // b: 65 + 8 + 10.5 = 83.5 s busy over 1–91.5 s.
      { worker: 'b', tasksCompleted: 0, tasksFailed: 1, leases: 3, busyMs: 83_500, idleMs: 7_000 },
    ],
    time: { firstClaimAt: at(0), lastCompletionAt: at(90_000), wallMs: 90_000, workMs: 168_500, parallelSpeedup: 168_500 / 90_000 },
    failureDetection: {
      expired: 2,
      reassignments: 1, // t6 was never claimed again
      meanSilentToReofferMs: 35_750, // t2: 66 − (65 − 60) = 61 s; t6: 91.5 − (91 − 10) = 10.5 s
      maxSilentToReofferMs: 61_000,
      meanReofferToReclaimMs: 4_000, // t2: expired 66 s, a's claim 70 s (c's released claim at 68 s does not count)
      maxReofferToReclaimMs: 4_000,
      meanExpiryLagMs: 750, // 1 s and 0.5 s late
    },
    checks: { rejections: 2, tasksRejectedOnce: 1 },
    review: { accepted: 2, changesRequested: 1, roundTrips: 1, tasksReviewed: 2 },
    failedReports: 1,
    blockedReports: 1,
  })
})

t.test('the order of the stored rows does not change the answer', async (t) => {
  const reversed = { ...scripted, leases: [...scripted.leases].reverse(), reports: [...scripted.reports].reverse(), notes: [...scripted.notes].reverse() }
  t.same(metrics(t, reversed), computeMetrics(scripted))
})

t.test('an empty project: zeros and the documented nulls, no NaN', async (t) => {
  const out = metrics(t, empty())
  t.same(out, {
    project: 'p',
    computedAt: at(0),
    tasks: { total: 0, byState: { submitted: 0, working: 0, 'input-required': 0, 'review-required': 0, completed: 0, failed: 0, canceled: 0 } },
    interventions: 0,
    promptsPerTask: 0,
    automationRate: null,
    completedWithoutHelp: 0,
    completedWithHelp: 0,
    contextScore: { reports: 0, mean: null, min: null, max: null, distribution: { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 } },
    workers: [],
    time: { firstClaimAt: null, lastCompletionAt: null, wallMs: null, workMs: 0, parallelSpeedup: null },
    failureDetection: {
      expired: 0,
      reassignments: 0,
      meanSilentToReofferMs: null,
      maxSilentToReofferMs: null,
      meanReofferToReclaimMs: null,
      maxReofferToReclaimMs: null,
      meanExpiryLagMs: null,
    },
    checks: { rejections: 0, tasksRejectedOnce: 0 },
    review: { accepted: 0, changesRequested: 0, roundTrips: 0, tasksReviewed: 0 },
    failedReports: 0,
    blockedReports: 0,
  })
  const allCanceled = metrics(t, { ...empty(), tasks: [task('x', 'canceled', 5)], notes: [note('x', 'answer', 1)] })
  t.equal(allCanceled.promptsPerTask, 0, 'no task to divide by: 0 prompts per task, not Infinity')
  t.equal(allCanceled.automationRate, null, 'no task to divide by: no automation rate')
})

t.test('a live lease counts up to now, and keeps counting', async (t) => {
  const live = { ...empty(30_000), tasks: [task('x', 'working')], leases: [lease('x', 'w', 1, 0, 60_000, null, null)] }
  const first = metrics(t, live)
  t.same(first.workers, [{ worker: 'w', tasksCompleted: 0, tasksFailed: 0, leases: 1, busyMs: 30_000, idleMs: 0 }])
  t.same(first.time, { firstClaimAt: at(0), lastCompletionAt: null, wallMs: null, workMs: 30_000, parallelSpeedup: null })
  const later = metrics(t, { ...live, now: T0 + 45_000 })
  t.equal(later.workers[0]?.busyMs, 45_000)
  t.equal(later.time.workMs, 45_000)
})

t.test('released leases count for nothing: not a claim, not work, not a worker, not a re-claim', async (t) => {
  const out = metrics(t, {
    ...empty(100_000),
    tasks: [task('x', 'submitted')],
    leases: [lease('x', 'gone', 1, 10_000, 70_000, 10_050, 'released'), lease('x', 'gone', 1, 20_000, 80_000, 20_050, 'released')],
  })
  t.same(out.workers, [])
  t.same(out.time, { firstClaimAt: null, lastCompletionAt: null, wallMs: null, workMs: 0, parallelSpeedup: null })
  t.equal(out.failureDetection.expired, 0)
})

t.test('a worker holding two leases at once has no idle time, not negative idle time', async (t) => {
  const out = metrics(t, {
    ...empty(100_000),
    tasks: [task('x', 'completed', 50_000), task('y', 'completed', 60_000)],
    leases: [lease('x', 'w', 1, 0, 60_000, 50_000, 'completed'), lease('y', 'w', 1, 10_000, 70_000, 60_000, 'completed')],
    reports: [report('x', 'w', 'completed', 50_000), report('y', 'w', 'completed', 60_000)],
  })
  t.same(out.workers, [{ worker: 'w', tasksCompleted: 2, tasksFailed: 0, leases: 2, busyMs: 100_000, idleMs: 0 }])
  t.equal(out.time.parallelSpeedup, 100_000 / 60_000, 'two tasks in parallel: speedup above 1')
})

t.test('a state the list does not know (written by a newer version) is counted under its own key', async (t) => {
  const out = metrics(t, { ...empty(), tasks: [task('x', 'paused' as TaskState), task('y', 'completed', 1)] })
  t.same(out.tasks.byState, { submitted: 0, working: 0, 'input-required': 0, 'review-required': 0, completed: 1, failed: 0, canceled: 0, paused: 1 })
  t.equal(out.tasks.total, 2)
})

t.test('a task\'s score is that of its latest accepted completion, even when that one gave none', async (t) => {
  const out = metrics(t, {
    ...empty(),
    tasks: [task('x', 'completed', 20)],
    reports: [report('x', 'w', 'completed', 10, 2), report('x', 'w', 'completed', 20, null)],
  })
  t.equal(out.contextScore.reports, 0)
  t.equal(out.contextScore.mean, null)
})
