/**
 * `npm run test:faults`, second part (long form of test/soak.test.ts): SOAK_POLLS (1 000) workers keep a
 * long poll (`wait=SOAK_WAIT_S`, 20) parked against a server child process for SOAK_SECONDS (600). Every
 * SOAK_POST_MS (500 ms) one task is posted; whichever worker gets it reports it completed and parks
 * again. We check what a user would notice:
 *   - every posted task is completed (nothing lost), each within 5 s of its post;
 *   - every long poll answers within its wait + 5 s (none hangs);
 *   - the server's RSS (VmRSS) does not keep growing: the last third's mean is within 15 % of the second
 *     third's, and the idle CPU stays low.
 * Prints a line every 30 s and a summary; exits 1 on any failure. Linux only (/proc). Run after `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './free-port.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'

const POLLS = Number(process.env.SOAK_POLLS ?? 1000)
const SECONDS = Number(process.env.SOAK_SECONDS ?? 600)
// At most the server's default cap, COORD_MAX_WAIT_SECONDS (60).
const WAIT_S = Math.min(60, Number(process.env.SOAK_WAIT_S ?? 20))
const POST_MS = Number(process.env.SOAK_POST_MS ?? 500)
const serverFile = fileURLToPath(new URL('../src/server.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'coord-soak-'))

const port = await freePort()
const url = `http://127.0.0.1:${port}`
const server: ChildProcess = spawn(process.execPath, [serverFile], {
  env: { ...process.env, PORT: String(port), COORD_DB: join(dir, 'coord.db'), LOG_LEVEL: 'warn' },
  stdio: 'ignore',
})
const stopAll = (): void => { server.kill('SIGKILL') }
process.on('exit', stopAll)
for (let i = 0; ; i++) {
  try { if ((await request(`${url}/health`)).statusCode === 200) break } catch { /* starting */ }
  if (i > 600) throw new Error('server did not start')
  await sleep(50)
}

/** Resident memory (KiB) and CPU time (clock ticks) of the server process. */
function usage (): { rssKiB: number, cpuTicks: number } {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8')
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  const stat = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return { rssKiB, cpuTicks: Number(stat[11]) + Number(stat[12]) }
}

const agent = new Agent({ connections: POLLS + 20, headersTimeout: (WAIT_S + 30) * 1000, bodyTimeout: (WAIT_S + 30) * 1000 })
const end = Date.now() + SECONDS * 1000
const postedAt = new Map<string, number>()
const failures: string[] = []
const stats = { polls: 0, slowestPollMs: 0, completed: 0, slowestDeliveryMs: 0, stopping: false }

async function worker (id: string): Promise<void> {
  while (Date.now() < end) {
    const started = Date.now()
    const res = await request(`${url}/tasks/next?worker=${id}&wait=${WAIT_S}&project=soak`, { dispatcher: agent }).catch((err: Error) => err)
    const took = Date.now() - started
    stats.polls++
    stats.slowestPollMs = Math.max(stats.slowestPollMs, took)
    if (res instanceof Error) {
      if (!stats.stopping) failures.push(`${id}: poll failed: ${res.message}`)
      return
    }
    if (took > (WAIT_S + 5) * 1000) failures.push(`${id}: a poll took ${took} ms (wait ${WAIT_S} s)`)
    if (res.statusCode !== 200) { await res.body.dump(); continue }
    const a = (await res.body.json()) as { task: { id: string }, lease: { leaseId: string } }
    const delivery = Date.now() - (postedAt.get(a.task.id) ?? Date.now())
    stats.slowestDeliveryMs = Math.max(stats.slowestDeliveryMs, delivery)
    const r = await request(`${url}/tasks/${a.task.id}/report`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ worker: id, leaseId: a.lease.leaseId, status: 'completed', summary: 'soaked' }),
    })
    await r.body.dump()
    if (r.statusCode === 200) stats.completed++
    else failures.push(`${a.task.id}: report answered ${r.statusCode}`)
  }
}

const workers = Array.from({ length: POLLS }, (_, i) => worker(`soak-${i}`))
await sleep(3000) // let them park
const samples: Array<{ at: number, rssKiB: number, cpuTicks: number }> = []
let n = 0
let lastLine = Date.now()
while (Date.now() < end - (WAIT_S + 2) * 1000) {
  const id = `soak-task-${n++}`
  postedAt.set(id, Date.now())
  const res = await request(`${url}/tasks`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ project: 'soak', tasks: [{ id, description: 'soak' }] }),
  })
  await res.body.dump()
  if (res.statusCode !== 201) failures.push(`post ${id}: ${res.statusCode}`)
  samples.push({ at: Date.now(), ...usage() })
  if (Date.now() - lastLine > 30_000) {
    lastLine = Date.now()
    const u = samples[samples.length - 1] as { rssKiB: number }
    console.log(`soak: ${Math.round((end - Date.now()) / 1000)} s left, ${stats.completed}/${n} completed, rss ${Math.round(u.rssKiB / 1024)} MiB, ` +
      `slowest poll ${stats.slowestPollMs} ms, slowest delivery ${stats.slowestDeliveryMs} ms`)
  }
  await sleep(POST_MS)
}
await sleep(5000)
const posted = n
const done = stats.completed
if (done < posted) failures.push(`${posted - done} of ${posted} posted tasks were not completed`)
if (stats.slowestDeliveryMs > 5000) failures.push(`a task took ${stats.slowestDeliveryMs} ms to reach a parked worker`)
const third = Math.floor(samples.length / 3)
const mean = (xs: Array<{ rssKiB: number }>): number => xs.reduce((a, x) => a + x.rssKiB, 0) / Math.max(1, xs.length)
const middle = mean(samples.slice(third, 2 * third))
const last = mean(samples.slice(2 * third))
const mib = (kib: number): number => Math.round(kib / 1024)
if (third > 0 && last > middle * 1.15) failures.push(`RSS grew from ${mib(middle)} to ${mib(last)} MiB between the second and last third`)
const first = samples[0]
const final = samples[samples.length - 1]
const cpuShare = first === undefined || final === undefined ? 0 : (final.cpuTicks - first.cpuTicks) / 100 / ((final.at - first.at) / 1000)
console.log(`soak: ${POLLS} parked polls for ${SECONDS} s, ${posted} tasks posted, ${done} completed; ${stats.polls} polls answered, slowest ` +
  `${stats.slowestPollMs} ms; slowest delivery ${stats.slowestDeliveryMs} ms; rss ${Math.round(middle / 1024)} → ${Math.round(last / 1024)} MiB; ` +
  `server CPU ${(cpuShare * 100).toFixed(1)} % of a core`)
stats.stopping = true
server.kill('SIGTERM')
await Promise.race([Promise.allSettled(workers), sleep(5000)])
await agent.destroy().catch(() => {})
rmSync(dir, { recursive: true, force: true })
if (failures.length > 0) {
  console.error(`soak: FAILED\n- ${failures.slice(0, 20).join('\n- ')}`)
  process.exit(1)
}
console.log('soak: ok')
process.exit(0)
