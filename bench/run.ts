/**
 * `npm run bench`: our server beside the floor (a bare Fastify app) and the peers (BullMQ on the local
 * Redis, pg-boss on the local PostgreSQL), each in its own process, with the load in separate processes
 * (`load.ts`); prints every figure, then each goal of issue 6 as a ratio measured in this same run.
 * A peer that is not reachable is skipped with a message, never faked. Numbers, not assertions.
 *
 * Env: BENCH_RUNS (3: each throughput figure is the median of that many runs, interleaved),
 * BENCH_SECONDS (3 per throughput run), BENCH_BIG (100000 queued tasks for the flat-cost figure).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const BIG = Number(process.env.BENCH_BIG ?? 100_000)
const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'coord-bench-'))
const children = new Set<ChildProcess>()
const watchdog = setTimeout(() => { console.error('bench: gave up after 20 minutes'); cleanup(); process.exit(1) }, 20 * 60_000)
watchdog.unref()

function cleanup (): void {
  for (const c of children) c.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
}

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))))
    })
  })
}

/** Start a server script on a free port; resolves with its URL once /health answers. */
async function serve (script: string, env: Record<string, string> = {}): Promise<{ url: string, child: ChildProcess }> {
  const port = await freePort()
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  children.add(child)
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 600; i++) {
    try {
      if ((await request(`${url}/health`)).statusCode < 500) return { url, child }
    } catch { /* not up yet */ }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${script} did not start`)
}

async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
  children.delete(child)
}

/** Run a load or peer script with a JSON job; its last stdout line is the JSON result. */
async function runJob<T> (script: string, job: unknown): Promise<T> {
  const child = spawn(process.execPath, [script, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.add(child)
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  const code = await new Promise((resolve) => child.once('exit', resolve))
  children.delete(child)
  const last = out.trim().split('\n').pop() ?? ''
  if (code !== 0) throw new Error(`${script} exited ${String(code)}: ${out}`)
  return JSON.parse(last) as T
}

async function postTasks (url: string, project: string, n: number, prefix = project): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    const tasks = Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ id: `${prefix}-${i + j}`, description: 'bench' }))
    const body = JSON.stringify({ project, tasks })
    const res = await request(`${url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    await res.body.text()
    if (res.statusCode >= 300) throw new Error(`posting tasks answered ${res.statusCode}`)
  }
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)] ?? NaN }
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN }
const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : 'n/a')
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a')

interface Rate { cycles: number, seconds: number, skipped?: string }
const rate = (r: Rate): number => r.cycles / r.seconds

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? '?'})`
console.log(`bench  ${new Date().toISOString()}  node ${process.version}  ${machine}  load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
console.log(`       median of ${RUNS} runs of ${SECONDS} s each; server: SQLite file, WAL, synchronous = FULL`)

const ours = await serve(here('../src/server.js'), { COORD_DB: join(dir, 'coord.db') })
const floor = await serve(here('floor.js'))
const load = here('load.js')
let run = 0
/** One throughput figure of ours: fresh project, enough tasks for the run posted first. */
async function oursCycle (workers: number, next: boolean): Promise<number> {
  const project = `c${++run}`
  await postTasks(ours.url, project, Math.max(2000, Math.ceil(workers * 600 * SECONDS / 8 + 3000 * SECONDS)))
  const r = await runJob<Rate>(load, { kind: 'cycle', url: ours.url, workers, seconds: SECONDS, project, next })
  return rate(r)
}

const figures: Record<string, number[]> = {}
const add = (k: string, v: number): void => { (figures[k] ??= []).push(v) }
for (let i = 0; i < RUNS; i++) {
  for (const w of [1, 8, 32]) {
    add(`floor ${w}`, rate(await runJob<Rate>(load, { kind: 'cycle', url: floor.url, workers: w, seconds: SECONDS, project: 'f', next: false })))
    add(`ours ${w}`, await oursCycle(w, false))
    add(`ours next ${w}`, await oursCycle(w, true))
  }
}
const m = (k: string): number => median(figures[k] ?? [])
console.log('\nfull worker cycle (GET /tasks/next, then POST /tasks/{id}/report completed), cycles/s')
console.log('  workers   floor (bare Fastify)   ours: next + report   ours: report?next=true (one request per cycle)')
for (const w of [1, 8, 32]) {
  console.log(`  ${String(w).padStart(7)}   ${f0(m(`floor ${w}`)).padStart(20)}   ${f0(m(`ours ${w}`)).padStart(19)}   ${f0(m(`ours next ${w}`)).padStart(19)}`)
}

const wakeOurs = await runJob<{ ms: number[] }>(load, { kind: 'wake', url: ours.url, parked: 100, rounds: 60, project: 'wake' })
console.log(`\nwake-up, 100 parked workers: ours p50 ${f2(pct(wakeOurs.ms, 0.5))} ms, p99 ${f2(pct(wakeOurs.ms, 0.99))} ms ` +
  '(send of POST /tasks to the parked poll answered)')
await stop(ours.child)
await stop(floor.child)

/** Report p50 (ms) with `queued` tasks waiting in the project, on a fresh server. */
async function reportAt (queued: number): Promise<number> {
  const s = await serve(here('../src/server.js'), { COORD_DB: join(dir, `flat-${queued}.db`) })
  await postTasks(s.url, 'q', queued + 400)
  const r = await runJob<{ ms: number[] }>(load, { kind: 'report', url: s.url, cycles: 400, project: 'q' })
  await stop(s.child)
  return median(r.ms.slice(50))
}
const small = await reportAt(1000)
const big = await reportAt(BIG)
console.log(`report p50: ${f2(small)} ms at 1,000 queued, ${f2(big)} ms at ${BIG.toLocaleString('en')} queued`)

const peer = async (script: string, job: unknown): Promise<Rate & { ms?: number[] }> => runJob(here(script), job)
const bull8: number[] = []
let bullSkip: string | undefined
for (let i = 0; i < RUNS && bullSkip === undefined; i++) {
  const r = await peer('peer-bullmq.js', { kind: 'cycle', workers: 8, seconds: SECONDS })
  if (r.skipped !== undefined) bullSkip = r.skipped
  else bull8.push(rate(r))
}
const bullWake = bullSkip === undefined ? await peer('peer-bullmq.js', { kind: 'wake', parked: 100, rounds: 60 }) : undefined
console.log(bullSkip !== undefined
  ? `\nBullMQ skipped: ${bullSkip}`
  : `\nBullMQ (local Redis, no persistence; concurrency 8): ${f0(median(bull8))} jobs/s; ` +
    `wake p50 ${f2(pct(bullWake?.ms ?? [], 0.5))} ms, p99 ${f2(pct(bullWake?.ms ?? [], 0.99))} ms (one Worker, concurrency 100)`)
const boss8: number[] = []
let bossSkip: string | undefined
for (let i = 0; i < RUNS && bossSkip === undefined; i++) {
  const r = await peer('peer-pgboss.js', { kind: 'cycle', workers: 8, batchSize: 10, seconds: SECONDS })
  if (r.skipped !== undefined) bossSkip = r.skipped
  else boss8.push(rate(r))
}
const bossWake = bossSkip === undefined ? await peer('peer-pgboss.js', { kind: 'wake', rounds: 10 }) : undefined
console.log(bossSkip !== undefined
  ? `pg-boss skipped: ${bossSkip}`
  : `pg-boss 10 (local PostgreSQL, fsync on; 8 workers, batchSize 10, polling 0.5 s): ${f0(median(boss8))} jobs/s` +
    (bossWake === undefined ? '' : `; wake p50 ${f2(pct(bossWake.ms ?? [], 0.5))} ms`))

const goal = (what: string, value: number, ok: boolean, target: string): void =>
  console.log(`  ${what.padEnd(54)} ${f2(value).padStart(8)}   goal ${target.padEnd(8)} ${Number.isFinite(value) ? (ok ? 'met' : 'NOT met') : 'skipped'}`)
console.log('\ngoals (ratios from this run)')
const r1 = m('ours next 32') / m('floor 32')
goal('full cycle, 32 workers ÷ bare Fastify two-request rate', r1, r1 >= 0.4, '≥ 0.40')
const r2 = m('ours next 8') / median(bull8)
goal('full cycle, 8 workers ÷ BullMQ', r2, r2 >= 1, '≥ 1.0')
const r3 = m('ours next 8') / median(boss8)
goal('full cycle, 8 workers ÷ pg-boss', r3, r3 >= 10, '≥ 10')
const r4 = m('ours next 32') / m('ours next 1')
goal('cycles/s at 32 workers ÷ at 1 worker', r4, r4 >= 8, '≥ 8')
goal('wake latency p50, 100 parked (ms)', pct(wakeOurs.ms, 0.5), pct(wakeOurs.ms, 0.5) <= 2, '≤ 2')
goal('wake latency p99, 100 parked (ms)', pct(wakeOurs.ms, 0.99), pct(wakeOurs.ms, 0.99) <= 10, '≤ 10')
goal(`report p50 at ${BIG / 1000} k queued ÷ at 1 k`, big / small, big / small <= 1.3, '≤ 1.3')
console.log('  (10,000 parked polls: RSS and idle CPU are printed by the parked-set part that follows)')
cleanup()
