// Every malformed request gets a 4xx JSON error { code, message } that says what to fix, and changes nothing.
import t from 'tap'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openSqliteStore } from '../src/store/sqlite-open.js'
import { build, claim, postTasks } from './helper.js'

interface Case {
  method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, headers?: Record<string, string>, status: number, code: string, says?: RegExp
}

const longId = 'x'.repeat(129)
/** A pattern error says in words what the field accepts, not only the regex. */
const ID_IN_WORDS = /body\/tasks\/0\/id must match pattern .* \(Task id: letters, digits and \. _ : @ -, starting with a letter or digit, at most 128 characters/
const task = { id: 'ok-1', description: 'fine' }
const json = { 'content-type': 'application/json' }
const okBatch = JSON.stringify({ tasks: [task] })
const latin1 = { 'content-type': 'application/json;charset="latin1"' }
/** `{"a":{"a":...{}}}`: `depth` nested objects. */
const nested = (depth: number): string => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1)

const cases: Case[] = [
  // POST /tasks
  { method: 'POST', url: '/tasks', status: 400, code: 'VALIDATION_FAILED', says: /body must be object/ },
  { method: 'POST', url: '/tasks', payload: '{"tasks": [', headers: { 'content-type': 'application/json' }, status: 400, code: 'INVALID_JSON' },
  { method: 'POST', url: '/tasks', payload: 'tasks=1', headers: { 'content-type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  // JSON is read as UTF-8: another charset would be misread, so it is refused
  { method: 'POST', url: '/tasks', payload: okBatch, headers: { 'content-type': 'application/json; charset=utf-16' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', says: /utf-16/ },
  { method: 'POST', url: '/tasks', payload: okBatch, headers: latin1, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { method: 'POST', url: '/tasks', payload: { tasks: [] }, status: 400, code: 'VALIDATION_FAILED', says: /tasks must NOT have fewer than 1 items/ },
  { method: 'POST', url: '/tasks', payload: { project: 'p' }, status: 400, code: 'VALIDATION_FAILED', says: /required property 'tasks'/ },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ id: 'a' }] }, status: 400, code: 'VALIDATION_FAILED', says: /description/ },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ id: 'has space', description: 'x' }] }, status: 400, code: 'VALIDATION_FAILED', says: ID_IN_WORDS },
  // GET /tasks/next is the long poll: a task named `next` could never be read at GET /tasks/{id}.
  { method: 'POST', url: '/tasks', payload: { tasks: [{ id: 'next', description: 'x' }] }, status: 400, code: 'VALIDATION_FAILED', says: /must match pattern .*\(Task id: .*not `next`/ },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ id: longId, description: 'x' }] }, status: 400, code: 'VALIDATION_FAILED' },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ ...task, colour: 'red' }] }, status: 400, code: 'VALIDATION_FAILED', says: /additional properties/ },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ ...task, leaseSeconds: 0 }] }, status: 400, code: 'VALIDATION_FAILED', says: /leaseSeconds must be >= 1/ },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ ...task, maxAttempts: 0 }] }, status: 400, code: 'VALIDATION_FAILED' },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ ...task, priority: 'high' }] }, status: 400, code: 'VALIDATION_FAILED' },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ ...task, context: 'not an object' }] }, status: 400, code: 'VALIDATION_FAILED' },
  { method: 'POST', url: '/tasks', payload: { project: '../etc', tasks: [task] }, status: 400, code: 'VALIDATION_FAILED' },
  { method: 'POST', url: '/tasks', payload: { tasks: [task, task] }, status: 400, code: 'DUPLICATE_TASK_ID' },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ id: 'big', description: 'x'.repeat(2 * 1024 * 1024) }] }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
  // bodies are JSON: no type coercion, finite numbers only
  { method: 'POST', url: '/tasks', payload: { tasks: [{ ...task, priority: 'Infinity' }] }, status: 400, code: 'VALIDATION_FAILED', says: /priority must be integer/ },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ ...task, priority: '-Infinity' }] }, status: 400, code: 'VALIDATION_FAILED' },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ ...task, leaseSeconds: 'Infinity' }] }, status: 400, code: 'VALIDATION_FAILED' },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ ...task, maxAttempts: 'NaN' }] }, status: 400, code: 'VALIDATION_FAILED' },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ ...task, priority: '5' }] }, status: 400, code: 'VALIDATION_FAILED', says: /priority must be integer/ },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ ...task, priority: true }] }, status: 400, code: 'VALIDATION_FAILED' },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ id: 1.5, description: 'x' }] }, status: 400, code: 'VALIDATION_FAILED', says: /id must be string/ },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ id: 'n', description: 123 }] }, status: 400, code: 'VALIDATION_FAILED', says: /description must be string/ },
  { method: 'POST', url: '/tasks', payload: { tasks: [task], close: 'true' }, status: 400, code: 'VALIDATION_FAILED', says: /close must be boolean/ },
  { method: 'POST', url: '/tasks', payload: { tasks: [{ ...task, acceptance: 'one' }] }, status: 400, code: 'VALIDATION_FAILED', says: /acceptance must be array/ },
  { method: 'POST', url: '/tasks', payload: '{"tasks":[{"id":"inf","description":"x","priority":1e400}]}', headers: json, status: 400, code: 'INVALID_JSON', says: /finite/ },
  { method: 'POST', url: '/tasks', payload: '{"tasks":[{"id":"inf","description":"x","context":{"n":-1e400}}]}', headers: json, status: 400, code: 'INVALID_JSON', says: /finite/ },
  { method: 'POST', url: '/tasks', payload: `{"tasks":[{"id":"inf","description":"x","context":{"n":${'9'.repeat(400)}}}]}`, headers: json, status: 400, code: 'INVALID_JSON', says: /finite/ },
  { method: 'POST', url: '/tasks', payload: '{"tasks":[{"id":"dup","description":"x","id":"dup2"}]}', headers: json, status: 400, code: 'INVALID_JSON', says: /repeats the key "id"/ },
  { method: 'POST', url: '/tasks', payload: '{"tasks":[{"id":"dup","description":"x","context":{"__proto__":{"admin":true}}}]}', headers: json, status: 400, code: 'INVALID_JSON', says: /prototype/ },
  { method: 'POST', url: '/tasks', payload: `{"tasks":[{"id":"deep","description":"x","context":${nested(4000)}}]}`, headers: json, status: 400, code: 'NESTING_TOO_DEEP', says: /64/ },
  { method: 'POST', url: '/tasks', payload: `{"tasks":[{"id":"deep","description":"x","context":${nested(62)}}]}`, headers: json, status: 400, code: 'NESTING_TOO_DEEP', says: /64/ },
  { method: 'POST', url: '/tasks', payload: '', headers: json, status: 400, code: 'INVALID_JSON' },
  // GET /tasks, /tasks/{id}
  { method: 'GET', url: '/tasks?state=bogus', status: 400, code: 'VALIDATION_FAILED', says: /state/ },
  { method: 'GET', url: '/tasks?limit=0', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks?limit=abc', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks?colour=red', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks/bad%20id', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks?limit=Infinity', status: 400, code: 'VALIDATION_FAILED', says: /limit must be a finite number/ },
  { method: 'GET', url: '/tasks?after=-Infinity', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks?after=9007199254740992', status: 400, code: 'VALIDATION_FAILED', says: /after must be <= 9007199254740991/ },
  { method: 'GET', url: '/tasks/%ff', status: 400, code: 'BAD_URL' },
  { method: 'GET', url: `/tasks/${'a'.repeat(300)}`, status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks/nope', status: 404, code: 'TASK_NOT_FOUND' },
  // GET /tasks/next
  { method: 'GET', url: '/tasks/next', status: 400, code: 'VALIDATION_FAILED', says: /required property 'worker'/ },
  { method: 'GET', url: '/tasks/next?worker=a%20b', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks/next?worker=w&wait=-1', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks/next?worker=w&wait=soon', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks/next?worker=w&wait=Infinity', status: 400, code: 'VALIDATION_FAILED', says: /wait must be a finite number/ },
  { method: 'GET', url: '/tasks/next?worker=w&wait=1e400', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks/next?worker=w&wait=NaN', status: 400, code: 'VALIDATION_FAILED' },
  // numbers in query strings are plain decimal: Ajv alone would read 0x10 as 16 and 1e1 as 10
  { method: 'GET', url: '/tasks/next?worker=w&wait=0x10', status: 400, code: 'VALIDATION_FAILED', says: /wait must be a number in plain decimal/ },
  { method: 'GET', url: '/tasks/next?worker=w&wait=1e1', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks/next?worker=w&wait=0b1', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks/next?worker=w&wait=%201', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks?limit=0x10', status: 400, code: 'VALIDATION_FAILED', says: /limit must be a number in plain decimal/ },
  { method: 'GET', url: '/events?after=0o7', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/tasks/next?worker=w&project=p&colour=red', status: 400, code: 'VALIDATION_FAILED' },
  // heartbeat, report
  { method: 'POST', url: '/tasks/t1/heartbeat', payload: { worker: 'w' }, status: 400, code: 'VALIDATION_FAILED', says: /leaseId/ },
  { method: 'POST', url: '/tasks/nope/heartbeat', payload: { worker: 'w', leaseId: 'l' }, status: 404, code: 'TASK_NOT_FOUND' },
  { method: 'POST', url: '/tasks/t1/report', payload: { worker: 'w', leaseId: 'l', status: 'done', summary: 's' }, status: 400, code: 'VALIDATION_FAILED', says: /status/ },
  { method: 'POST', url: '/tasks/t1/report', payload: { worker: 'w', leaseId: 'l', status: 'completed', summary: 's', contextScore: 6 }, status: 400, code: 'VALIDATION_FAILED', says: /contextScore must be <= 5/ },
  { method: 'POST', url: '/tasks/t1/report', payload: { worker: 'w', leaseId: 'l', status: 'completed', summary: '' }, status: 400, code: 'VALIDATION_FAILED' },
  {
    method: 'POST',
    url: '/tasks/t1/report?next=maybe',
    payload: { worker: 'w', leaseId: 'l', status: 'completed', summary: 's' },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  { method: 'POST', url: '/tasks/nope/report', payload: { worker: 'w', leaseId: 'l', status: 'completed', summary: 's' }, status: 404, code: 'TASK_NOT_FOUND' },
  { method: 'POST', url: '/tasks/t1/report', payload: { worker: 'w0', leaseId: 'l', status: 'completed', summary: 's', contextScore: '5' }, status: 400, code: 'VALIDATION_FAILED', says: /contextScore must be integer/ },
  {
    method: 'POST',
    url: '/tasks/t1/report',
    payload: `{"worker":"w0","leaseId":"l","status":"completed","summary":"s","details":${nested(4000)}}`,
    headers: json,
    status: 400,
    code: 'NESTING_TOO_DEEP',
  },
  {
    method: 'POST',
    url: '/tasks/t1/report?next=true&wait=Infinity',
    payload: { worker: 'w0', leaseId: 'l', status: 'completed', summary: 's' },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  // cancel, projects, events, status
  { method: 'POST', url: '/tasks/t1/cancel', payload: { why: 'x' }, status: 400, code: 'VALIDATION_FAILED' },
  { method: 'POST', url: '/tasks/nope/cancel', status: 404, code: 'TASK_NOT_FOUND' },
  { method: 'POST', url: '/tasks/t1/cancel', payload: '{"reason":"r","reason":1e400}', headers: json, status: 400, code: 'INVALID_JSON' },
  { method: 'POST', url: '/tasks/t1/cancel', payload: '{"reason":"r","reason":"s"}', headers: json, status: 400, code: 'INVALID_JSON', says: /repeats the key "reason"/ },
  { method: 'POST', url: '/tasks/t1/cancel', payload: '{"reason":"r","re\\u0061son":"s"}', headers: json, status: 400, code: 'INVALID_JSON', says: /repeats the key "reason"/ },
  { method: 'POST', url: `/projects/${longId}/close`, status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/events?after=-1', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/events?limit=0', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/events?limit=1e400', status: 400, code: 'VALIDATION_FAILED', says: /limit must be a finite number/ },
  { method: 'GET', url: '/events?after=1e400', status: 400, code: 'VALIDATION_FAILED', says: /after must be a finite number/ },
  { method: 'GET', url: '/events?after=1e300', status: 400, code: 'VALIDATION_FAILED', says: /after must be <=/ },
  { method: 'GET', url: '/events?wait=Infinity', status: 400, code: 'VALIDATION_FAILED' },
  { method: 'GET', url: '/status?project=a%20b', status: 400, code: 'VALIDATION_FAILED' },
  // unknown routes and methods
  { method: 'GET', url: '/nowhere', status: 404, code: 'ROUTE_NOT_FOUND' },
  { method: 'DELETE', url: '/tasks', status: 404, code: 'ROUTE_NOT_FOUND' },
]

t.test('bad inputs across every route: 4xx JSON error, no state change', async (t) => {
  const app = await build(t)
  await postTasks(app, ['t1'])
  await claim(app, 'w0')
  const snapshot = async () => JSON.stringify([
    (await app.inject('/events?limit=1000')).json(),
    (await app.inject('/tasks?limit=500')).json(),
    (await app.inject('/workers')).json().workers.map((w: any) => ({ ...w, lastSeenAt: 0, state: 0, leaseSecondsLeft: 0 })),
  ])
  const before = await snapshot()
  for (const c of cases) {
    const res = await app.inject({
      method: c.method,
      url: c.url,
      ...(c.payload === undefined ? {} : { payload: c.payload as string }),
      ...(c.headers ? { headers: c.headers } : {}),
    })
    const label = `${c.method} ${c.url.slice(0, 60)} ${JSON.stringify(c.payload ?? '').slice(0, 60)}`
    t.equal(res.statusCode, c.status, `${label}: status`)
    t.match(res.headers['content-type'], /application\/json/, `${label}: JSON`)
    const body = res.json()
    t.equal(body.code, c.code, `${label}: code`)
    t.type(body.message, 'string')
    t.notMatch(body.message, /at .*\.(ts|js):\d+/, `${label}: no stack trace`)
    if (c.says) t.match(body.message, c.says, `${label}: says what to fix`)
  }
  t.equal(await snapshot(), before, 'no bad request changed any state')
})

t.test('every answer carries its request id; a short, plain caller-given x-request-id is kept', async (t) => {
  const app = await build(t)
  t.match((await app.inject('/nowhere')).headers['x-request-id'], /^[0-9a-f-]{36}$/)
  t.equal((await app.inject({ url: '/health', headers: { 'x-request-id': 'chat-7-call-3' } })).headers['x-request-id'], 'chat-7-call-3')
  for (const given of ['x'.repeat(5000), 'two words', 'a,b', '']) {
    const id = (await app.inject({ url: '/health', headers: { 'x-request-id': given } })).headers['x-request-id']
    t.match(id, /^[0-9a-f-]{36}$/, `an unsafe x-request-id (${given.slice(0, 12)}…) is replaced, not echoed`)
  }
})

t.test('JSON nested up to 64 levels is accepted; query strings are still coerced from text', async (t) => {
  const app = await build(t)
  const ok = await app.inject({ method: 'POST', url: '/tasks', headers: json, payload: `{"tasks":[{"id":"deep","description":"x","context":${nested(61)}}]}` })
  t.equal(ok.statusCode, 201, 'depth 64 in all: body, tasks array, task, 61 levels of context')
  t.equal((await app.inject('/tasks?limit=1&after=0')).statusCode, 200)
  const utf8Batch = JSON.stringify({ tasks: [{ id: 'u8', description: 'é' }] })
  const utf8 = await app.inject({ method: 'POST', url: '/tasks', headers: { 'content-type': 'application/json; charset=UTF-8' }, payload: utf8Batch })
  t.equal(utf8.statusCode, 201, 'charset=utf-8 is accepted')
  t.equal((await app.inject(`/tasks?after=${Number.MAX_SAFE_INTEGER}`)).json().tasks.length, 0)
})

t.test('validation errors list each problem with its path', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/tasks', payload: { tasks: [{ id: 'a', description: 'x', maxAttempts: 0 }] } })
  t.match(res.json().details, [{ path: 'body/tasks/0/maxAttempts', message: 'must be >= 1' }])
})

t.test('an internal failure is a 500 JSON error that leaks nothing', async (t) => {
  const store = openSqliteStore(':memory:')
  store.listWorkers = async () => { throw new Error('disk on fire at /secret/store.ts:12') }
  const app = await buildApp(loadConfig({ COORD_DB: ':memory:', LOG_LEVEL: 'silent' }, false), { store })
  t.teardown(() => app.close())
  const res = await app.inject('/workers')
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'INTERNAL')
  t.notMatch(res.body, /disk on fire|secret|store\.ts/)
})

t.test('a JSON syntax error says where, never quotes the body back', async (t) => {
  const app = await build(t)
  const bodies: Array<[string, number]> = [
    ['SECRET', 0], ['{"a":SECRET}', 5], ['[1,SECRET]', 3], ['{"SECRET":1}x', 12], ['{"SECRET', 8], ['{SECRET:1}', 1], ['[1,]', 3], ['{"a":"SECRET', 12],
  ]
  for (const [body, position] of bodies) {
    const res = await app.inject({ method: 'POST', url: '/tasks', headers: json, payload: body })
    t.equal(res.statusCode, 400, body)
    t.equal(res.json().code, 'INVALID_JSON', body)
    t.notMatch(res.body, /SECRET/, `${body}: the body is not quoted back`)
    t.match(res.json().message, `at character ${position}`, `${body}: says where`)
    t.same(res.json().details, { position }, body)
  }
})
