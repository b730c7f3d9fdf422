/**
 * `npm run bench`: throughput and wake-up latency of the work loop over real sockets, with the SQLite
 * file store (synchronous = FULL). Numbers, not assertions: compare runs on the same machine.
 *
 *   throughput  N workers loop report-and-next over T tasks → tasks per second
 *   wake-up     a worker parked in GET /tasks/next; ms from sending POST /tasks to the parked poll answered
 *
 * bench/parked.ts, run next by the same script, measures the server with 10 000 parked long polls.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { listenLocal } from '../src/server.js'
import { CoordClient } from '../clients/client.js'
import { runWorker } from '../clients/worker-loop.js'

const TASKS = Number(process.env.BENCH_TASKS ?? 2000)
const WORKERS = Number(process.env.BENCH_WORKERS ?? 10)
const WAKEUPS = Number(process.env.BENCH_WAKEUPS ?? 50)

const dir = mkdtempSync(join(tmpdir(), 'coord-bench-'))
const app = await buildApp(loadConfig({ COORD_DB: join(dir, 'coord.db'), LOG_LEVEL: 'warn' }, false))
const url = await listenLocal(app)
const client = new CoordClient(url)

async function worker (id: string): Promise<number> {
  const c = new CoordClient(url)
  const counts = await runWorker(c, { worker: id, wait: 5, project: 'bench' }, async () => ({ status: 'completed', summary: 'ok' }))
  await c.close()
  return counts.completed
}

for (let i = 0; i < TASKS; i += 500) {
  await client.createTasks({
    project: 'bench',
    close: i + 500 >= TASKS,
    tasks: Array.from({ length: Math.min(500, TASKS - i) }, (_, j) => ({ id: `b-${i + j}`, description: 'bench' })),
  })
}
const t0 = performance.now()
const counts = await Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(`bench-${i}`)))
const secs = (performance.now() - t0) / 1000
console.log(`throughput  ${TASKS} tasks, ${WORKERS} workers: ${(TASKS / secs).toFixed(0)} tasks/s ` +
  `(${secs.toFixed(2)} s; per worker ${Math.min(...counts)}..${Math.max(...counts)})`)

const lat: number[] = []
for (let i = 0; i < WAKEUPS; i++) {
  const parked = client.next({ worker: 'waker', wait: 10, project: 'wake' })
  while ((await client.status('wake')).workers.waiting === 0) await new Promise((resolve) => setImmediate(resolve))
  const posted = performance.now()
  await client.createTasks({ project: 'wake', tasks: [{ id: `wake-${i}`, description: 'wake' }] })
  const o = await parked
  lat.push(performance.now() - posted)
  if (o.status === 'assigned') {
    await client.report(o.assignment.task.id, { worker: 'waker', leaseId: o.assignment.lease.leaseId, status: 'completed', summary: 'ok' })
  }
}
lat.sort((a, b) => a - b)
const pct = (p: number): string => (lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0).toFixed(2)
console.log(`wake-up     ${WAKEUPS} parked polls: p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${pct(1)} ms from sending the post to the parked poll answered`)

await client.close()
await app.close()
rmSync(dir, { recursive: true, force: true })
