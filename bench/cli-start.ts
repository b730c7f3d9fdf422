/**
 * `npm run bench`, last part: how long a `coord` command takes, as a worker chat runs it (a fresh
 * process each time, through the checkout's root `coord`), against `node -e 0` and the same request
 * sent from a warm process, all in this one run. Goal (issue 15): each worker command within
 * 2 × `node -e 0` + the request itself, i.e. the ratio `command ÷ (2 × node + request)` ≤ 1.
 *
 * Each round runs, one after another: `node -e 0`; `coord --version`; a task is posted (not timed);
 * `coord next` (the task is ready: the poll answers at once); `coord heartbeat`; `coord report`;
 * `coord status`; then the same four requests from this process, each on a new connection as the
 * CLI makes them. Figures are medians over BENCH_CLI_RUNS rounds (default 15), in ms.
 * For reference it also times `node dist/clients/cli.js --version` (tsc's output, no bundle).
 * Numbers, not assertions.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { packageRoot } from '../src/paths.js'

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 15)
const COORD = join(packageRoot, 'coord')
const UNBUNDLED = join(packageRoot, 'dist', 'clients', 'cli.js')
const dir = mkdtempSync(join(tmpdir(), 'coord-cli-bench-'))
let server: ChildProcess | undefined

/** ms since `start` (a `process.hrtime.bigint()`). */
const since = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6

/** One HTTP request on a new connection; resolves with its status and body. */
function call (url: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body)
    const req = request(url + path, {
      method,
      agent: false,
      headers: { accept: 'application/json', ...(text === undefined ? {} : { 'content-type': 'application/json' }) },
    }, (res) => {
      let out = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { out += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: out }))
    })
    req.on('error', reject)
    req.end(text)
  })
}

/** Run a command to its end; its wall time in ms. @throws when it exits with another code than `expect` */
function timed (file: string, args: string[], env: NodeJS.ProcessEnv, expect = 0): number {
  const start = process.hrtime.bigint()
  const run = spawnSync(file, args, { env, encoding: 'utf8' })
  const ms = since(start)
  if (run.status !== expect) throw new Error(`${file} ${args.join(' ')} exited ${String(run.status)}: ${run.stderr}`)
  return ms
}

/** Time one request from this process. */
async function timedCall (url: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ ms: number, body: string }> {
  const start = process.hrtime.bigint()
  const res = await call(url, method, path, body)
  const ms = since(start)
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.body}`)
  return { ms, body: res.body }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] as number)
}

async function startServer (): Promise<string> {
  const port = 30_000 + Math.floor(Math.random() * 20_000)
  server = spawn(process.execPath, [join(packageRoot, 'dist', 'src', 'server.js')], {
    env: { ...process.env, PORT: String(port), COORD_DB: join(dir, 'coord.db'), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 600; i++) {
    try {
      if ((await call(url, 'GET', '/health')).status === 200) return url
    } catch { /* not up yet */ }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('the server did not start')
}

async function main (): Promise<void> {
  const url = await startServer()
  const env: NodeJS.ProcessEnv = { ...process.env, COORD_URL: url, COORD_STATE_DIR: join(dir, 'state'), COORD_WORKER: 'bench-cli' }
  const figures: Record<string, number[]> = {}
  const add = (name: string, ms: number): void => { (figures[name] ??= []).push(ms) }
  for (let i = 0; i <= RUNS; i++) {
    const round: Array<[string, number]> = []
    round.push(['node -e 0', timed(process.execPath, ['-e', '0'], env)])
    round.push(['--version', timed(COORD, ['--version'], env)])
    round.push(['unbundled --version', timed(process.execPath, [UNBUNDLED, '--version'], env)])
    const cli = `c${i}`
    const direct = `d${i}`
    await call(url, 'POST', '/tasks', { project: 'bench-cli', tasks: [{ id: cli, description: 'x' }, { id: direct, description: 'x' }] })
    round.push(['next', timed(COORD, ['next', '--project', 'bench-cli', '--wait', '5'], env)])
    round.push(['heartbeat', timed(COORD, ['heartbeat'], env)])
    round.push(['report', timed(COORD, ['report', cli, '--status', 'completed', '--summary', 'ok'], env)])
    round.push(['status', timed(COORD, ['status'], env)])
    const next = await timedCall(url, 'GET', '/tasks/next?worker=bench-direct&project=bench-cli&wait=5')
    const leaseId = (JSON.parse(next.body) as { lease: { leaseId: string } }).lease.leaseId
    round.push(['request next', next.ms])
    round.push(['request heartbeat', (await timedCall(url, 'POST', `/tasks/${direct}/heartbeat`, { worker: 'bench-direct', leaseId })).ms])
    round.push(['request report', (await timedCall(url, 'POST', `/tasks/${direct}/report`,
      { worker: 'bench-direct', leaseId, status: 'completed', summary: 'ok' })).ms])
    round.push(['request status', (await timedCall(url, 'GET', '/status')).ms])
    if (i > 0) for (const [name, ms] of round) add(name, ms) // round 0 warms the disk cache and the server
  }
  const m = (name: string): number => median(figures[name] ?? [])
  const f0 = (x: number): string => x.toFixed(0)
  const node = m('node -e 0')
  console.log(`\ncli start-up  ${new Date().toISOString()}  node ${process.version}  load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  console.log(`  medians of ${RUNS} rounds, ms; each command a fresh process through the root coord (the bundle)`)
  console.log(`  node -e 0 ${f0(node)}; coord --version ${f0(m('--version'))} (tsc's output without the bundle: ${f0(m('unbundled --version'))})`)
  console.log('  command            coord   request   2 × node + request   ratio   goal ≤ 1')
  const row = (name: string, requestMs: number): void => {
    const budget = 2 * node + requestMs
    const ratio = m(name) / budget
    console.log(`  ${name.padEnd(16)} ${f0(m(name)).padStart(7)} ${requestMs.toFixed(1).padStart(9)} ${f0(budget).padStart(20)}   ` +
      `${ratio.toFixed(2).padStart(5)}   ${ratio <= 1 ? 'met' : 'NOT met'}`)
  }
  row('--version', 0)
  for (const name of ['next', 'heartbeat', 'report', 'status']) row(name, m(`request ${name}`))
}

try {
  await main()
} finally {
  server?.kill('SIGTERM')
  rmSync(dir, { recursive: true, force: true })
}
