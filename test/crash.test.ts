// kill -9 of the server mid-run loses nothing that was acknowledged: tasks, live leases with their
// deadlines, reports and events are all there after a restart from the same file. Real child processes.
import t, { type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { request } from 'undici'
import { eventually, tempDir } from './helper.js'
import { freePort } from '../scripts/free-port.js'

async function startServer (db: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...process.execArgv, 'src/server.ts'], {
    env: { ...process.env, PORT: String(port), COORD_DB: db, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const up = await eventually(async () => {
    try { return (await request(`http://127.0.0.1:${port}/health`)).statusCode === 200 } catch { return false }
  }, 60_000)
  if (!up) throw new Error('server did not start')
  return child
}

async function call (url: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await request(`${url}${path}`, {
    method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? null : JSON.parse(text) }
}

/** A server child process on one port and database file; restartable, killed when the test ends. */
async function serverProcess (t: Test): Promise<{ url: string, child: () => ChildProcess, restart: () => Promise<void> }> {
  const db = join(tempDir(), 'coord.db')
  const port = await freePort()
  let child = await startServer(db, port)
  t.teardown(() => { child.kill('SIGKILL') })
  return { url: `http://127.0.0.1:${port}`, child: () => child, restart: async () => { child = await startServer(db, port) } }
}

t.test('SIGKILL mid-run, restart from the same file: nothing acknowledged is lost', async (t) => {
  const server = await serverProcess(t)
  const url = server.url

  const ids = Array.from({ length: 40 }, (_, i) => `t${i}`)
  t.equal((await call(url, 'POST', '/tasks', { project: 'p', tasks: ids.map((id) => ({ id, description: id, leaseSeconds: 600 })) })).status, 201)
  const held = (await call(url, 'GET', '/tasks/next?worker=holder&wait=0')).body

  // A worker loops next → report until the kill; remember every acknowledged report.
  const acknowledged: string[] = []
  // Set from outside the loop (just before the kill); a signal makes that hand-off explicit.
  const kill = new AbortController()
  const loop = (async () => {
    while (!kill.signal.aborted) {
      try {
        const next = await call(url, 'GET', '/tasks/next?worker=busy&wait=0')
        if (next.status !== 200) return
        const rep = await call(url, 'POST', `/tasks/${next.body.task.id}/report`,
          { worker: 'busy', leaseId: next.body.lease.leaseId, status: 'completed', summary: 'ok' })
        if (rep.status === 200) acknowledged.push(next.body.task.id)
      } catch { return }
    }
  })()
  await eventually(() => acknowledged.length >= 10, 20_000)
  const eventsBefore = (await call(url, 'GET', '/events?limit=1000')).body.events.length
  kill.abort()
  server.child().kill('SIGKILL')
  await loop
  t.ok(acknowledged.length >= 10, `${acknowledged.length} reports acknowledged before the kill`)

  await server.restart()
  for (const id of acknowledged) {
    const task = (await call(url, 'GET', `/tasks/${id}`)).body
    t.equal(task.task.state, 'completed', `${id} is still completed`)
    t.equal(task.reports[0].worker, 'busy')
  }
  const list = (await call(url, 'GET', '/tasks?project=p&limit=100')).body.tasks
  t.equal(list.length, 40, 'every task is still there')
  const again = (await call(url, 'GET', '/tasks/next?worker=holder&wait=0')).body
  t.equal(again.lease.leaseId, held.lease.leaseId, 'the live lease survived with its id')
  t.equal(again.lease.expiresAt, held.lease.expiresAt, '... and its deadline')
  t.equal(again.resumed, true)
  const events = (await call(url, 'GET', '/events?limit=1000')).body.events
  t.ok(events.length >= eventsBefore, 'no event was lost')
  t.same(events.map((e: any) => e.seq), events.map((_: unknown, i: number) => i + 1), 'the sequence has no gaps')
  t.equal(events.filter((e: any) => e.type === 'task.completed').length >= acknowledged.length, true)
})

t.test('leases that lapse while the server is down are expired at start-up', async (t) => {
  const server = await serverProcess(t)
  const url = server.url
  await call(url, 'POST', '/tasks', { project: 'p', tasks: [{ id: 'a', description: 'a', leaseSeconds: 1 }] })
  const a = (await call(url, 'GET', '/tasks/next?worker=w1&wait=0')).body
  server.child().kill('SIGKILL')
  await new Promise((resolve) => setTimeout(resolve, 1200))
  await server.restart()
  const next = (await call(url, 'GET', '/tasks/next?worker=w2&wait=5')).body
  t.equal(next.task.id, 'a', 'the task was requeued')
  t.equal(next.lease.attempt, 2)
  t.not(next.lease.leaseId, a.lease.leaseId)
})

t.test('SIGTERM closes gracefully: a parked long poll is answered 204, then the process exits 0', async (t) => {
  const server = await serverProcess(t)
  const url = server.url
  const child = server.child()
  const parked = call(url, 'GET', '/tasks/next?worker=w1&wait=30')
  t.ok(await eventually(async () => (await call(url, 'GET', '/workers')).body.workers.some((w: any) => w.waiting)))
  const after = (await call(url, 'GET', '/events')).body.nextAfter
  const reader = call(url, 'GET', `/events?after=${after}&wait=30`)
  await new Promise((resolve) => setTimeout(resolve, 200))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const stopping = Date.now()
  child.kill('SIGTERM')
  t.equal((await parked).status, 204, 'the waiting worker is told to poll again, not cut off')
  t.same((await reader).body, { events: [], nextAfter: after }, 'the waiting event reader is answered too')
  t.equal(await exited, 0)
  t.ok(Date.now() - stopping < 10_000, 'closed without waiting out the long polls (30 s) or the 10 s grace limit')
})
