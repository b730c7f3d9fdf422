/**
 * Property-based fuzzing of the HTTP edge (fast-check): arbitrary and near-valid-but-wrong bodies and
 * query strings for every route, sent through `inject`. The property: never a 5xx, every 4xx is JSON
 * `{ code, message }` with a code from `src/errors.ts`, and nothing changes state.
 *
 * So that a generated request that happens to be valid cannot change state either, every mutating
 * request targets something it cannot change: tasks go to project `p1`, which `prepareFuzzApp`
 * closes (409 PROJECT_CLOSED); heartbeats, reports and cancels go to task ids that do not exist
 * (404); long polls always carry an invalid `wait` (or `wait=0` for the event feed).
 * Used by test/fuzz.test.ts (a short run) and scripts/fuzz.ts (`npm run fuzz -- <runs>`).
 */
import fc from 'fast-check'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { errorCodes } from '../src/errors.js'

/** One generated request. `readOnly`: a 2xx is acceptable (it changes nothing). */
export interface FuzzRequest {
  method: 'GET' | 'POST'
  url: string
  payload?: string
  contentType?: string
  readOnly: boolean
}

/** Raw JSON numbers `JSON.parse` turns into ±Infinity. */
const NON_FINITE = ['1e400', '-1e400', '1E999', '9'.repeat(400), `-${'9'.repeat(400)}`]
/** Query-string numbers that are never a valid `wait` (0..3600 integer), also after coercion. */
const BAD_WAIT = ['Infinity', '-Infinity', '+Infinity', 'NaN', '1e400', '-1', '1.5', 'abc', '3601', '1e5', 'true', `9${'9'.repeat(30)}`]
/** Query-string values worth trying anywhere. */
const ODD_TEXT = [
  ...BAD_WAIT, '0', '', ' 1', '1 ', '0x10', '1e3', '-0', '9007199254740992', 'null', '[]', '%ff', '%', '+', 'a b', '\u0000', '😀', 'x'.repeat(5000),
]

/** A JSON value written as text, sometimes one `JSON.parse` accepts but the API must refuse. */
const rawValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NON_FINITE),
  fc.constantFrom('null', 'true', 'false', '[]', '{}', '""', '"Infinity"', '"NaN"', '"1"', '1.5', '-0', '0', '1001', '-1001', '86401', '"task-001"'),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.constant(JSON.stringify('x'.repeat(25_000))),
  fc.integer({ min: 60, max: 3000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 60, max: 3000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v))
)

const MARK = '\u0000FUZZ\u0000'
/** `base` as JSON with the value at `path` replaced by the raw text `raw` (added if absent). */
function withRaw (base: Record<string, unknown>, path: string[], raw: string): string {
  const copy = structuredClone(base)
  let node: Record<string, unknown> = copy
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>
  node[path[path.length - 1] as string] = MARK
  return JSON.stringify(copy).replace(JSON.stringify(MARK), raw)
}

/** A body for `base`: one field set to an arbitrary raw value, a repeated key, or arbitrary text. */
function bodyFor (base: Record<string, unknown>, fields: string[][]): fc.Arbitrary<string> {
  const keys = fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 12 }).map((k) => [k]))
  const first = Object.keys(base)[0] as string
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(keys, rawValue).map(([path, raw]) => withRaw(base, path, raw)) },
    { weight: 1, arbitrary: rawValue.map((raw) => JSON.stringify(base).replace(/^\{/, `{${JSON.stringify(first)}:${raw},`)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) }
  )
}

const contentType = fc.constantFrom(
  'application/json', 'application/json; charset=utf-8', 'application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded'
)

/** Path segments for task ids that do not exist, some malformed. */
const missingId = fc.oneof(
  fc.constant('nope'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map((s) => encodeURIComponent(`zz${s}`)),
  fc.constantFrom('%ff', '%zz', '%', 'a'.repeat(300), '..', '%2e%2e', 'x%00y')
)

/** A query string of arbitrary pairs, then `tail` (which must win or make it invalid). */
function query (keys: string[], tail: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const key = fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 10 }))
  const value = fc.oneof(fc.constantFrom(...ODD_TEXT), fc.string({ unit: 'binary', maxLength: 30 }), fc.integer().map(String))
  const enc = (s: string): string => (s.startsWith('%') || s === '+' ? s : encodeURIComponent(s))
  return fc.tuple(fc.array(fc.tuple(key, value), { maxLength: 5 }), tail)
    .map(([pairs, t]) => [...pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`), t].filter(Boolean).join('&'))
}

const badWait = fc.constantFrom(...BAD_WAIT).map((w) => `wait=${encodeURIComponent(w)}`)

const task = { id: 'fz-1', description: 'fuzz' }
const TASK_FIELDS = ['id', 'type', 'description', 'context', 'acceptance', 'files', 'priority', 'leaseSeconds', 'maxAttempts'].map((f) => ['tasks', '0', f])
const REPORT = { worker: 'w0', leaseId: 'l', status: 'completed', summary: 's' }
const REPORT_FIELDS = ['worker', 'leaseId', 'status', 'summary', 'deliverables', 'contextScore', 'question', 'details'].map((f) => [f])

/** Every route, as arbitraries of requests that must not change state. */
export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  fc.tuple(bodyFor({ project: 'pf', tasks: [task, { ...task, id: 'fz-2' }] }, [...TASK_FIELDS, ['tasks'], ['close'], ['tasks', '1', 'id']]), contentType)
    .map(([payload, ct]) => ({ method: 'POST' as const, url: '/tasks', payload, contentType: ct, readOnly: false })),
  fc.tuple(missingId, bodyFor({ worker: 'w0', leaseId: 'l' }, [['worker'], ['leaseId']]), contentType)
    .map(([id, payload, ct]) => ({ method: 'POST' as const, url: `/tasks/${id}/heartbeat`, payload, contentType: ct, readOnly: false })),
  fc.tuple(missingId, bodyFor(REPORT, REPORT_FIELDS), contentType, query(['next', 'wait', 'project', 'type'], badWait))
    .map(([id, payload, ct, q]) => ({ method: 'POST' as const, url: `/tasks/${id}/report?${q}`, payload, contentType: ct, readOnly: false })),
  fc.tuple(missingId, bodyFor({ reason: 'r' }, [['reason']]), contentType)
    .map(([id, payload, ct]) => ({ method: 'POST' as const, url: `/tasks/${id}/cancel`, payload, contentType: ct, readOnly: false })),
  fc.string({ unit: 'binary', maxLength: 30 })
    .map((s) => ({ method: 'POST' as const, url: `/projects/${encodeURIComponent(`-${s}`)}/close`, readOnly: false })),
  query(['worker', 'wait', 'project', 'type'], badWait).map((q) => ({ method: 'GET' as const, url: `/tasks/next?${q}`, readOnly: false })),
  query(['project', 'state', 'worker', 'type', 'limit', 'after'], fc.constant('')).map((q) => ({ method: 'GET' as const, url: `/tasks?${q}`, readOnly: true })),
  query(['after', 'wait', 'project', 'limit'], fc.constant('wait=0')).map((q) => ({ method: 'GET' as const, url: `/events?${q}`, readOnly: true })),
  query(['project'], fc.constant('')).map((q) => ({ method: 'GET' as const, url: `/status?${q}`, readOnly: true })),
  missingId.map((id) => ({ method: 'GET' as const, url: `/tasks/${id}`, readOnly: true }))
)

/**
 * Give the app the state the generated requests rely on: task t1 leased to w0 in closed project p1, and
 * project pf finished (closed, its one task completed), so that even a well-formed batch posted to it is
 * refused (409 PROJECT_CLOSED): a closed project that is not finished still takes follow-up tasks.
 */
export async function prepareFuzzApp (app: FastifyInstance): Promise<void> {
  const expect = async (what: string, res: Promise<{ statusCode: number, body: string }>, status: number): Promise<string> => {
    const r = await res
    if (r.statusCode !== status) throw new Error(`prepareFuzzApp: ${what} answered ${r.statusCode} ${r.body}`)
    return r.body
  }
  const batch = (project: string, id: string): unknown => ({ project, tasks: [{ id, description: `do ${id}` }], close: true })
  await expect('posting pf', app.inject({ method: 'POST', url: '/tasks', payload: batch('pf', 'f1') as object }), 201)
  const f1 = JSON.parse(await expect('claiming f1', app.inject('/tasks/next?worker=w9&wait=0&project=pf'), 200)) as { lease: { leaseId: string } }
  await expect('completing f1', app.inject({
    method: 'POST', url: '/tasks/f1/report', payload: { worker: 'w9', leaseId: f1.lease.leaseId, status: 'completed', summary: 'done' },
  }), 200)
  await expect('posting p1', app.inject({ method: 'POST', url: '/tasks', payload: batch('p1', 't1') as object }), 201)
  await expect('claiming t1', app.inject('/tasks/next?worker=w0&wait=0&project=p1'), 200)
}

/** Tasks, events and workers (their clocks blanked), as one comparable string. */
export async function snapshot (app: FastifyInstance): Promise<string> {
  return JSON.stringify([
    (await app.inject('/events?limit=1000')).json(),
    (await app.inject('/tasks?limit=500')).json(),
    // leaseSecondsLeft counts down while the run lasts: not a state change.
    (await app.inject('/workers')).json().workers.map((w: Record<string, unknown>) => ({ ...w, lastSeenAt: 0, state: 0, leaseSecondsLeft: 0 })),
  ])
}

/** What is wrong with `res` as an answer to `req`, or null when it is fine. */
export function problem (req: FuzzRequest, res: LightMyRequestResponse): string | null {
  if (res.statusCode >= 500) return `${res.statusCode}: ${res.body.slice(0, 300)}`
  if (res.statusCode < 400) return req.readOnly ? null : `a request that must fail answered ${res.statusCode}`
  if (!/^application\/json/.test(String(res.headers['content-type']))) return `${res.statusCode} is not JSON: ${String(res.headers['content-type'])}`
  let body: { code?: unknown, message?: unknown }
  try { body = res.json() } catch { return `${res.statusCode} body does not parse: ${res.body.slice(0, 200)}` }
  if (typeof body.code !== 'string' || !(body.code in errorCodes)) return `unknown code ${String(body.code)}`
  if (typeof body.message !== 'string') return 'no message'
  return null
}

/**
 * Run `numRuns` generated requests against `app` (prepared with `prepareFuzzApp`).
 * @throws Error from fast-check with the shrunk counterexample, or when state changed
 */
export async function runFuzz (app: FastifyInstance, numRuns: number, seed?: number): Promise<void> {
  const before = await snapshot(app)
  await fc.assert(fc.asyncProperty(fuzzRequest, async (req) => {
    const res = await app.inject({
      method: req.method,
      url: req.url,
      ...(req.payload === undefined ? {} : { payload: req.payload }),
      ...(req.contentType === undefined ? {} : { headers: { 'content-type': req.contentType } }),
    })
    const p = problem(req, res)
    if (p !== null) throw new Error(`${req.method} ${req.url.slice(0, 200)} ${(req.payload ?? '').slice(0, 200)} → ${p}`)
  }), { numRuns, ...(seed === undefined ? {} : { seed }) })
  const after = await snapshot(app)
  if (after !== before) throw new Error('state changed during the fuzz run')
}
