/** The durable event feed the coordinator long-polls. */
import { Type, type Static } from 'typebox'
import { ProjectName, Timestamp } from './common.js'

/** Every event type the server emits. */
export const EVENT_TYPES = [
  'task.created', 'task.claimed', 'task.completed', 'task.failed', 'task.requeued', 'task.input_required',
  'task.lease_expired', 'task.canceled', 'task.report_rejected',
  'task.ready', 'task.review_required', 'task.changes_requested', 'task.answered', 'task.escalated',
  'task.amended', 'task.reservation_lapsed', 'question.asked', 'question.answered', 'project.reopened',
  'worker.registered', 'worker.offline', 'worker.online',
  'project.closed', 'project.finished',
] as const
export type EventType = (typeof EVENT_TYPES)[number]

/** One event. `seq` is strictly increasing and never reused, so `after=seq` resumes a feed. */
export const Event = Type.Object({
  seq: Type.Integer({ minimum: 1 }),
  type: Type.Enum(EVENT_TYPES),
  at: Timestamp,
  project: Type.Union([Type.String(), Type.Null()]),
  taskId: Type.Union([Type.String(), Type.Null()]),
  worker: Type.Union([Type.String(), Type.Null()]),
  data: Type.Record(Type.String(), Type.Unknown()),
})
export type Event = Static<typeof Event>

/** `GET /events` answer. */
export const EventPage = Type.Object({
  events: Type.Array(Event),
  nextAfter: Type.Integer({ description: 'Pass as `after` in the next call; equals `after` when nothing new came.' }),
})
export type EventPage = Static<typeof EventPage>

/** `GET /events` query. `wait` in seconds. */
export const EventsQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'Last seq already seen (0 = from the start).' })),
  wait: Type.Optional(Type.Integer({
    minimum: 0, maximum: 3600, description: 'Seconds to wait when nothing is new; capped at the server maximum. Default 0.',
  })),
  project: Type.Optional(ProjectName),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
}, { additionalProperties: false })
export type EventsQuery = Static<typeof EventsQuery>
