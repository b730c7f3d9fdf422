/** Worker, project and status schemas: what the engineer and the coordinator read. */
import { Type, type Static } from 'typebox'
import { ProjectName, TaskId, Timestamp, WorkerId } from './common.js'

/**
 * Worker states, defined once in `presenceState` (src/lifecycle/presence.ts): `working` holds a live
 * lease (however long since its last request), `waiting` is inside a long poll, `idle` neither but
 * seen within COORD_OFFLINE_SECONDS, `offline` neither and silent that long.
 */
export const WorkerState = Type.Union([Type.Literal('idle'), Type.Literal('waiting'), Type.Literal('working'), Type.Literal('offline')], {
  description: 'working = holds a live lease (never offline while it lives, however long since its last request); waiting = inside a long poll; ' +
    'idle = neither, seen within COORD_OFFLINE_SECONDS; offline = neither, silent that long (worker.offline was emitted).',
})

/** A worker as the API shows it. */
export const Worker = Type.Object({
  id: WorkerId,
  state: WorkerState,
  currentTask: Type.Union([TaskId, Type.Null()]),
  waiting: Type.Boolean({ description: 'true while the worker is inside a GET /tasks/next long poll (state waiting).' }),
  firstSeenAt: Timestamp,
  lastSeenAt: Timestamp,
  leaseExpiresAt: Type.Union([Timestamp, Type.Null()], {
    description: 'When the lease on currentTask lapses unless the worker heartbeats or reports; null without one.',
  }),
  leaseSecondsLeft: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description: 'Seconds until leaseExpiresAt (0 once past it: the lease is being expired); null without a lease.',
  }),
  lostTask: Type.Union([TaskId, Type.Null()], {
    description: 'The task this worker lost since its last request: its lease lapsed without a heartbeat and the task was re-offered. ' +
      'null otherwise (kept in memory: a restart forgets it; the worker.offline event names it too).',
  }),
  tasksCompleted: Type.Integer(),
  tasksFailed: Type.Integer(),
})
export type Worker = Static<typeof Worker>

const StateCounts = Type.Object({
  submitted: Type.Integer(),
  working: Type.Integer(),
  'input-required': Type.Integer(),
  'review-required': Type.Integer(),
  completed: Type.Integer(),
  failed: Type.Integer(),
  canceled: Type.Integer(),
})

/** One project's progress. */
export const ProjectSummary = Type.Object({
  name: ProjectName,
  closed: Type.Boolean({ description: 'The coordinator said no more tasks are coming.' }),
  done: Type.Boolean({ description: 'Closed and every task is completed, failed or canceled.' }),
  counts: StateCounts,
  total: Type.Integer(),
  createdAt: Timestamp,
  closedAt: Type.Union([Timestamp, Type.Null()]),
  finishedAt: Type.Union([Timestamp, Type.Null()]),
})
export type ProjectSummary = Static<typeof ProjectSummary>

/** `GET /status` answer. */
export const Status = Type.Object({
  project: Type.Union([ProjectName, Type.Null()], { description: 'The project asked for, or null for all projects.' }),
  counts: StateCounts,
  total: Type.Integer(),
  queued: Type.Integer({ description: 'Tasks waiting for a worker (state submitted).' }),
  activeLeases: Type.Integer(),
  workers: Type.Object({ idle: Type.Integer(), working: Type.Integer(), offline: Type.Integer(), waiting: Type.Integer() }, {
    description: 'Workers by state (see Worker.state); each worker counts once.',
  }),
  held: Type.Array(Type.Object({
    taskId: TaskId,
    project: ProjectName,
    kind: Type.String({ description: 'dependencies, files, backoff or reserved (see Hold).' }),
    message: Type.String(),
  }), { description: 'Submitted tasks not offered now, and why (at most 100).' }),
  closed: Type.Boolean(),
  done: Type.Boolean({ description: 'For one project: closed and all tasks finished. For all: every project done (and at least one exists).' }),
  projects: Type.Array(ProjectSummary),
})
export type Status = Static<typeof Status>
