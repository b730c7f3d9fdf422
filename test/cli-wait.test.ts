/**
 * `coord wait` as a coordinator chat runs it: a child process against a real server, its exit code
 * telling what happened, `--json` lines that parse one by one, and the cursor kept in the state
 * directory between runs.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCoord } from './coord-process.js'
import { claim, eventually, listen, post, postTasks, report } from './helper.js'

// Each run is a child process compiling TypeScript through tap's loader (2-4 s each, more under load).
t.setTimeout(300_000)

const coord = runCoord

/** Every stdout line parsed as JSON (throws on a line that is not one compact JSON value). */
function jsonLines (stdout: string): any[] {
  return stdout.trimEnd().split('\n').map((line) => JSON.parse(line))
}

t.test('until done with --json: returns soon after the last task finishes, one JSON object per line; the cursor is saved', async (t) => {
  // A 1 s cap on long polls: the wait chains polls and reports progress on stderr between them.
  const { app, url } = await listen(t, { COORD_MAX_WAIT_SECONDS: 1, COORD_DEFAULT_WAIT_SECONDS: 0, COORD_OFFLINE_SECONDS: 60 })
  const dir = t.testdir()
  await postTasks(app, ['a'])
  await post(app, '/projects/p1/close')
  const a = await claim(app, 'w1')
  let reportedAt = 0
  const run = await coord(url, ['--state-dir', dir, '--json', 'wait', '--project', 'p1', '--wait', '120'], (text) => {
    if (reportedAt === 0 && text.includes('still waiting')) {
      reportedAt = Date.now()
      void report(app, a)
    }
  })
  t.equal(run.code, 0, `exit 0: done (stderr: ${run.stderr})`)
  t.ok(reportedAt > 0, 'progress was reported while waiting')
  t.ok(run.endedAt - reportedAt < 10_000, `ended ${run.endedAt - reportedAt} ms after the report, not at the end of its 120 s wait`)
  t.notMatch(run.stdout, /\n\s/, 'compact: no pretty-printed JSON')
  const lines = jsonLines(run.stdout)
  const last = lines.at(-1)
  t.match(last, { outcome: 'done', met: true, project: 'p1', finished: [{ taskId: 'a', state: 'completed' }] })
  const events = lines.slice(0, -1)
  t.ok(events.every((e) => typeof e.seq === 'number' && typeof e.type === 'string'), 'the lines before the outcome are events')
  t.ok(events.some((e) => e.type === 'task.completed' && e.taskId === 'a'), 'the finishing event is printed')
  t.ok(events.some((e) => e.type === 'project.finished'), 'the project\'s end is printed')
  t.equal(JSON.parse(readFileSync(join(dir, 'coordinator-p1.json'), 'utf8')).after, last.after, 'cursor saved for this project')

  // The next run continues from the saved cursor: nothing new, so the time passes (exit 2).
  const again = await coord(url, ['--state-dir', dir, 'wait', '--project', 'p1', '--until', 'any', '--wait', '2'])
  t.equal(again.code, 2, `exit 2: nothing new after the cursor (stderr: ${again.stderr})`)
  t.match(again.stdout, /Nothing decisive within \d+ s/)
  t.notMatch(again.stdout, /task\.completed/, 'the event seen by the first run is not repeated')
})

t.test('attention: a blocked worker\'s question ends the wait with exit 5; given tasks already finished exit 0 at once', async (t) => {
  const { app, url } = await listen(t)
  const dir = t.testdir()
  await postTasks(app, ['a', 'b'], {}, 'p2')
  await report(app, await claim(app, 'w1'))
  await report(app, await claim(app, 'w2'), 'blocked', { question: 'Which locale should the dates use?' })

  const blocked = await coord(url, ['--state-dir', dir, 'wait', '--project', 'p2', '--wait', '30'])
  t.equal(blocked.code, 5, `exit 5: needs the coordinator (stderr: ${blocked.stderr})`)
  t.match(blocked.stdout, /task\.input_required/)
  t.match(blocked.stdout, /task b is blocked: Which locale should the dates use\?/)

  const given = await coord(url, ['--state-dir', dir, '--json', 'wait', '--task', 'a', '--wait', '30'])
  t.equal(given.code, 0, `exit 0: task a was finished already (stderr: ${given.stderr})`)
  t.match(jsonLines(given.stdout).at(-1), { outcome: 'done', pending: [], finished: [{ taskId: 'a', state: 'completed' }] })

  const unknown = await coord(url, ['--state-dir', dir, 'wait', '--task', 'nope', '--wait', '1'])
  t.equal(unknown.code, 1, 'exit 1: an unknown task is an error')
  t.match(unknown.stderr, /TASK_NOT_FOUND/)
})

t.test('attention: a task waiting for review ends the wait with exit 5 and says so', async (t) => {
  const { app, url } = await listen(t)
  await postTasks(app, ['r'], { review: true }, 'p3')
  await report(app, await claim(app, 'w1'), 'completed', { deliverables: ['guide.md'] })
  const run = await coord(url, ['--state-dir', t.testdir(), 'wait', '--project', 'p3', '--wait', '30'])
  t.equal(run.code, 5, `exit 5: needs the coordinator (stderr: ${run.stderr})`)
  t.match(run.stdout, /task\.review_required project=p3 task=r/)
  t.match(run.stdout, /task r waits for your review \(deliverables: guide\.md\)/)
})

t.test('a finished project exits 0 at once: other projects\' workers going offline do not wake it', async (t) => {
  const { app, url } = await listen(t, { COORD_OFFLINE_SECONDS: 1, COORD_MAX_WAIT_SECONDS: 1, COORD_DEFAULT_WAIT_SECONDS: 0 })
  await postTasks(app, ['a'], {}, 'done-p')
  await post(app, '/projects/done-p/close')
  await report(app, await claim(app, 'w1'))
  await postTasks(app, ['x'], { leaseSeconds: 1 }, 'other')
  await claim(app, 'w2', '&project=other') // w2 lets its lease lapse: it goes offline naming x (project other)
  await claim(app, 'w3', '&project=nothing') // w3 goes quiet holding nothing
  const offline = async (): Promise<any[]> => (await app.inject('/events')).json().events.filter((e: any) => e.type === 'worker.offline')
  t.ok(await eventually(async () => (await offline()).length === 3, 10_000), 'w1, w2 and w3 went offline')
  t.match(await offline(), [{ worker: 'w1', taskId: null }, { worker: 'w2', taskId: 'x', project: 'other' }, { worker: 'w3', taskId: null }])
  const run = await coord(url, ['--state-dir', t.testdir(), 'wait', '--project', 'done-p', '--wait', '30'])
  t.equal(run.code, 0, `exit 0: the project is done (stderr: ${run.stderr})`)
  t.match(run.stdout, /Done: project done-p done\./)
  t.notMatch(run.stdout, /went offline/)
  const all = await coord(url, ['--state-dir', t.testdir(), 'wait', '--wait', '5'])
  t.equal(all.code, 5, 'watching every project, the lost task needs the coordinator')
  t.match(all.stdout, /worker w2 went offline and lost task x/)
})
