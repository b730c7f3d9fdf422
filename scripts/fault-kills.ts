/**
 * `npm run test:faults` (long form of test/crash.test.ts): FAULT_TASKS (5 000) tasks, FAULT_WORKERS (8)
 * worker loops (report-and-next) against a server child process that is killed with SIGKILL
 * FAULT_KILLS (20) times at random moments spread over the work and restarted on the same file. Afterwards every report
 * the server acknowledged (200) must still be there, every task must end completed, and the event
 * sequence must have no gaps. Exits 1 on any loss, and when the work finished before all the kills
 * happened (the run would not have tested what it reports). Run after `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './free-port.js'
import { Client, request } from 'undici'

const TASKS = Number(process.env.FAULT_TASKS ?? 5000)
const WORKERS = Number(process.env.FAULT_WORKERS ?? 8)
const KILLS = Number(process.env.FAULT_KILLS ?? 20)
const dir = mkdtempSync(join(tmpdir(), 'coord-faults-'))
const db = join(dir, 'coord.db')
const serverFile = fileURLToPath(new URL('../src/server.js', import.meta.url))

const port = await freePort()
const url = `http://127.0.0.1:${port}`
let child: ChildProcess | undefined

async function start (): Promise<void> {
  child = spawn(process.execPath, [serverFile], { env: { ...process.env, PORT: String(port), COORD_DB: db, LOG_LEVEL: 'warn' }, stdio: 'ignore' })
  for (let i = 0; i < 600; i++) {
    try { if ((await request(`${url}/health`)).statusCode === 200) return } catch { /* starting */ }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('server did not start')
}

async function call (c: Client, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await c.request({ method, path, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? null : JSON.parse(text) }
}

await start()
const admin = new Client(url)
for (let i = 0; i < TASKS; i += 500) {
  const tasks = Array.from({ length: Math.min(500, TASKS - i) }, (_, j) => ({ id: `f-${i + j}`, description: 'fault', leaseSeconds: 2, maxAttempts: 100 }))
  await call(admin, 'POST', '/tasks', { project: 'f', close: i + 500 >= TASKS, tasks })
}
await admin.close()

const acknowledged = new Set<string>()
/** Set once a poll answers 410 (every task completed) or the wait for it gives up; read by every loop. */
const state = { finished: false }
async function worker (id: string): Promise<void> {
  while (!state.finished) {
    const c = new Client(url, { pipelining: 1 })
    try {
      let a = await call(c, 'GET', `/tasks/next?worker=${id}&wait=2&project=f`)
      while (!state.finished) {
        if (a.status === 410) { state.finished = true; break }
        if (a.status !== 200) { a = await call(c, 'GET', `/tasks/next?worker=${id}&wait=2&project=f`); continue }
        const task = a.body.task.id as string
        const body = { worker: id, leaseId: a.body.lease.leaseId, status: 'completed', summary: 'ok' }
        const r = await call(c, 'POST', `/tasks/${task}/report?next=true&wait=2&project=f`, body)
        if (r.status === 200) acknowledged.add(task)
        const n = r.body?.next
        const status = n?.status === 'assigned' ? 200 : n?.status === 'finished' ? 410 : 204
        a = { status, body: status === 200 ? n.assignment : null }
      }
    } catch { await new Promise((resolve) => setTimeout(resolve, 100)) } finally { await c.close().catch(() => {}) }
  }
}
const loops = Array.from({ length: WORKERS }, (_, i) => worker(`fw${i}`))
let kills = 0
for (; kills < KILLS && !state.finished; kills++) {
  // Kill at a random point of each of KILLS + 1 equal slices of the work (by acknowledged reports),
  // so the kills land among the reports however fast the machine runs.
  const at = Math.floor((kills + 0.2 + 0.8 * Math.random()) * TASKS / (KILLS + 1))
  // Bounded: a server that stopped making progress is killed anyway (the checks afterwards tell).
  const giveUp = Date.now() + 30_000
  while (acknowledged.size < at && !state.finished && Date.now() < giveUp) await new Promise((resolve) => setTimeout(resolve, 2))
  if (state.finished) break
  const exited = new Promise((resolve) => child?.once('exit', resolve))
  child?.kill('SIGKILL')
  await exited
  console.log(`kill ${kills + 1}/${KILLS}: ${acknowledged.size} reports acknowledged so far`)
  await start()
}
const deadline = Date.now() + 300_000
while (!state.finished && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200))
state.finished = true
await Promise.all(loops)

const c = new Client(url)
let lost = 0
let notCompleted = 0
for (let after = 0; ;) {
  const page = await call(c, 'GET', `/tasks?project=f&limit=500&after=${after}`)
  for (const t of page.body.tasks) if (t.state !== 'completed') notCompleted++
  if (page.body.nextAfter === null) break
  after = page.body.nextAfter
}
for (const id of acknowledged) {
  const t = await call(c, 'GET', `/tasks/${id}?limit=1`)
  if (t.body?.task?.state !== 'completed') lost++
}
const seqs: number[] = []
for (let after = 0; ;) {
  const page = await call(c, 'GET', `/events?after=${after}&limit=1000`)
  for (const e of page.body.events) seqs.push(e.seq)
  if (page.body.events.length === 0) break
  after = page.body.nextAfter
}
const gaps = seqs.filter((s, i) => s !== i + 1).length
await c.close()
child?.kill('SIGKILL')
rmSync(dir, { recursive: true, force: true })
console.log(`faults: ${TASKS} tasks, ${kills} SIGKILLs, ${acknowledged.size} acknowledged reports: ` +
  `${lost} lost, ${notCompleted} tasks not completed, ${gaps} event sequence gaps`)
if (kills < KILLS) console.log(`faults: the work finished after ${kills} of ${KILLS} kills; raise FAULT_TASKS`)
process.exit(lost === 0 && notCompleted === 0 && gaps === 0 && kills === KILLS ? 0 : 1)
