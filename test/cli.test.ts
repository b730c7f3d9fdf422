/**
 * The `coord` CLI as workers use it: every command a fresh child process started through the root
 * executable `coord` of a checkout, from a folder that is not the checkout, the leases carried between
 * commands only by the state directory. The server runs in-process on a real socket.
 *
 * The CLI runs built: `before` compiles the sources into a scratch checkout (its own `dist/`, the
 * root `coord` copied in, package.json, node_modules and src/ (migrations) linked), so the test runs exactly what a user
 * runs and never touches the repository's `dist/`. Coverage does not follow these child processes.
 */
import t, { type Test } from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Task } from '../src/schemas/tasks.js'
import { build, eventually, listen, tempDir } from './helper.js'
import { freePort } from '../scripts/free-port.js'

// Each CLI run is a Node process start (seconds on a loaded 2-core machine); the build takes ~30 s.
t.setTimeout(600_000)

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** The scratch checkout, with `coord` at its root and the CLI built into its `dist/`. */
const CHECKOUT = tempDir('coord-checkout-')
const COORD = join(CHECKOUT, 'coord')
/** The folder every command runs in: it must stay empty (the CLI writes only to its state dir). */
const CWD = tempDir('coord-cwd-')
/** XDG_STATE_HOME of every command: where the default state dir goes. */
const STATE_HOME = tempDir('coord-state-')

t.before(() => {
  for (const name of ['package.json', 'node_modules', 'src']) symlinkSync(join(ROOT, name), join(CHECKOUT, name))
  copyFileSync(join(ROOT, 'coord'), COORD)
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  const built = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(CHECKOUT, 'dist')], { encoding: 'utf8' })
  if (built.status !== 0) throw new Error(`building the CLI failed: ${built.stdout}${built.stderr}`)
})
// The scratch build is several MB: do not leave one behind per run.
t.teardown(() => rmSync(CHECKOUT, { recursive: true, force: true }))

interface Run { code: number | null, stdout: string, stderr: string }

interface RunOptions { url?: string, input?: string, cwd?: string, exe?: string, env?: NodeJS.ProcessEnv }

/** Start `coord args...` (the root executable, by absolute path) in a child process. */
function start (args: string[], opts: RunOptions = {}): ReturnType<typeof spawn> {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_STATE_HOME: STATE_HOME, ...opts.env }
  delete env.COORD_WORKER
  delete env.COORD_STATE_DIR
  delete env.NODE_OPTIONS // tap's loader: the CLI runs as users run it
  if (opts.url !== undefined) env.COORD_URL = opts.url
  return spawn(opts.exe ?? COORD, args, { env, cwd: opts.cwd ?? CWD, stdio: ['pipe', 'pipe', 'pipe'] })
}

/** Run `coord args...` to the end. */
function coord (args: string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = start(args, opts)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin?.end(opts.input ?? '')
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

t.test('next and report in separate processes: the lease comes from the state dir', async (t) => {
  const url = await startServer(t)
  const dir = t.testdir()
  await postTasks(url, { project: 'p1', tasks: [{ id: 'task-1', description: 'Write the summary', acceptance: ['under 200 words'] }] })

  const next = await coord(['--state-dir', dir, 'next', '--worker', 'w1', '--wait', '5'], { url })
  t.equal(next.code, 0, `next exits 0 (stderr: ${next.stderr})`)
  t.match(next.stdout, /Task task-1 \(project p1/)
  t.match(next.stdout, /Write the summary/)
  t.match(next.stdout, /under 200 words/)
  t.notOk(readdirSync(dir).includes('worker.json'), 'no "last worker" pointer: the dir is shared by every chat')
  const leaseId = savedState(dir, 'w1').leases['task-1']?.leaseId
  t.type(leaseId, 'string', 'lease saved for task-1')
  t.match(next.stdout, leaseId as string, 'the printed lease is the saved one')

  // No --worker: w1 is the one worker here holding task-1's lease.
  const reportArgs = ['--state-dir', dir, 'report', 'task-1', '--status', 'completed', '--summary', 'Summary written.',
    '--deliverable', 'out/summary.md', '--context-score', '4']
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
  t.equal(retry.stdout.split('\n').length, 2, '--json is one compact line')
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
  const empty = await coord(['--state-dir', dir, 'report', 'only', '--status', 'completed', '--summary', 'done',
    '--next', '--wait', '1', '--project', 'p2'], { url })
  t.equal(empty.code, 2, `report --next with nothing queued exits 2 (stderr: ${empty.stderr})`)
  t.match(empty.stdout, /No task yet for worker w2/)
  t.ok(Date.now() - started >= 1000, 'it long-polled for the wait')

  const again = await coord(['--state-dir', dir, '--worker', 'w2', 'next', '--project', 'p2', '--wait', '1'], { url })
  t.equal(again.code, 2, 'next with nothing queued exits 2')

  const closed = await coord(['close', 'p2'], { url })
  t.equal(closed.code, 0)
  const finished = await coord(['--state-dir', dir, '--worker', 'w2', 'next', '--project', 'p2', '--wait', '1'], { url })
  t.equal(finished.code, 3, 'next on a closed, finished project exits 3')
  t.match(finished.stdout, /All tasks done.*You may stop/)
  const asJson = await coord(['--state-dir', dir, '--worker', 'w2', 'next', '--project', 'p2', '--json'], { url })
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
  t.same(JSON.parse(created.stdout), { project: 'p4', created: ['a1', 'a2'], existing: [], closed: false, overlaps: [] })

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

  // Two workers here, but only w-a holds a lease for for-a.
  const report = await coord(['--state-dir', dir, 'report', 'for-a', '--status', 'completed', '--summary', 'done by a'], { url })
  t.equal(report.code, 0, report.stderr)
  const task = await getTask(url, 'for-a')
  t.equal(task.state, 'completed')
  t.equal(task.result?.worker, 'w-a')
  t.equal((await getTask(url, 'for-b')).worker, 'w-b', 'the other worker keeps its task')

  const next = await coord(['--state-dir', dir, 'next', '--wait', '0'], { url })
  t.equal(next.code, 1, 'next without --worker is refused: nothing is guessed')
  t.match(next.stderr, /No worker id: pass --worker[\s\S]*\/coord next --worker YOUR_WORKER_ID --url \S+ --state-dir \S+ --wait 0/, 'the error shows the command with --worker')
  const heartbeat = await coord(['--state-dir', dir, 'heartbeat', '--json'], { url })
  t.equal(heartbeat.code, 0, heartbeat.stderr)
  t.equal((JSON.parse(heartbeat.stdout) as { worker: string }).worker, 'w-b', 'heartbeat acts as the one worker here with a live lease')
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
  const env: NodeJS.ProcessEnv = { COORD_URL: `http://127.0.0.1:${port}` }
  const child = start(['events', '--follow', '--wait', '1'], { env })
  t.teardown(() => { child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
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

  const server = start(['serve', '--port', '0', '--db', ':memory:', '--log-level', 'info', '--lease-seconds', '7'])
  t.teardown(() => { server.kill('SIGTERM') })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    server.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)
      if (m?.[1] !== undefined) resolve(m[1])
    })
    server.on('close', (code) => reject(new Error(`serve exited ${String(code)}: ${out}`)))
  })
  await postTasks(url, { tasks: [{ id: 'short', description: 'short lease' }] })
  const next = await coord(['--state-dir', t.testdir(), '--worker', 'w5', 'next', '--json'], { url })
  t.equal(next.code, 0, next.stderr)
  const assigned = JSON.parse(next.stdout) as { assignment: { lease: { leaseSeconds: number } } }
  t.equal(assigned.assignment.lease.leaseSeconds, 7, '--lease-seconds reached the server')
})

t.test('the root executable runs from any folder, by path or through a symlink, and writes nothing there', async (t) => {
  t.ok((statSync(join(ROOT, 'coord')).mode & 0o111) !== 0, 'the committed coord is executable')
  const url = await startServer(t)
  await postTasks(url, { project: 'anywhere', tasks: [{ id: 'x1', description: 'x' }] })
  const elsewhere = tempDir('coord-elsewhere-')
  const bin = join(tempDir('coord-bin-'), 'coord')
  symlinkSync(COORD, bin)
  const version = await coord(['--version'], { exe: bin, cwd: elsewhere })
  t.equal(version.code, 0, `through a symlink (stderr: ${version.stderr})`)
  const next = await coord(['next', '--worker', 'any-1', '--wait', '1'], { url, cwd: elsewhere })
  t.equal(next.code, 0, next.stderr)
  t.same(readdirSync(elsewhere), [], 'nothing written in the current folder')
  const stateDir = join(STATE_HOME, 'coord', `127.0.0.1_${new URL(url).port}`)
  t.ok(readdirSync(stateDir).includes('worker-any-1.json'), 'the lease went to $XDG_STATE_HOME/coord/<host_port>')
  const report = await coord(['report', 'x1', '--worker', 'any-1', '--status', 'completed', '--summary', 'ok'], { url, cwd: tempDir() })
  t.equal(report.code, 0, `reported from yet another folder with the saved lease (stderr: ${report.stderr})`)

  const bare = tempDir('coord-unbuilt-')
  copyFileSync(COORD, join(bare, 'coord'))
  const unbuilt = await coord(['--version'], { exe: join(bare, 'coord') })
  t.equal(unbuilt.code, 1)
  t.match(unbuilt.stderr, /not built yet[\s\S]*npm ci/, 'a checkout without dist/ says what to run')
})

t.test('hints repeat the flags the command was given, heartbeat interval included', async (t) => {
  const url = await startServer(t)
  const dir = tempDir()
  await postTasks(url, { project: 'docs', tasks: [{ id: 'task-001', description: 'long one', leaseSeconds: 600 }] })
  const next = await coord(['next', '--worker', 'w1', '--project', 'docs', '--wait', '540', '--state-dir', dir], { url })
  t.equal(next.code, 0, next.stderr)
  t.match(next.stdout, `When done: ${COORD} report task-001 --worker w1 --url ${url} --state-dir ${dir} ` +
    '--status completed --summary "..." --next --project docs --wait 540')
  t.match(next.stdout, 'Heartbeat at least every 300 s while you work (between steps, and before any step that may take longer): ' +
    `${COORD} heartbeat --worker w1 --url ${url} --state-dir ${dir}`)
  const hb = await coord(['heartbeat', '--worker', 'w1', '--state-dir', dir], { url })
  t.equal(hb.code, 0, hb.stderr)
  t.match(hb.stdout, /Task task-001: lease \S+ \(attempt 1\) expires \S+ \(in (599|600) s of a 600 s lease\)/)
  t.match(hb.stdout, 'Heartbeat at least every 300 s')
  const done = await coord(['report', 'task-001', '--worker', 'w1', '--state-dir', dir, '--status', 'completed', '--summary', 'ok',
    '--next', '--project', 'docs', '--wait', '0'], { url })
  t.equal(done.code, 2, done.stderr)
  t.match(done.stdout, `Run \`${COORD} next --worker w1 --url ${url} --state-dir ${dir} --project docs --wait 0\` again`)
})

t.test('next --wait and report --next chain long polls past the server\'s cap', async (t) => {
  const url = (await listen(t, { COORD_MAX_WAIT_SECONDS: 1, COORD_DEFAULT_WAIT_SECONDS: 1 })).url
  const dir = tempDir()
  const waitingPolls = async (): Promise<number> => {
    const status = (await (await fetch(`${url}/status`)).json()) as { workers: { waiting: number } }
    return status.workers.waiting
  }
  /** Post `id` once the CLI has been waiting in polls for 2.5 s: more than two of the server's 1 s polls. */
  const postWhileWaiting = async (id: string): Promise<number> => {
    t.ok(await eventually(async () => (await waitingPolls()) > 0, 60_000), 'the CLI is polling')
    await new Promise((resolve) => setTimeout(resolve, 2500))
    await postTasks(url, { tasks: [{ id, description: 'posted after 2.5 s of waiting' }] })
    return Date.now()
  }

  const waiting = coord(['next', '--worker', 'w1', '--wait', '30', '--state-dir', dir], { url })
  const postedAt = await postWhileWaiting('late')
  const next = await waiting
  t.equal(next.code, 0, `the task posted after 2.5 s arrived in the same command (stderr: ${next.stderr})`)
  t.match(next.stdout, /Task late/)
  t.match(next.stderr, /coord: no task yet, waited \d+ s of 30 s; still waiting/, 'progress on stderr between the chained polls')
  t.ok(Date.now() - postedAt < 10_000, 'it came soon after the post, not at the end of the 30 s')

  const reporting = coord(['report', 'late', '--worker', 'w1', '--state-dir', dir, '--status', 'completed', '--summary', 'ok',
    '--next', '--wait', '30', '--json'], { url })
  const postedNextAt = await postWhileWaiting('later')
  const report = await reporting
  t.equal(report.code, 0, report.stderr)
  const lines = report.stdout.trim().split('\n')
  t.equal(lines.length, 1, 'one compact JSON line')
  const body = JSON.parse(lines[0] as string) as { task: { state: string }, next: { status: string, assignment: { task: { id: string } } } }
  t.equal(body.task.state, 'completed')
  t.equal(body.next.assignment.task.id, 'later', 'the next task came through the chained wait')
  t.match(report.stderr, /still waiting/)
  t.ok(Date.now() - postedNextAt < 10_000)
})

t.test('--json prints exactly one compact JSON object per line', async (t) => {
  const url = await startServer(t)
  await postTasks(url, { project: 'j', tasks: [{ id: 'j1', description: 'x' }, { id: 'j2', description: 'y' }] })
  for (const args of [['status'], ['workers'], ['show', 'j1'], ['tasks', '--project', 'j'], ['events', '--after', '0']]) {
    const run = await coord(['--json', ...args], { url })
    t.equal(run.code, 0, run.stderr)
    const lines = run.stdout.split('\n').filter((l) => l !== '')
    t.equal(lines.length, 1, `${args[0] ?? ''}: one line`)
    t.doesNotThrow(() => JSON.parse(lines[0] as string))
  }
  t.same(readdirSync(CWD), [], 'no CLI command of this file wrote into its current folder')
})
