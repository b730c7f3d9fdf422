/**
 * `npm run bench`, second part: the parked set. BENCH_PARKED (default 10 000) distinct workers
 * long-poll `GET /tasks/next?wait=1800&project=idle` over real sockets against a server in a child
 * process (so its memory and CPU are its own), and stay parked while we measure:
 *
 *   park      time until the server counts them all waiting (posted 500 at a time)
 *   rss       the server's resident memory (VmRSS of /proc/<pid>/status) before and after parking
 *   idle cpu  the server's CPU time (utime + stime of /proc/<pid>/stat) over 5 s with nothing to do
 *   post      POST /tasks of one task to another project, which wakes nobody: median and max of 5
 *   health    GET /health latency, sent while each of those posts runs: median and max
 *
 * Numbers, not assertions. Every wait is bounded: if fewer polls park in time, the figures are for
 * those that did, and the output says so. Linux only (/proc).
 */
import { spawn, execSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, Pool, request, type Dispatcher } from 'undici'

const WANTED = Number(process.env.BENCH_PARKED ?? 10_000)
const WAIT_S = 1800
const BATCH = 500
const POSTS = 5
const PARK_TIMEOUT_MS = 240_000
/** File descriptors kept free for everything but the parked sockets (modules, the database, probes). */
const FD_SPARE = 200

// The whole bench is bounded too: a stuck server must not hang `npm run bench`.
const watchdog = setTimeout(() => {
  console.error('parked: gave up after 15 minutes')
  server?.kill('SIGKILL')
  process.exit(1)
}, 15 * 60_000)
watchdog.unref()

const fdLimit = Number(execSync('ulimit -n', { shell: '/bin/sh', encoding: 'utf8' }).trim())
const parkedCount = Number.isFinite(fdLimit) ? Math.min(WANTED, fdLimit - FD_SPARE) : WANTED
console.log(`\nparked set  ulimit -n ${Number.isFinite(fdLimit) ? fdLimit : 'unlimited'}: ${parkedCount} parked polls` +
  (parkedCount < WANTED ? ` (scaled down from ${WANTED}: each needs a socket on both sides; raise ulimit -n to run them all)` : ''))

const clkTck = Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100
const dir = mkdtempSync(join(tmpdir(), 'coord-bench-parked-'))
const port = await freePort()
const url = `http://127.0.0.1:${port}`
// The compiled server next to this file, or the .ts source under a TypeScript loader.
const serverFile = fileURLToPath(new URL(`../src/server${extname(fileURLToPath(import.meta.url))}`, import.meta.url))
const server: ChildProcess | undefined = spawn(process.execPath, [...process.execArgv, serverFile], {
  env: {
    ...process.env,
    PORT: String(port),
    COORD_DB: join(dir, 'coord.db'),
    LOG_LEVEL: 'warn',
    // Polls stay parked through the measurement; a worker inside a poll must not count as offline.
    COORD_MAX_WAIT_SECONDS: String(WAIT_S),
    COORD_OFFLINE_SECONDS: String(WAIT_S + 100),
    // The idle timeout must outlast the longest long poll (the config refuses it otherwise).
    COORD_IDLE_TIMEOUT_SECONDS: String(WAIT_S + 60),
  },
  stdio: ['ignore', 'inherit', 'inherit'],
})
const pid = server.pid ?? 0

// Probes and posts use their own connections, never queued behind the parked polls.
const probe = new Agent({ connections: 4, headersTimeout: 120_000, bodyTimeout: 120_000 })
const polls = new Pool(url, { connections: parkedCount + 10, pipelining: 1, headersTimeout: (WAIT_S + 30) * 1000, bodyTimeout: (WAIT_S + 30) * 1000 })

try {
  if (!(await until(async () => (await call('GET', '/health')).status === 200, 30_000))) throw new Error('the server did not start')
  const rssBefore = rssKb()

  // Park the polls, BATCH at a time, each batch once the server counts the previous ones waiting.
  const failures = new Map<string, number>()
  const started = performance.now()
  let sent = 0
  let parked = 0
  while (sent < parkedCount && performance.now() - started < PARK_TIMEOUT_MS) {
    const n = Math.min(BATCH, parkedCount - sent)
    for (let i = sent; i < sent + n; i++) park(polls, `idle-${i}`, failures)
    sent += n
    await until(async () => (parked = await waiting()) >= sent, PARK_TIMEOUT_MS - (performance.now() - started))
  }
  const parkS = (performance.now() - started) / 1000
  console.log(`park        ${parked} of ${parkedCount} polls parked in ${parkS.toFixed(1)} s` +
    (failures.size > 0 ? `; failed polls: ${[...failures].map(([k, v]) => `${v} × ${k}`).join(', ')}` : '') +
    (parked < parkedCount ? ` (stopped after ${PARK_TIMEOUT_MS / 1000} s: the figures below are for ${parked})` : ''))

  const rssAfter = rssKb()
  console.log(`rss         ${(rssBefore / 1024).toFixed(0)} MB before, ${(rssAfter / 1024).toFixed(0)} MB with ${parked} parked ` +
    `(${parked > 0 ? ((rssAfter - rssBefore) / parked).toFixed(1) : '-'} kB per parked poll)`)

  await sleep(1000) // let the parking settle
  const cpu0 = cpuTicks()
  await sleep(5000)
  const cpuPct = (cpuTicks() - cpu0) / clkTck / 5 * 100
  console.log(`idle cpu    ${cpuPct.toFixed(1)} % of one core over 5 s with ${parked} parked`)

  const postMs: number[] = []
  const healthMs: number[] = []
  for (let i = 0; i < POSTS; i++) {
    const post = { running: true }
    const probing = (async () => {
      // Health probes back to back for as long as the post runs (at least one).
      do {
        const t0 = performance.now()
        await call('GET', '/health')
        healthMs.push(performance.now() - t0)
      } while (post.running)
    })()
    const t0 = performance.now()
    const res = await call('POST', '/tasks', { project: 'other', tasks: [{ id: `other-${i}`, description: 'wakes nobody' }] })
    postMs.push(performance.now() - t0)
    post.running = false
    await probing
    if (res.status !== 201) throw new Error(`POST /tasks answered ${res.status}`)
    await sleep(200)
  }
  const stillParked = await waiting()
  console.log(`post        ${POSTS} posts to another project with ${parked} parked: ` +
    `median ${median(postMs).toFixed(1)} ms, max ${Math.max(...postMs).toFixed(1)} ms` +
    (stillParked < parked ? ` (${parked - stillParked} polls were answered meanwhile)` : ''))
  console.log(`health      ${healthMs.length} probes during those posts: median ${median(healthMs).toFixed(1)} ms, max ${Math.max(...healthMs).toFixed(1)} ms`)
} finally {
  await polls.destroy().catch(() => {})
  await probe.close().catch(() => {})
  server.kill('SIGTERM')
  const exited = await Promise.race([new Promise((resolve) => server.once('exit', () => resolve(true))), sleep(15_000, false)])
  if (exited !== true) server.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
  clearTimeout(watchdog)
}

/** Send one long poll that stays parked; its end (only at shutdown, or on error) is counted by cause. */
function park (pool: Dispatcher, worker: string, failures: Map<string, number>): void {
  pool.request({ origin: url, method: 'GET', path: `/tasks/next?worker=${worker}&wait=${WAIT_S}&project=idle` })
    .then(async (res) => { await res.body.dump() })
    .catch((err: Error & { code?: string }) => {
      const key = err.code ?? err.name
      failures.set(key, (failures.get(key) ?? 0) + 1)
    })
}

async function call (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await request(url + path, {
    dispatcher: probe,
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? null : JSON.parse(text) }
}

/** Polls the server counts as waiting. */
async function waiting (): Promise<number> {
  return ((await call('GET', '/status?project=idle')).body as { workers: { waiting: number } }).workers.waiting
}

/** Check every 250 ms until true or `ms` pass; false on timeout. */
async function until (check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = performance.now() + ms
  while (performance.now() < end) {
    try {
      if (await check()) return true
    } catch {}
    await sleep(250)
  }
  return false
}

/** The server's resident memory in kB. */
function rssKb (): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN)
}

/** The server's user + system CPU time in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
function cpuTicks (): number {
  // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return Number(fields[11]) + Number(fields[12])
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? NaN
}

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const addr = s.address()
      s.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}
