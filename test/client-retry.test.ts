// The client retries what the server treats as safe to repeat (on 503 and broken connections) and
// nothing else; `events --follow` backs off while the server is down or failing. A real server sits
// behind a small node:http front that fails the first requests on demand and counts every request.
import t, { type Test } from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { request } from 'undici'
import { CoordApiError, CoordClient, CoordConnectionError } from '../clients/client.js'
import { followEvents } from '../clients/follow-events.js'
import type { Event } from '../src/schemas/events.js'
import { build, eventually, listen, post, sleep } from './helper.js'

/**
 * How the front fails a request: `503` answers 503 STORAGE_UNAVAILABLE; `drop` closes the connection
 * 200 ms into the request without an answer; `lose` passes the request on, then closes the connection
 * instead of handing back the answer.
 */
type Fault = '503' | 'drop' | 'lose'

interface Front { url: string, requests: number, fail: number, fault: Fault, down: boolean }

async function body (req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

/** A front for `target` that fails the next `fail` requests (or all while `down`) with `fault`. */
async function front (t: Test, target: string): Promise<Front> {
  const state: Front = { url: '', requests: 0, fail: 0, fault: '503', down: false }
  const relay = async (req: IncomingMessage, res: ServerResponse, failing: boolean): Promise<void> => {
    const payload = await body(req)
    if (failing && state.fault === '503') {
      res.writeHead(503, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ code: 'STORAGE_UNAVAILABLE', message: 'Storage is busy (test front).' }))
      return
    }
    if (failing && state.fault === 'drop') {
      setTimeout(() => req.socket.destroy(), 200)
      return
    }
    const up = await request(target + (req.url ?? '/'), {
      method: req.method as 'GET' | 'POST',
      headers: payload.length > 0 ? { 'content-type': 'application/json' } : {},
      body: payload.length > 0 ? payload : undefined,
    })
    const answer = Buffer.from(await up.body.arrayBuffer())
    if (failing) {
      req.socket.destroy()
      return
    }
    res.writeHead(up.statusCode, answer.length > 0 ? { 'content-type': 'application/json' } : {})
    res.end(answer)
  }
  const server = createServer((req, res) => {
    state.requests++
    const failing = state.down || state.fail > 0
    if (state.fail > 0) state.fail--
    relay(req, res, failing).catch((err: Error) => res.destroy(err))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const addr = server.address()
  state.url = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`
  return state
}

/** The error `p` rejects with; fails the test when it resolves. */
async function rejection (t: Test, p: Promise<unknown>): Promise<{ name?: string, statusCode?: number, code?: string, refused?: boolean }> {
  try {
    await p
  } catch (err) {
    return err as { statusCode?: number }
  }
  t.fail('expected a rejection')
  return {}
}

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const addr = s.address()
      s.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}

/** A real server behind a front, and a client of the front with short retry pauses. */
async function setup (t: Test, retries = 5): Promise<{ app: Awaited<ReturnType<typeof listen>>['app'], f: Front, client: CoordClient }> {
  const { app, url } = await listen(t)
  const f = await front(t, url)
  const client = new CoordClient(f.url, { retry: { retries, minDelayMs: 20, maxDelayMs: 100 } })
  t.teardown(() => client.close())
  return { app, f, client }
}

t.test('reads, long polls, heartbeats and reports are retried on 503 until the server answers', async (t) => {
  const { app, f, client } = await setup(t)
  t.equal((await post(app, '/tasks', { tasks: [{ id: 'a', description: 'a' }] })).statusCode, 201)
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['health', () => client.health()],
    ['next', () => client.next({ worker: 'w1', wait: 0 })],
    ['status', () => client.status()],
  ]
  for (const [name, call] of calls) {
    f.requests = 0
    f.fail = 2
    await call()
    t.equal(f.requests, 3, `${name}: two 503s, then the answer`)
  }
  const lease = (await client.getTask('a')).leases[0]
  if (lease === undefined) throw new Error('task a has no lease')
  f.requests = 0
  f.fail = 2
  t.equal((await client.heartbeat('a', { worker: 'w1', leaseId: lease.leaseId })).leaseId, lease.leaseId)
  t.equal(f.requests, 3, 'heartbeat: two 503s, then the answer')
  f.requests = 0
  f.fail = 2
  const result = await client.report('a', { worker: 'w1', leaseId: lease.leaseId, status: 'completed', summary: 'ok' })
  t.equal(f.requests, 3, 'report: two 503s, then the answer')
  t.equal(result.duplicate, false)
})

t.test('a report whose answer was lost is sent again and answered duplicate: true', async (t) => {
  const { app, f, client } = await setup(t)
  t.equal((await post(app, '/tasks', { tasks: [{ id: 'a', description: 'a' }] })).statusCode, 201)
  const got = await client.next({ worker: 'w1', wait: 0 })
  if (got.status !== 'assigned') throw new Error('no task')
  f.requests = 0
  f.fault = 'lose'
  f.fail = 1
  const result = await client.report('a', { worker: 'w1', leaseId: got.assignment.lease.leaseId, status: 'completed', summary: 'ok' })
  t.equal(f.requests, 2, 'sent twice')
  t.equal(result.duplicate, true, 'the server had taken the first one')
  t.equal((await client.getTask('a')).reports.length, 1, 'one report in the history')
})

t.test('a 409 or 400 is an answer: sent once', async (t) => {
  const { app, f, client } = await setup(t)
  t.equal((await post(app, '/tasks', { tasks: [{ id: 'a', description: 'a' }] })).statusCode, 201)
  const got = await client.next({ worker: 'w1', wait: 0 })
  if (got.status !== 'assigned') throw new Error('no task')
  f.requests = 0
  t.match(await rejection(t, client.heartbeat('a', { worker: 'w2', leaseId: got.assignment.lease.leaseId })), { name: 'CoordApiError', statusCode: 409 })
  t.equal(f.requests, 1, '409 not retried')
  f.requests = 0
  t.match(await rejection(t, client.next({ worker: 'bad worker', wait: 0 })), { name: 'CoordApiError', statusCode: 400 })
  t.equal(f.requests, 1, '400 not retried')
})

t.test('a batch is retried only when every task has an id', async (t) => {
  const { f, client } = await setup(t)
  f.fail = 1
  t.match(await rejection(t, client.createTasks({ tasks: [{ description: 'no id' }] })),
    { name: 'CoordApiError', statusCode: 503, code: 'STORAGE_UNAVAILABLE' })
  t.equal(f.requests, 1, 'without ids: sent once (a repeat would create the task twice)')
  f.requests = 0
  f.fault = 'lose'
  f.fail = 1
  const result = await client.createTasks({ tasks: [{ id: 'x', description: 'x' }, { id: 'y', description: 'y' }] })
  t.equal(f.requests, 2, 'with ids: sent again after the answer was lost')
  t.same(result.existing, ['x', 'y'], 'the repeat found the tasks the first post created')
})

t.test('retries spent: the last 503 reaches the caller as CoordApiError with the server\'s code', async (t) => {
  const { f, client } = await setup(t, 2)
  f.fail = 100
  const err = await rejection(t, client.status())
  t.ok(err instanceof CoordApiError, 'a CoordApiError')
  t.match(err, { statusCode: 503, code: 'STORAGE_UNAVAILABLE' })
  t.equal(f.requests, 3, 'one attempt and two retries')
})

t.test('a server that is not up yet: the call waits for it, up to the retries', async (t) => {
  const port = await freePort()
  const client = new CoordClient(`http://127.0.0.1:${port}`)
  t.teardown(() => client.close())
  const started = Date.now()
  const health = client.health()
  await sleep(700)
  const app = await build(t)
  await app.listen({ port, host: '127.0.0.1' })
  t.equal((await health).status, 'ok', 'answered once the server came up')
  t.ok(Date.now() - started >= 700, 'after the server came up')

  const nobody = new CoordClient(`http://127.0.0.1:${await freePort()}`, { retry: { retries: 1, minDelayMs: 10 } })
  t.teardown(() => nobody.close())
  const err = await rejection(t, nobody.health())
  t.ok(err instanceof CoordConnectionError && err.refused, 'CoordConnectionError, refused')
})

t.test('a long poll cut by a dropped connection is retried with its long timeout', async (t) => {
  const { url } = await listen(t)
  const f = await front(t, url)
  // 300 ms for ordinary calls; a 2 s long poll still gets 2 s + 30 s per attempt.
  const client = new CoordClient(f.url, { timeoutMs: 300, retry: { minDelayMs: 20 } })
  t.teardown(() => client.close())
  f.fault = 'drop'
  f.fail = 1
  const started = Date.now()
  const outcome = await client.next({ worker: 'w1', wait: 2 })
  t.equal(outcome.status, 'empty', 'the retried poll waited its 2 s and found nothing')
  t.equal(f.requests, 2)
  t.ok(Date.now() - started >= 1900, 'the retry waited the whole long poll')
})

/** Follow the events through `client` until the test ends; collects events and warnings. */
function follow (t: Test, client: CoordClient): { events: Event[], warnings: string[], done: Promise<void> } {
  const ac = new AbortController()
  const events: Event[] = []
  const warnings: string[] = []
  const done = followEvents(client, {
    after: 0,
    wait: 1,
    backoff: { firstMs: 100, maxMs: 400 },
    print: (e) => events.push(e),
    warn: (m) => warnings.push(m),
    signal: ac.signal,
  })
  t.teardown(async () => { ac.abort(); await done })
  return { events, warnings, done }
}

t.test('events --follow backs off while the server answers 503, then prints the events', async (t) => {
  const { app, url } = await listen(t)
  const f = await front(t, url)
  const client = new CoordClient(f.url, { retry: { retries: 0 } })
  t.teardown(() => client.close())
  f.down = true
  const { events, warnings } = follow(t, client)
  await sleep(1500)
  // Pauses 100, 200, 400, 400 ... ms: about 6 requests in 1.5 s; a follower without backoff sends hundreds.
  t.ok(f.requests >= 3 && f.requests <= 10, `${f.requests} requests while the server was failing`)
  t.equal(warnings.length, f.requests, 'each failed poll said it will retry')
  t.match(warnings[0], /Storage is busy[\s\S]*Retrying in 0\.1 s \(after=0\)/)
  t.match(warnings.at(-1), /Retrying in 0\.4 s/, 'the pause grew to the cap')
  f.down = false
  t.equal((await post(app, '/tasks', { project: 'p', tasks: [{ id: 'a', description: 'a' }, { id: 'b', description: 'b' }] })).statusCode, 201)
  t.ok(await eventually(() => events.length >= 2, 5000), 'the events came once the server answered')
  t.same(events.map((e) => e.seq), [1, 2], 'each event once, in order')
})

t.test('events --follow waits for a server that is not up yet', async (t) => {
  const port = await freePort()
  const client = new CoordClient(`http://127.0.0.1:${port}`, { retry: { retries: 0 } })
  t.teardown(() => client.close())
  const { events, warnings } = follow(t, client)
  await sleep(1000)
  t.ok(warnings.length >= 2 && warnings.length <= 8, `${warnings.length} refused polls in 1 s`)
  t.match(warnings[0], /connection refused/)
  const app = await build(t)
  await app.listen({ port, host: '127.0.0.1' })
  t.equal((await post(app, '/tasks', { tasks: [{ id: 'a', description: 'a' }] })).statusCode, 201)
  t.ok(await eventually(() => events.length >= 1, 5000), 'the events came once the server was up')
})

t.test('events --follow stops on a 4xx: the request itself is wrong', async (t) => {
  const { url } = await listen(t)
  const client = new CoordClient(url)
  t.teardown(() => client.close())
  t.match(await rejection(t, followEvents(client, { after: 0, wait: 1, project: 'bad name!', print: () => {}, warn: () => {} })),
    { name: 'CoordApiError', statusCode: 400 })
})
