/** Task, lease and report schemas: what the coordinator posts and what workers receive and send. */
import { Type, type Static } from 'typebox'
import { described, ID_PATTERN, LeaseId, NewTaskId, PageQuery, ProjectFilter, ProjectName, TaskId, TaskState, Timestamp, WorkerId } from './common.js'
import { Event } from './events.js'
import { Check, CheckResult } from './checks.js'

const Paths = Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 1000 })

/** Files a task reads and writes, relative to the project root. */
export const TaskFiles = Type.Object({
  read: Type.Optional(Paths),
  write: Type.Optional(described(Paths, 'Paths and globs (`*`, `?`, `**`; `dir/` = everything in dir) the task writes. Two tasks whose writes ' +
    'overlap are never leased at the same time: the later one is held until the other is no longer working.')),
}, { additionalProperties: false, description: 'Files the task reads and writes, relative to the workspace root.' })

/** One task as the coordinator posts it. */
export const TaskInput = Type.Object({
  id: Type.Optional(NewTaskId),
  type: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$',
    description: 'Kind of work, for workers that only take some kinds. Default `task`.',
    examples: ['summarize'],
  })),
  description: Type.String({ minLength: 1, maxLength: 20000, description: 'What to do, in words a worker chat can act on.' }),
  context: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Free JSON the worker needs: target files, notes, links.' })),
  acceptance: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), {
    maxItems: 100, description: 'Free-text acceptance criteria, shown to the worker and NOT machine-checked (put what the server should check in `checks`).',
  })),
  files: Type.Optional(TaskFiles),
  priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000, description: 'Higher is handed out first; ties go in posting order. Default 0.' })),
  leaseSeconds: Type.Optional(Type.Integer({
    minimum: 1, maximum: 86400, description: 'Lease (visibility timeout) in seconds for this task; default from server config.',
  })),
  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Claims allowed before the task is dead-lettered as failed. Default 3.' })),
  dependsOn: Type.Optional(Type.Array(TaskId, {
    maxItems: 100,
    uniqueItems: true,
    description: 'Ids of tasks of the same project (this batch or earlier ones) that must be completed before this task is offered. ' +
      'Their results come with the claim (`dependencies`). If one ends failed or canceled, this task is canceled too (reason in `attention`).',
  })),
  checks: Type.Optional(Type.Array(Check, {
    maxItems: 50,
    description: 'Machine checks run by the server when the worker reports completed; a failing one answers 422 and keeps the lease with the worker.',
  })),
  review: Type.Optional(Type.Boolean({
    description: 'true = after its checks pass, the task waits in review-required for POST /tasks/{id}/review. Default: the batch\'s `review`.',
  })),
}, { additionalProperties: false })
export type TaskInput = Static<typeof TaskInput>

/** `POST /tasks` body. */
export const CreateTasksBody = Type.Object({
  project: Type.Optional(ProjectName),
  tasks: Type.Array(TaskInput, { minItems: 1, maxItems: 1000 }),
  close: Type.Optional(Type.Boolean({
    description: 'true = this is the last batch: no more tasks are coming for the project. Workers get 410 once every task is finished.',
  })),
  workspace: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 4096,
    description: 'Absolute path of the folder the tasks work in: checks read files there, and `files` paths are relative to it. ' +
      'Must be inside one of the server\'s COORD_WORKSPACE_ROOTS (default: the folder the server was started in).',
    examples: ['/home/me/project'],
  })),
  review: Type.Optional(Type.Boolean({ description: 'Default `review` for the batch\'s tasks. Default false.' })),
}, {
  additionalProperties: false,
  examples: [{
    project: 'swagger-try',
    tasks: [{
      id: 'try-summary',
      type: 'summarize',
      description: 'Summarize README.md in 150 words.',
      context: { file: 'README.md' },
      acceptance: ['100-200 words', 'only sentences from the file'],
      files: { read: ['README.md'], write: ['out/README.summary.md'] },
    }, {
      id: 'try-merge',
      description: 'Merge the summaries into out/all.md.',
      dependsOn: ['try-summary'],
      files: { write: ['out/all.md'] },
    }],
    close: false,
  }, {
    project: 'swagger-checked',
    workspace: '/home/me/docs',
    review: true,
    tasks: [{
      id: 'try-checked-summary',
      description: 'Summarize README.md into out/summary.md (150-250 words, a "Sources" heading).',
      files: { read: ['README.md'], write: ['out/summary.md'] },
      checks: [
        { kind: 'word-count', path: 'out/summary.md', min: 150, max: 250 },
        { kind: 'headings', path: 'out/summary.md', headings: ['Sources'] },
        { kind: 'deliverables' },
      ],
    }],
  }],
})
export type CreateTasksBody = Static<typeof CreateTasksBody>

/** Two tasks of a batch whose declared writes overlap: they will not be leased at the same time. */
export const WriteOverlap = Type.Object({
  tasks: Type.Array(TaskId, { minItems: 2, maxItems: 2 }),
  patterns: Type.Array(Type.String(), { minItems: 2, maxItems: 2, description: 'The overlapping `files.write` entries, in the order of `tasks`.' }),
  ordered: Type.Boolean({ description: 'true = dependsOn orders the two tasks, so they never run at once anyway.' }),
})
export type WriteOverlap = Static<typeof WriteOverlap>

/** `POST /tasks` answer: which ids were created, which already existed identically. */
export const CreateTasksResult = Type.Object({
  project: ProjectName,
  created: Type.Array(TaskId),
  existing: Type.Array(TaskId),
  closed: Type.Boolean({ description: 'Whether the project is closed (no more tasks coming).' }),
  overlaps: Type.Array(WriteOverlap, {
    description: 'Pairs of this batch\'s tasks whose declared writes overlap (the later one is held while the other works).',
  }),
})
export type CreateTasksResult = Static<typeof CreateTasksResult>

/** A lease: who holds a task, until when. */
export const Lease = Type.Object({
  leaseId: LeaseId,
  taskId: TaskId,
  worker: WorkerId,
  attempt: Type.Integer({ minimum: 1, description: 'Which claim of this task this is (1 = first).' }),
  grantedAt: Timestamp,
  expiresAt: Timestamp,
  leaseSeconds: Type.Integer({ description: 'Lease length in seconds; each heartbeat extends the lease by this much from now.' }),
})
export type Lease = Static<typeof Lease>

/** The last accepted report of a task. */
export const TaskResult = Type.Object({
  status: Type.Union([Type.Literal('completed'), Type.Literal('failed'), Type.Literal('blocked')]),
  summary: Type.String(),
  deliverables: Type.Array(Type.String()),
  contextScore: Type.Union([Type.Integer(), Type.Null()]),
  worker: WorkerId,
  attempt: Type.Integer(),
  reportedAt: Timestamp,
  question: Type.Optional(Type.String()),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  checks: Type.Optional(Type.Array(CheckResult, { description: 'The checks this report passed.' })),
})
export type TaskResult = Static<typeof TaskResult>

/** A note appended to a task: an engineer's answer or the coordinator's review feedback. */
export const TaskNote = Type.Object({
  kind: Type.Union([Type.Literal('answer'), Type.Literal('review')]),
  message: Type.String(),
  by: Type.Union([Type.String(), Type.Null()]),
  at: Timestamp,
  decision: Type.Optional(Type.Union([Type.Literal('accept'), Type.Literal('changes')])),
  question: Type.Optional(Type.String({ description: 'For an answer: what it answers.' })),
  worker: Type.Optional(Type.Union([WorkerId, Type.Null()], { description: 'For an answer: the worker that asked.' })),
  reservedUntil: Type.Optional(Type.Union([Timestamp, Type.Null()], {
    description: 'For an answer: until when the task was offered only to the worker that asked (null: it was busy on another task).',
  })),
})
export type TaskNote = Static<typeof TaskNote>

/** Something a worker should know that happened to it while it was away, e.g. where its answered question went. */
export const Notice = Type.Object({
  taskId: TaskId,
  message: Type.String({ examples: ['Your question on task-7 was answered, but the task went to worker-b: you were working on task-9.'] }),
  at: Timestamp,
})
export type Notice = Static<typeof Notice>

/** Why a task needs someone (input-required), or why it was canceled with its dependency. */
export const Attention = Type.Object({
  kind: Type.Union([Type.Literal('question'), Type.Literal('checks'), Type.Literal('conflict'), Type.Literal('dependency')]),
  message: Type.String({ description: 'What happened, in words.' }),
  at: Timestamp,
  worker: Type.Union([WorkerId, Type.Null()]),
  dependency: Type.Optional(TaskId),
}, {
  description: 'question = a worker reported blocked; checks = checks failed too often; conflict = its deliverables collide with ' +
  'another working task\'s declared writes; dependency = canceled because a dependency ended failed or canceled.'
})
export type Attention = Static<typeof Attention>

/** Why a submitted task is not offered now. */
export const Hold = Type.Object({
  kind: Type.Union([Type.Literal('dependencies'), Type.Literal('files'), Type.Literal('backoff'), Type.Literal('reserved')]),
  message: Type.String({ examples: ['waiting for try-summary (working)'] }),
  tasks: Type.Optional(Type.Array(TaskId, { description: 'The dependencies still open, or the working tasks whose writes overlap.' })),
  until: Type.Optional(Timestamp),
}, {
  description: 'dependencies = a dependency is not completed yet; files = a working task writes overlapping files; backoff = retry after a ' +
  'failed attempt; reserved = offered first to the worker that did it (after a review or an answer).'
})
export type Hold = Static<typeof Hold>

/** A task as the API shows it. */
export const Task = Type.Object({
  id: TaskId,
  project: ProjectName,
  type: Type.String(),
  description: Type.String(),
  context: Type.Record(Type.String(), Type.Unknown()),
  acceptance: Type.Array(Type.String(), { description: 'Free-text criteria for the worker to meet; not machine-checked (see `checks`).' }),
  files: Type.Object({ read: Type.Array(Type.String()), write: Type.Array(Type.String()) }),
  priority: Type.Integer(),
  leaseSeconds: Type.Integer(),
  maxAttempts: Type.Integer(),
  state: TaskState,
  attempts: Type.Integer({ description: 'Claims so far.' }),
  worker: Type.Union([WorkerId, Type.Null()], { description: 'Holder of the live lease, if any.' }),
  leaseExpiresAt: Type.Union([Timestamp, Type.Null()]),
  result: Type.Union([TaskResult, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  finishedAt: Type.Union([Timestamp, Type.Null()]),
  dependsOn: Type.Array(TaskId),
  checks: Type.Array(Check, { description: 'Machine checks; `acceptance` criteria are shown to the worker but not machine-checked.' }),
  review: Type.Boolean({ description: 'Whether the task waits for the coordinator\'s review after its checks pass.' }),
  workspace: Type.Union([Type.String(), Type.Null()], { description: 'The folder the task works in (files and checks are relative to it).' }),
  notes: Type.Array(TaskNote, { description: 'Answers and review feedback, oldest first: read them before working.' }),
  attention: Type.Union([Attention, Type.Null()]),
  checkRejections: Type.Integer({ description: 'Completed reports refused by the checks so far.' }),
  availableAt: Type.Union([Timestamp, Type.Null()], { description: 'Not offered before this time (retry backoff or reservation).' }),
  reservedFor: Type.Union([WorkerId, Type.Null()], { description: 'Until availableAt, only this worker is offered the task.' }),
  hold: Type.Optional(Type.Union([Hold, Type.Null()], { description: 'Why a submitted task is not offered now (GET /tasks, GET /tasks/{id}).' })),
})
export type Task = Static<typeof Task>

/** A dependency's outcome, handed to the worker of a dependent task with its claim. */
export const DependencyResult = Type.Object({
  id: TaskId,
  description: Type.String(),
  summary: Type.String(),
  deliverables: Type.Array(Type.String()),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  worker: Type.Union([WorkerId, Type.Null()]),
})
export type DependencyResult = Static<typeof DependencyResult>

/** A task handed to a worker together with its lease. */
export const Assignment = Type.Object({
  task: Task,
  lease: Lease,
  resumed: Type.Boolean({ description: 'true = you already held this lease (e.g. after a restart); carry on with the same leaseId.' }),
  dependencies: Type.Array(DependencyResult, { description: 'Results of the tasks this one depends on: what came before you.' }),
  answered: Type.Boolean({
    description: 'true = the engineer answered a question on this task since it was last worked on: read `answer` first; it overrides the ' +
      'description where they differ (e.g. a description that says to ask first).',
  }),
  answer: Type.Optional(described(TaskNote, 'With `answered`: the latest answer (also the last of `task.notes`).')),
  notices: Type.Optional(Type.Array(Notice, { description: 'What happened to you meanwhile, e.g. where a task you asked about went.' })),
  note: Type.Optional(Type.String({
    description: 'Set when you got back a task you still hold that the poll\'s `project` / `type` filter does not match: a worker holds one ' +
      'task at a time, so finish or report it first; the filter was not applied.',
    examples: ['You still hold task t1 in project A (lease until 2026-12-08T01:00:00.000Z); finish or report it first — ' +
      'this poll\'s project filter B was not applied.'],
  })),
})
export type Assignment = Static<typeof Assignment>

/** Report statuses a worker may send. `blocked` moves the task to `input-required`. */
export const ReportStatus = Type.Union([Type.Literal('completed'), Type.Literal('failed'), Type.Literal('blocked')])

/** `POST /tasks/{id}/report` body. */
export const ReportBody = Type.Object({
  worker: WorkerId,
  leaseId: LeaseId,
  status: ReportStatus,
  summary: Type.String({
    minLength: 1,
    maxLength: 20000,
    description: 'What was done (or why it failed / what is blocking) in 1–3 sentences: the line the coordinator reads in status, events, ' +
      'escalations and the claims of dependent tasks (`dependencies[].summary`). At most 20000 characters, but keep it short: put long ' +
      'findings (lists, tables, logs) in a file you list in `deliverables`, or in `details`.',
  }),
  deliverables: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), {
    maxItems: 1000, description: 'Paths of files produced or changed.',
  })),
  contextScore: Type.Optional(Type.Integer({
    minimum: 1, maximum: 5, description: 'How well the task context sufficed: 1 = had to search a lot, 5 = everything needed was given.',
  })),
  question: Type.Optional(Type.String({ minLength: 1, maxLength: 20000, description: 'With status blocked: what the engineer must answer.' })),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Free JSON: test output, numbers, notes.' })),
}, {
  additionalProperties: false,
  examples: [{
    worker: 'worker-a',
    leaseId: '3f0c1f0e-2a4b-4c47-9a53-0d0c8f8a1b2c',
    status: 'completed',
    summary: 'Wrote a 150-word summary.',
    deliverables: ['out/README.summary.md'],
    contextScore: 5,
  }],
})
export type ReportBody = Static<typeof ReportBody>

/** `POST /tasks/{id}/heartbeat` body. */
export const HeartbeatBody = Type.Object({
  worker: WorkerId,
  leaseId: LeaseId,
}, { additionalProperties: false, examples: [{ worker: 'worker-a', leaseId: '3f0c1f0e-2a4b-4c47-9a53-0d0c8f8a1b2c' }] })
export type HeartbeatBody = Static<typeof HeartbeatBody>

/** What a worker's poll produced; `GET /tasks/next` maps it to 200 / 204 / 410. */
export const NextOutcome = Type.Union([
  Type.Object({ status: Type.Literal('assigned'), assignment: Assignment }),
  Type.Object({ status: Type.Literal('empty'), message: Type.String() }),
  Type.Object({ status: Type.Literal('finished'), message: Type.String() }),
])
export type NextOutcome = Static<typeof NextOutcome>

/**
 * The task as a report's answer shows it: its new state and what the reporter decides on next, not a
 * copy of the description and acceptance it already has (`GET /tasks/{id}` has everything).
 */
export const ReportedTask = Type.Object({
  id: TaskId,
  project: ProjectName,
  state: TaskState,
  attempts: Type.Integer({ description: 'Claims so far.' }),
  maxAttempts: Type.Integer(),
  willRetry: Type.Boolean({ description: 'true = a failed attempt had attempts left: the task is queued again (or already re-claimed).' }),
  finishedAt: Type.Union([Timestamp, Type.Null()], { description: 'When the task reached completed / failed / canceled; null otherwise.' }),
}, { description: 'The reported task\'s new state (the full task is at GET /tasks/{id}).' })
export type ReportedTask = Static<typeof ReportedTask>

/** `POST /tasks/{id}/report` answer. */
export const ReportResult = Type.Object({
  accepted: Type.Boolean({ description: 'Always true on 200: the report changed (or had already changed) the task.' }),
  duplicate: Type.Boolean({ description: 'true = the same report had already been accepted (a safe retry).' }),
  task: ReportedTask,
  checks: Type.Optional(Type.Array(CheckResult, {
    description: 'The checks run on this report (all passed): each one\'s outcome, without command output (GET /tasks/{id} keeps it).',
  })),
  undeclared: Type.Optional(Type.Array(Type.String(), {
    description: 'Deliverables outside the task\'s declared `files.write`: tell the coordinator why, or declare them next time.',
  })),
  conflicts: Type.Optional(Type.Array(Type.Object({ file: Type.String(), task: TaskId, pattern: Type.String() }), {
    description: 'Deliverables declared by another working task: your report is kept, and the task waits for the engineer (input-required).',
  })),
  next: Type.Optional(NextOutcome),
  notices: Type.Optional(Type.Array(Notice, { description: 'What happened to you meanwhile, e.g. where a task you asked about went.' })),
})
export type ReportResult = Static<typeof ReportResult>

/** One lease in a task's history. */
export const LeaseRecord = Type.Object({
  leaseId: LeaseId,
  worker: WorkerId,
  attempt: Type.Integer(),
  grantedAt: Timestamp,
  expiresAt: Timestamp,
  endedAt: Type.Union([Timestamp, Type.Null()]),
  endReason: Type.Union([Type.String(), Type.Null()], { description: 'completed, failed, blocked, expired, canceled or released; null while live.' }),
})
export type LeaseRecord = Static<typeof LeaseRecord>

/** One report in a task's history, accepted or not. */
export const ReportRecord = Type.Object({
  leaseId: Type.String(),
  worker: Type.String(),
  attempt: Type.Union([Type.Integer(), Type.Null()]),
  status: Type.String(),
  summary: Type.String(),
  deliverables: Type.Array(Type.String()),
  contextScore: Type.Union([Type.Integer(), Type.Null()]),
  question: Type.Optional(Type.String()),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  accepted: Type.Boolean(),
  rejection: Type.Union([Type.String(), Type.Null()], { description: 'Error code when the report was refused (e.g. LEASE_SUPERSEDED).' }),
  checks: Type.Optional(Type.Array(CheckResult, {
    description: 'Every check\'s result on a completed report (a CHECKS_FAILED refusal too), a command\'s with its last 4 KB of output.',
  })),
  reportedAt: Timestamp,
})
export type ReportRecord = Static<typeof ReportRecord>

/** Long-poll wait in seconds, as `GET /tasks/next` and report-and-next take it. */
const Wait = Type.Integer({
  minimum: 0, maximum: 3600, description: 'Seconds to wait for a task (long poll); capped at the server maximum (default 60).', examples: [60],
})

/** Which tasks a polling worker takes. */
const PollFilter = {
  project: Type.Optional(ProjectFilter),
  type: Type.Optional(Type.String({ maxLength: 64, description: 'Only take tasks of this type.' })),
}

/** `GET /tasks/next` query. */
export const NextQuery = Type.Object({ worker: WorkerId, wait: Type.Optional(Wait), ...PollFilter }, { additionalProperties: false })
export type NextQuery = Static<typeof NextQuery>

/** `POST /tasks/{id}/report` query: `next=true` also long-polls `wait` seconds for the next task. */
export const ReportQuery = Type.Object({
  next: Type.Optional(Type.Boolean({ description: 'Also long-poll for your next task.' })),
  wait: Type.Optional(Wait),
  ...PollFilter,
}, { additionalProperties: false })
export type ReportQuery = Static<typeof ReportQuery>

/** `GET /tasks` query: filters and a page (`after` is the previous page's `nextAfter`). */
export const ListTasksQuery = Type.Object({
  project: Type.Optional(ProjectFilter),
  state: Type.Optional(TaskState),
  // No example (WorkerId's would prefill the filter in Swagger UI and hide every other worker's tasks).
  worker: Type.Optional(Type.String({
    pattern: ID_PATTERN, description: 'Tasks whose latest lease went to this worker: the one it holds now and those it finished or failed last.',
  })),
  type: Type.Optional(Type.String({ maxLength: 64 })),
  ...PageQuery,
}, { additionalProperties: false })
export type ListTasksQuery = Static<typeof ListTasksQuery>

/** `GET /tasks` answer. */
export const TaskPage = Type.Object({
  tasks: Type.Array(Task),
  nextAfter: Type.Union([Type.Integer(), Type.Null()], { description: 'Cursor for the next page; null on the last page.' }),
})
export type TaskPage = Static<typeof TaskPage>

/** `GET /tasks/{id}` answer: the task with its full history. */
export const TaskDetail = Type.Object({
  task: Task,
  leases: Type.Array(LeaseRecord),
  reports: Type.Array(ReportRecord, { description: 'Every report, refused ones too.' }),
  events: Type.Array(Event),
})
export type TaskDetail = Static<typeof TaskDetail>
