/** Worker, project and status schemas: what the engineer and the coordinator read. */
import { Type, type Static } from 'typebox'
import { ProjectName, TaskId, Timestamp, WorkerId } from './common.js'

/** Worker states: `offline` after the configured silence (COORD_OFFLINE_SECONDS). */
export const WorkerState = Type.Union([Type.Literal('idle'), Type.Literal('working'), Type.Literal('offline')])

/** A worker as the API shows it. */
export const Worker = Type.Object({
  id: WorkerId,
  state: WorkerState,
  currentTask: Type.Union([TaskId, Type.Null()]),
  waiting: Type.Boolean({ description: 'true while the worker is inside a GET /tasks/next long poll.' }),
  firstSeenAt: Timestamp,
  lastSeenAt: Timestamp,
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
  workers: Type.Object({ idle: Type.Integer(), working: Type.Integer(), offline: Type.Integer(), waiting: Type.Integer() }),
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
