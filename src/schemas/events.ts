/**
 * The durable event feed the coordinator long-polls.
 *
 * On the wire an event is one of a discriminated union: `Event.<type>` (for each type) has `type` fixed
 * to that type and `data` referencing `EventData.<type>`, the payload schema the lifecycle builds it
 * with (src/lifecycle/events.ts). Both families are derived from that one map, so a new event type is
 * one line there: the type list, the components and the union follow.
 */
import { Type, type Static, type TSchema } from 'typebox'
import { EventData } from '../lifecycle/events.js'
import { ProjectFilter, Timestamp } from './common.js'

/** One of the event types the server emits (the keys of `EventData`). */
export type EventType = keyof typeof EventData
/** Every event type the server emits, in the order of `EventData`. */
export const EVENT_TYPES = Object.keys(EventData) as EventType[]

/** An event schema with `type` and `data` as given (fields in wire order). */
function eventObject<T extends TSchema, D extends TSchema> (type: T, data: D) {
  return Type.Object({
    seq: Type.Integer({ minimum: 1 }),
    type,
    at: Timestamp,
    project: Type.Union([Type.String(), Type.Null()]),
    taskId: Type.Union([Type.String(), Type.Null()]),
    worker: Type.Union([Type.String(), Type.Null()]),
    data,
  })
}

/**
 * One event as the code handles it: `data` is whatever its type's payload schema says. `seq` is
 * strictly increasing and never reused, so `after=seq` resumes a feed.
 */
const EventShape = eventObject(Type.Enum(EVENT_TYPES), Type.Record(Type.String(), Type.Unknown()))
export type Event = Static<typeof EventShape>

/** The component name of the event schema of `type` (`Event.task.created`). */
const eventRef = (type: EventType): string => `Event.${type}`

/**
 * The shared schemas to register with `app.addSchema` (components of the OpenAPI document): `Event`
 * (what responses are serialized with), and for every type `EventData.<type>` (the payload) and
 * `Event.<type>` (the event with that payload).
 */
export function eventSchemas (): Array<TSchema & { $id: string }> {
  const data = EVENT_TYPES.map((type) => ({
    ...EventData[type], $id: `EventData.${type}`, description: `\`data\` of a \`${type}\` event.`,
  }))
  const events = EVENT_TYPES.map((type) => ({
    ...eventObject(Type.Literal(type), Type.Ref(`EventData.${type}`)),
    $id: eventRef(type),
    description: `A \`${type}\` event.`,
  }))
  return [{ ...EventShape, $id: 'Event' }, ...data, ...events]
}

/**
 * The `Event` component of the OpenAPI document: a union discriminated by `type`, each member with its
 * own `data` schema, so a generated client types `data` by event type. Responses are serialized with
 * the plain shape instead (`data` any object): fast-json-stringify refuses a value that matches no
 * member, and an event stored by an older version must not make the feed fail.
 * @param componentRef the document's reference to a component, e.g. `#/components/schemas/<name>`
 */
export function eventUnion (componentRef: (name: string) => string): Record<string, unknown> {
  return {
    oneOf: EVENT_TYPES.map((type) => ({ $ref: componentRef(eventRef(type)) })),
    discriminator: { propertyName: 'type', mapping: Object.fromEntries(EVENT_TYPES.map((type) => [type, componentRef(eventRef(type))])) },
    description: 'One event; `type` says which, and so the shape of `data`.',
  }
}

/** One event (a reference to the shared `Event` schema). */
export const Event = Type.Unsafe<Event>(Type.Ref('Event'))

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
  project: Type.Optional(ProjectFilter),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
}, { additionalProperties: false })
export type EventsQuery = Static<typeof EventsQuery>
