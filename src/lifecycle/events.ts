/**
 * Every event the lifecycle emits, with one payload schema per type. The builders below are the only
 * place an event's `data` is shaped, so every store records the same events; the schemas are
 * registered with the app (`EventData.<type>` components in the OpenAPI document) and the contract
 * tests validate stored events against them.
 *
 * Timestamps inside payloads are ISO 8601 strings; builder arguments are epoch ms.
 */
import { Type, type Static, type TObject } from 'typebox'
import type { EventType } from '../schemas/events.js'
import type { EventDraft } from '../store/store.js'

const Iso = Type.String({ format: 'date-time' })
const Count = Type.Integer({ minimum: 0 })

/** `data` of each event type; the keys are the event types (one line here adds a type everywhere). */
export const EventData = {
  'task.created': Type.Object({ type: Type.String(), priority: Type.Integer() }),
  'task.claimed': Type.Object({ leaseId: Type.String(), attempt: Type.Integer({ minimum: 1 }), expiresAt: Iso, revived: Type.Optional(Type.Boolean()) }),
  'task.completed': Type.Object({
    attempt: Type.Integer(),
    deliverables: Type.Array(Type.String()),
    contextScore: Type.Union([Type.Integer(), Type.Null()]),
    reviewed: Type.Optional(Type.Boolean()),
  }),
  'task.failed': Type.Object({
    attempt: Type.Integer(), final: Type.Boolean(), willRetry: Type.Boolean(), summary: Type.String(), retryAt: Type.Optional(Iso),
  }),
  'task.requeued': Type.Object({ reason: Type.String(), leaseId: Type.String() }),
  'task.input_required': Type.Object({ attempt: Type.Integer(), question: Type.String() }),
  'task.lease_expired': Type.Object({ leaseId: Type.String(), attempt: Type.Integer(), expiredAt: Iso, requeued: Type.Boolean() }),
  'task.canceled': Type.Object({ previousState: Type.String(), reason: Type.Union([Type.String(), Type.Null()]), dependency: Type.Optional(Type.String()) }),
  'task.report_rejected': Type.Object({
    code: Type.String(), status: Type.String(), leaseId: Type.String(), failed: Type.Optional(Type.Array(Type.String())), rejections: Type.Optional(Count),
  }),
  'task.ready': Type.Object({ dependencies: Type.Array(Type.String()) }),
  'task.review_required': Type.Object({ attempt: Type.Integer(), deliverables: Type.Array(Type.String()) }),
  'task.changes_requested': Type.Object({
    feedback: Type.String(), by: Type.Union([Type.String(), Type.Null()]), reservedFor: Type.Union([Type.String(), Type.Null()]),
  }),
  'task.answered': Type.Object({
    by: Type.Union([Type.String(), Type.Null()]),
    previousState: Type.String(),
    requeued: Type.Boolean(),
    reservedFor: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    question: Type.Optional(Type.String()),
    answer: Type.Optional(Type.String()),
  }),
  'task.amended': Type.Object({ fields: Type.Array(Type.String()), by: Type.Union([Type.String(), Type.Null()]), state: Type.String() }),
  'task.reservation_lapsed': Type.Object({ asker: Type.String(), claimedBy: Type.String(), reason: Type.String() }),
  'question.asked': Type.Object({ questionId: Type.String(), message: Type.String(), by: Type.Union([Type.String(), Type.Null()]) }),
  'question.answered': Type.Object({
    questionId: Type.String(), question: Type.String(), answer: Type.String(), by: Type.Union([Type.String(), Type.Null()]),
  }),
  'project.reopened': Type.Object({ reason: Type.String(), taskId: Type.String() }),
  'task.escalated': Type.Object({ kind: Type.String(), message: Type.String() }),
  'worker.registered': Type.Object({}),
  'worker.offline': Type.Object({ lastSeenAt: Iso }),
  'worker.online': Type.Object({ offlineSince: Iso }),
  'project.closed': Type.Object({}),
  'project.finished': Type.Object({ counts: Type.Record(Type.String(), Count) }),
} satisfies Record<string, TObject>

/** The payload type of event type `K`. */
export type EventDataOf<K extends EventType> = Static<(typeof EventData)[K]>

/** Where an event belongs: its project, task and worker (each may be null). */
export interface EventSubject {
  project?: string | null
  taskId?: string | null
  worker?: string | null
}

/** An event of type `type` with a payload checked against its schema at compile time. */
export function event<K extends EventType> (type: K, at: number, subject: EventSubject, data: EventDataOf<K>): EventDraft {
  return { type, at, project: subject.project ?? null, taskId: subject.taskId ?? null, worker: subject.worker ?? null, data: data as Record<string, unknown> }
}

/** Epoch ms to ISO 8601. */
export const iso = (ms: number): string => new Date(ms).toISOString()
