/**
 * The `coord` CLI as workers use it: every command a fresh child process, the worker id and lease
 * carried between them only by the state directory. The server runs in-process on a real socket.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Task } from '../src/schemas/tasks.js'
import { build, eventually, listen, tempDir } from './helper.js'

// Every CLI run is a child process compiling TypeScript through tap's ts-node loader (2-4 s each).
t.setTimeout(300_000)

const CLI = fileURLToPath(new URL('../clients/cli.ts', import.meta.url))

interface Run { code: number | null, stdout: string, stderr: string }

/**
 * Run `coord args...` in a child process. `process.execArgv` carries tap's TypeScript loader
 * (`--import=.../@tapjs/typescript/...`), so the child runs `clients/cli.ts` from source.
 */
function coord (args: string[], opts: { url?: string, input?: string } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.COORD_WORKER
  delete env.COORD_STATE_DIR
  if (opts.url !== undefined) env.COORD_URL = opts.url
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(opts.input ?? '')
  })
}

/** A port nothing listens on (yet). */
async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const addr = s.address()
      s.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}

/** A listening server (in-memory store) for this test; closed at teardown by the helper. */
async function startServer (t: Test): Promise<string> {
  return (await listen(t)).url
}

async function postTasks (url: string, body: unknown): Promise<void> {
  const res = await fetch(`${url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (res.status !== 201) throw new Error(`POST /tasks answered ${res.status}: ${await res.text()}`)
}

async function getTask (url: string, id: string): Promise<Task> {
  const res = await fetch(`${url}/tasks/${id}`)
  return ((await res.json()) as { task: Task }).task
}

function savedState (dir: string, worker: string): { leases: Record<string, { leaseId: string }> } {
  return JSON.parse(readFileSync(join(dir, `worker-${worker}.json`), 'utf8')) as { leases: Record<string, { leaseId: string }> }
}

t.test('next and report in separate processes: worker id and lease come from the state dir', async (t) => {
  const url = await startServer(t)
  const dir = t.testdir()
  await postTasks(url, { project: 'p1', tasks: [{ id: 'task-1', description: 'Write the summary', acceptance: ['under 200 words'] }] })

  const next = await coord(['--state-dir', dir, 'next', '--worker', 'w1', '--wait', '5'], { url })
  t.equal(next.code, 0, `next exits 0 (stderr: ${next.stderr})`)
  t.match(next.stdout, /Task task-1 \(project p1/)
  t.match(next.stdout, /Write the summary/)
  t.match(next.stdout, /under 200 words/)
  t.same(JSON.parse(readFileSync(join(dir, 'worker.json'), 'utf8')), { worker: 'w1' }, 'pointer to the last worker id')
  const leaseId = savedState(dir, 'w1').leases['task-1']?.leaseId
  t.type(leaseId, 'string', 'lease saved for task-1')
  t.match(next.stdout, leaseId as string, 'the printed lease is the saved one')

  const reportArgs = [
    '--state-dir', dir, 'report', 'task-1', '--status', 'completed', '--summary', 'Summary written.',
    '--deliverable', 'out/summary.md', '--context-score', '4',
  ]
  const report = await coord(reportArgs, { url })
  t.equal(report.code, 0, `report exits 0 (stderr: ${report.stderr})`)
  t.match(report.stdout, /task task-1 is now completed/)

  const task = await getTask(url, 'task-1')
  t.equal(task.state, 'completed')
  t.equal(task.result?.worker, 'w1')
  t.equal(task.result?.summary, 'Summary written.')
  t.same(task.result?.deliverables, ['out/summary.md'])
  t.equal(task.result?.contextScore, 4)
  t.same(savedState(dir, 'w1').leases, {}, 'the live lease is cleared')

  const retry = await coord([...reportArgs, '--json'], { url })
  t.equal(retry.code, 0, `the retried report exits 0 (stderr: ${retry.stderr})`)
  const body = JSON.parse(retry.stdout) as { duplicate: boolean, task: Task }
  t.equal(body.duplicate, true)
  t.equal(body.task.state, 'completed')
})

t.test('next exits 2 on an empty queue and 3 once the project is closed and finished', async (t) => {
  const url = await startServer(t)
  const dir = t.testdir()
  await postTasks(url, { project: 'p2', tasks: [{ id: 'only', description: 'the only task' }] })

  const first = await coord(['--state-dir', dir, '--worker', 'w2', 'next', '--project', 'p2', '--wait', '1'], { url })
  t.equal(first.code, 0)
  const started = Date.now()
  const empty = await coord(
    ['--state-dir', dir, 'report', 'only', '--status', 'completed', '--summary', 'done', '--next', '--wait', '1', '--project', 'p2'], { url })
  t.equal(empty.code, 2, `report --next with nothing queued exits 2 (stderr: ${empty.stderr})`)
  t.match(empty.stdout, /No task yet for worker w2/)
  t.ok(Date.now() - started >= 1000, 'it long-polled for the wait')

  const again = await coord(['--state-dir', dir, 'next', '--project', 'p2', '--wait', '1'], { url })
  t.equal(again.code, 2, 'next with nothing queued exits 2')

  const closed = await coord(['close', 'p2'], { url })
  t.equal(closed.code, 0)
  const finished = await coord(['--state-dir', dir, 'next', '--project', 'p2', '--wait', '1'], { url })
  t.equal(finished.code, 3, 'next on a closed, finished project exits 3')
  t.match(finished.stdout, /All tasks done.*You may stop/)
  const asJson = await coord(['--state-dir', dir, 'next', '--project', 'p2', '--json'], { url })
  t.equal(asJson.code, 3)
  t.equal((JSON.parse(asJson.stdout) as { status: string }).status, 'finished')
})

t.test('a refused report (409) exits 4 and drops the stale lease', async (t) => {
  const url = await startServer(t)
  const dir = t.testdir()
  await postTasks(url, { project: 'p3', tasks: [{ id: 'doomed', description: 'will be canceled' }] })
  t.equal((await coord(['--state-dir', dir, '--worker', 'w3', 'next', '--wait', '1'], { url })).code, 0)
  t.ok(savedState(dir, 'w3').leases.doomed, 'lease saved')

  const canceled = await coord(['cancel', 'doomed', '--reason', 'not needed'], { url })
  t.equal(canceled.code, 0)
  const report = await coord(['--state-dir', dir, 'report', 'doomed', '--status', 'completed', '--summary', 'too late'], { url })
  t.equal(report.code, 4)
  t.match(report.stderr, /TASK_CANCELED/)
  t.same(savedState(dir, 'w3').leases, {}, 'stale lease removed')
  t.equal((await getTask(url, 'doomed')).state, 'canceled')
})

t.test('a report from another folder (no saved lease) finds the lease on the server', async (t) => {
  const url = await startServer(t)
  await postTasks(url, { project: 'p5', tasks: [{ id: 'elsewhere', description: 'x' }] })
  t.equal((await coord(['--state-dir', tempDir(), '--worker', 'w5', 'next', '--wait', '1'], { url })).code, 0)
  const other = tempDir()
  const report = await coord(['--state-dir', other, '--worker', 'w5', 'report', 'elsewhere', '--status', 'completed', '--summary', 'done'], { url })
  t.equal(report.code, 0, report.stderr)
  t.equal((await getTask(url, 'elsewhere')).state, 'completed')
  const stranger = await coord(['--state-dir', other, '--worker', 'w6', 'report', 'elsewhere', '--status', 'completed', '--summary', 'x'], { url })
  t.equal(stranger.code, 1)
  t.match(stranger.stderr, /never held a lease on task elsewhere/)
})

t.test('create reads a bare array from stdin; heartbeat defaults to the saved lease', async (t) => {
  const url = await startServer(t)
  const dir = t.testdir()
  const input = JSON.stringify([{ id: 'a1', description: 'first' }, { id: 'a2', description: 'second' }])
  const created = await coord(['create', '-', '--project', 'p4', '--json'], { url, input })
  t.equal(created.code, 0, created.stderr)
  t.same(JSON.parse(created.stdout), { project: 'p4', created: ['a1', 'a2'], existing: [], closed: false })

  t.equal((await coord(['--state-dir', dir, '--worker', 'w4', 'next', '--wait', '1'], { url })).code, 0)
  const hb = await coord(['--state-dir', dir, 'heartbeat', '--json'], { url })
  t.equal(hb.code, 0, hb.stderr)
  const lease = JSON.parse(hb.stdout) as { taskId: string, worker: string }
  t.equal(lease.taskId, 'a1')
  t.equal(lease.worker, 'w4')
})

t.test('workers sharing one state dir: report finds the worker that holds the task', async (t) => {
  const url = await startServer(t)
  const dir = t.testdir()
  await postTasks(url, { project: 'p6', tasks: [{ id: 'for-a', description: 'first' }, { id: 'for-b', description: 'second' }] })
  t.equal((await coord(['--state-dir', dir, '--worker', 'w-a', 'next', '--wait', '1'], { url })).code, 0)
  t.equal((await coord(['--state-dir', dir, '--worker', 'w-b', 'next', '--wait', '1'], { url })).code, 0)

  // worker.json now names w-b, but only w-a holds a lease for for-a.
  const report = await coord(['--state-dir', dir, 'report', 'for-a', '--status', 'completed', '--summary', 'done by a'], { url })
  t.equal(report.code, 0, report.stderr)
  const task = await getTask(url, 'for-a')
  t.equal(task.state, 'completed')
  t.equal(task.result?.worker, 'w-a')
  t.equal((await getTask(url, 'for-b')).worker, 'w-b', 'the other worker keeps its task')

  const next = await coord(['--state-dir', dir, 'next', '--wait', '0'], { url })
  t.match(next.stderr, /acting as worker w-b.*w-a share this directory/s, 'an ambiguous id is pointed out')
})

t.test('clear errors: no worker id, server not running', async (t) => {
  const dir = t.testdir()
  const noWorker = await coord(['--state-dir', dir, 'next', '--wait', '0'], { url: 'http://127.0.0.1:9' })
  t.equal(noWorker.code, 1)
  t.match(noWorker.stderr, /pass --worker/)

  const down = await coord(['status'], { url: 'http://127.0.0.1:9' })
  t.equal(down.code, 1)
  t.match(down.stderr, /http:\/\/127\.0\.0\.1:9.*connection refused.*coord serve/s)
})

t.test('events --follow: started before the server, retries with growing pauses, then prints events', async (t) => {
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env, COORD_URL: `http://127.0.0.1:${port}` }
  const child = spawn(process.execPath, [...process.execArgv, CLI, 'events', '--follow', '--wait', '1'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  // Pauses 1 s, 2 s: the third refusal comes about 3 s after the first.
  t.ok(await eventually(() => /Retrying in 4 s/.test(stderr), 30_000), `the follower said it retries later (stderr: ${stderr})`)
  t.match(stderr, /connection refused[\s\S]*Retrying in 1 s \(after=0\)[\s\S]*Retrying in 2 s/)
  t.equal(child.exitCode, null, 'still running')
  const app = await build(t)
  await app.listen({ port, host: '127.0.0.1' })
  t.equal((await app.inject({ method: 'POST', url: '/tasks', payload: { project: 'p', tasks: [{ id: 'a', description: 'a' }] } })).statusCode, 201)
  t.ok(await eventually(() => /#1 \S+ task\.created project=p task=a/.test(stdout), 15_000), `the event was printed once the server was up (stdout: ${stdout})`)
  t.equal((stderr.match(/Retrying/g) ?? []).length, 3, 'three refused polls: before, 1 s and 3 s after the first; then the server answered')
})

t.test('serve: flags map to settings; an invalid setting exits 78', async (t) => {
  const bad = await coord(['serve', '--lease-seconds', '0'])
  t.equal(bad.code, 78)
  t.match(bad.stderr, /COORD_LEASE_SECONDS/)

  const server = spawn(process.execPath, [...process.execArgv, CLI, 'serve', '--port', '0', '--db', ':memory:', '--log-level', 'info', '--lease-seconds', '7'])
  t.teardown(() => { server.kill('SIGTERM') })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    server.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)
      if (m?.[1] !== undefined) resolve(m[1])
    })
    server.on('close', (code) => reject(new Error(`serve exited ${String(code)}: ${out}`)))
  })
  await postTasks(url, { tasks: [{ id: 'short', description: 'short lease' }] })
  const next = await coord(['--state-dir', t.testdir(), '--worker', 'w5', 'next', '--json'], { url })
  t.equal(next.code, 0, next.stderr)
  const granted = JSON.parse(next.stdout) as { assignment: { lease: { leaseSeconds: number } } }
  t.equal(granted.assignment.lease.leaseSeconds, 7, '--lease-seconds reached the server')
})
