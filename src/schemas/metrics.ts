/**
 * `GET /projects/{project}/metrics` answer: how one project went, computed from its stored history
 * (tasks, leases, reports, engineer answers, review decisions). Every duration is integer milliseconds;
 * a field is null only where it says so (no data to divide or compare), never NaN.
 */
import { Type, type Static } from 'typebox'
import { ProjectName, TASK_STATES, Timestamp, WorkerId } from './common.js'

/** A count of things, never negative. */
const Count = (description: string, example?: number) => Type.Integer({ minimum: 0, description, ...(example === undefined ? {} : { examples: [example] }) })
/** A sum of durations: integer milliseconds, never negative. */
const Ms = (description: string, example: number) => Type.Integer({ minimum: 0, description: `${description} Integer milliseconds.`, examples: [example] })
/** Integer milliseconds (rounded), or null when there is nothing to measure. */
const MsOrNull = (description: string, whenNull: string, example: number) =>
  Type.Union([Type.Integer(), Type.Null()], { description: `${description} Integer milliseconds (rounded); null ${whenNull}.`, examples: [example] })
/** A timestamp or null. */
const TimeOrNull = (description: string) => Type.Union([Timestamp, Type.Null()], { description })

const released = 'Released leases (claims given back because the worker had gone before receiving them) are ignored here and everywhere in these metrics.'

/** Task counts. */
export const TaskCounts = Type.Object({
  total: Count('Tasks in the project, in every state.', 12),
  byState: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), {
    description: `Tasks per state. Always has a key for each of ${TASK_STATES.join(', ')} (0 when none), plus any other state found in the store.`,
    examples: [{ submitted: 0, working: 1, 'input-required': 0, completed: 10, failed: 1, canceled: 0 }],
  }),
}, { description: 'How many tasks the project has, by state.' })

/** Context scores of the final reports. */
export const ContextScoreStats = Type.Object({
  reports: Count('Tasks counted: those whose latest accepted `completed` report carries a contextScore ' +
    '(a refused report, or a completion superseded by a later one, does not count).', 9),
  mean: Type.Union([Type.Number(), Type.Null()], {
    description: 'Arithmetic mean of those scores (1..5, unrounded); null when `reports` is 0.', examples: [4.2],
  }),
  min: Type.Union([Type.Integer(), Type.Null()], { description: 'Lowest of those scores; null when `reports` is 0.', examples: [3] }),
  max: Type.Union([Type.Integer(), Type.Null()], { description: 'Highest of those scores; null when `reports` is 0.', examples: [5] }),
  distribution: Type.Object({
    1: Count('Tasks scored 1 (had to search a lot).'),
    2: Count('Tasks scored 2.'),
    3: Count('Tasks scored 3.'),
    4: Count('Tasks scored 4.'),
    5: Count('Tasks scored 5 (everything needed was given).'),
  }, { description: 'How many of those tasks gave each score; the five counts add up to `reports`.' }),
}, { description: 'How well the task context sufficed, as the workers scored it (1 = had to search a lot, 5 = everything needed was given).' })

/** One worker's share of the project. */
export const WorkerMetrics = Type.Object({
  worker: WorkerId,
  tasksCompleted: Count('Distinct tasks of this project for which this worker made an accepted `completed` report.', 5),
  tasksFailed: Count('Distinct tasks of this project for which this worker made an accepted `failed` report (expired leases are not reports).', 0),
  leases: Count(`Leases this worker was granted on the project's tasks, whatever their end. ${released}`, 6),
  busyMs: Ms('Sum over the worker\'s leases of (end, or now while live) − grantedAt.', 840_000),
  idleMs: Ms('Every wait counts, the one before its first task included: from the worker\'s first request (or, if later, the end of its ' +
    'last lease in another project) to the latest end of its leases here — or, if later, its last request before the project finished ' +
    '(now while it still waits) — minus busyMs; 0 when its leases overlap.', 60_000),
}, { description: 'One worker\'s share of the project.' })

/** Wall-clock time and parallelism. */
export const TimeMetrics = Type.Object({
  firstClaimAt: TimeOrNull(`When the project's first lease was granted; null before any claim. ${released}`),
  lastCompletionAt: TimeOrNull('When the most recently completed task (state completed) finished; null while none is completed.'),
  wallMs: Type.Union([Type.Integer(), Type.Null()], {
    description: 'lastCompletionAt − firstClaimAt in integer milliseconds; null when either is null.', examples: [1_800_000],
  }),
  workMs: Ms('Sum of the durations ((end, or now while live) − grantedAt) of all the project\'s leases, i.e. the workers\' busyMs added up. ' +
    released, 5_400_000),
  parallelSpeedup: Type.Union([Type.Number(), Type.Null()], {
    description: 'workMs ÷ wallMs (unrounded): how many workers were busy on average between the first claim and the last completion. ' +
      'While leases are still live it also counts their work after the last completion. Null when wallMs is null or not positive.',
    examples: [3],
  }),
}, { description: 'Wall-clock time against time spent in leases.' })

/** How fast a silent worker was noticed and its task handed on. */
export const FailureDetection = Type.Object({
  expired: Count('Leases that ended because no report or heartbeat came before their deadline.', 1),
  reassignments: Count('Expired leases after which the same task was leased again (to any worker).', 1),
  meanSilentToReofferMs: MsOrNull('Mean over expired leases of endedAt − (expiresAt − the task\'s leaseMs): from the worker\'s last sign of life ' +
    '(the grant or its last heartbeat) to the moment the task was offered again.', 'when no lease expired', 61_000),
  maxSilentToReofferMs: MsOrNull('Largest of those silent-to-reoffer times.', 'when no lease expired', 61_000),
  meanReofferToReclaimMs: MsOrNull('Mean over reassigned expired leases of (next lease\'s grantedAt − endedAt): how long the task waited for a new worker.',
    'when no expired lease was followed by another', 4_000),
  maxReofferToReclaimMs: MsOrNull('Largest of those reoffer-to-reclaim times.', 'when no expired lease was followed by another', 4_000),
  meanExpiryLagMs: MsOrNull('Mean over expired leases of endedAt − expiresAt: how late the expiry timer noticed the deadline.', 'when no lease expired', 5),
}, { description: 'Detection of silent workers: how long a dead lease held its task, and how soon another worker took it.' })

/** Checks refusing reports. */
export const CheckMetrics = Type.Object({
  rejections: Count('Reports refused with CHECKS_FAILED (a `completed` report whose acceptance checks failed).', 2),
  tasksRejectedOnce: Count('Distinct tasks with at least one such refusal.', 1),
}, { description: 'How often acceptance checks sent work back.' })

/** Coordinator reviews. */
export const ReviewMetrics = Type.Object({
  accepted: Count('Review decisions `accept` by the coordinator.', 10),
  changesRequested: Count('Review decisions `changes` (work sent back to be redone).', 2),
  roundTrips: Count('Review round trips: equal to changesRequested (each request for changes is one more pass).', 2),
  tasksReviewed: Count('Distinct tasks with at least one review decision.', 10),
}, { description: 'The coordinator\'s reviews of work whose checks passed.' })

/** `GET /projects/{project}/metrics` answer. */
export const ProjectMetrics = Type.Object({
  project: ProjectName,
  computedAt: { ...Timestamp, description: 'The server time these metrics were computed at; live leases count up to it.' },
  tasks: TaskCounts,
  interventions: Count('Engineer answers given to the project\'s tasks (every answer counts, also several to one task).', 1),
  promptsPerTask: Type.Number({
    minimum: 0,
    description: 'Engineer prompts per task: interventions ÷ tasks that are not canceled (unrounded); 0 when every task is canceled or there is none.',
    examples: [0.1],
  }),
  automationRate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
    description: 'completedWithoutHelp ÷ tasks that are not canceled (0..1, unrounded); null when every task is canceled or there is none.',
    examples: [0.9],
  }),
  completedWithoutHelp: Count('Tasks in state completed that never received an engineer answer.', 9),
  completedWithHelp: Count('Tasks in state completed that received at least one engineer answer.', 1),
  contextScore: ContextScoreStats,
  workers: Type.Array(WorkerMetrics, {
    description: 'One entry per worker that held a lease or made an accepted report on this project, sorted by worker id.',
  }),
  time: TimeMetrics,
  failureDetection: FailureDetection,
  checks: CheckMetrics,
  review: ReviewMetrics,
  failedReports: Count('Accepted reports with status failed (a task retried after failing counts each time).', 1),
  blockedReports: Count('Accepted reports with status blocked (a worker asked the engineer a question).', 1),
}, { description: 'How a project went: progress, engineer help, context quality, workers, time, failure detection, checks and reviews.' })
export type ProjectMetrics = Static<typeof ProjectMetrics>
