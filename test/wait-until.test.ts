/**
 * waitUntil (the logic of `coord wait` and MCP `wait_for`) against the real app over a real socket:
 * each condition, attention, time passing, and a cursor that neither misses nor repeats an event.
 */
import t, { type Test } from 'tap'
import { CoordClient } from '../clients/client.js'
import { waitUntil, type WaitResult } from '../clients/wait-until.js'
import type { Event } from '../src/schemas/events.js'
import { claim, listen, post, postTasks, report, sleep } from './helper.js'

/** A real server and a client for it, both closed when the test ends. */
async function setup (t: Test, env: Record<string, unknown> = {}): Promise<{ app: Awaited<ReturnType<typeof listen>>['app'], client: CoordClient }> {
  const { app, url } = await listen(t, env)
  const client = new CoordClient(url)
  t.teardown(() => client.close())
  return { app, client }
}

/** Run `act` 300 ms into a wait and time how long the wait took after it. */
async function during (wait: Promise<WaitResult>, act: () => Promise<unknown>): Promise<{ result: WaitResult, afterActMs: number }> {
  await sleep(300)
  await act()
  const acted = Date.now()
  const result = await wait
  return { result, afterActMs: Date.now() - acted }
}

t.test('until done: a finished project returns at once; an open one when its last task finishes', async (t) => {
  const { app, client } = await setup(t)
  await postTasks(app, ['a'])
  await post(app, '/projects/p1/close')
  const a = await claim(app, 'w1')
  const started = Date.now()
  const pending = waitUntil(client, { project: 'p1', after: 0 }, { waitS: 30 })
  const { result, afterActMs } = await during(pending, () => report(app, a))
  t.equal(result.outcome, 'done')
  t.ok(result.met)
  t.ok(afterActMs < 5000, `returned ${afterActMs} ms after the last report, not at the end of its 30 s wait`)
  t.same(result.finished, [{ taskId: 'a', state: 'completed' }])

  const again = await waitUntil(client, { project: 'p1', after: result.after }, { waitS: 30 })
  t.equal(again.outcome, 'done', 'already done: at once')
  t.ok(Date.now() - started < 20_000)
  t.same(again.finished, [], 'events before the cursor are not repeated')
})

t.test('until any: the first finish ends the wait; the next wait from its cursor does not see it again', async (t) => {
  const { app, client } = await setup(t)
  await postTasks(app, ['a', 'b'])
  const a = await claim(app, 'w1')
  const seen: Event[] = []
  const pending = waitUntil(client, { project: 'p1', until: 'any', after: 0 }, { waitS: 30, onEvent: (e) => seen.push(e) })
  const { result, afterActMs } = await during(pending, () => report(app, a))
  t.equal(result.outcome, 'done')
  t.ok(afterActMs < 5000, `returned ${afterActMs} ms after the report`)
  t.same(result.finished, [{ taskId: 'a', state: 'completed' }])
  t.same(seen.map((e) => e.type), ['task.completed'], 'only relevant events are passed on')

  const next = await waitUntil(client, { project: 'p1', until: 'any', after: result.after }, { waitS: 1 })
  t.equal(next.outcome, 'timeout', 'nothing new after the cursor')
  t.same(next.finished, [])
})

t.test('given tasks: finished ones count at once, the wait ends when the last one finishes', async (t) => {
  const { app, client } = await setup(t)
  await postTasks(app, ['a', 'b', 'c'])
  await report(app, await claim(app, 'w1'))
  await claim(app, 'w1')
  const feed = (project: string | null): number => { t.equal(project, 'p1', 'the feed of the tasks\' project'); return 0 }
  const pending = waitUntil(client, { tasks: ['a', 'b'], after: feed }, { waitS: 30 })
  await sleep(300)
  const early = await Promise.race([pending.then(() => 'returned'), sleep(700).then(() => 'waiting')])
  t.equal(early, 'waiting', 'b is not finished yet')
  const { result, afterActMs } = await during(pending, () => post(app, '/tasks/b/cancel', { reason: 'not needed' }))
  t.equal(result.outcome, 'done')
  t.ok(afterActMs < 5000, `returned ${afterActMs} ms after the cancel`)
  t.same(result.pending, [])
  t.same(new Set(result.finished.map((f) => `${f.taskId}:${f.state}`)), new Set(['a:completed', 'b:canceled']))

  const unknown = waitUntil(client, { tasks: ['nope'], after: 0 }, { waitS: 1 })
  await t.rejects(unknown, { name: 'CoordApiError', code: 'TASK_NOT_FOUND' }, 'an unknown task is an error, not a wait')
})

t.test('attention: a task failed for good', async (t) => {
  const { app, client } = await setup(t)
  await postTasks(app, ['a'], { maxAttempts: 1 })
  const a = await claim(app, 'w1')
  const pending = waitUntil(client, { project: 'p1', after: 0 }, { waitS: 30 })
  const { result, afterActMs } = await during(pending, () => report(app, a, 'failed', { summary: 'the file does not exist' }))
  t.equal(result.outcome, 'attention')
  t.ok(afterActMs < 5000, `returned ${afterActMs} ms after the failure`)
  t.match(result.attention, [{ reason: 'task_failed', taskId: 'a', message: 'the file does not exist' }])
  t.match(result.message, /failed for good/)
})

t.test('attention: a worker blocked with a question', async (t) => {
  const { app, client } = await setup(t)
  await postTasks(app, ['a'])
  const a = await claim(app, 'w1')
  const pending = waitUntil(client, { tasks: ['a'], after: 0 }, { waitS: 30 })
  const { result, afterActMs } = await during(pending, () => report(app, a, 'blocked', { question: 'Which locale?' }))
  t.equal(result.outcome, 'attention')
  t.ok(afterActMs < 5000, `returned ${afterActMs} ms after the question`)
  t.match(result.attention, [{ reason: 'task_blocked', taskId: 'a', worker: 'w1', message: 'Which locale?' }])
  t.same(result.pending, ['a'])
})

t.test('attention: a worker gone offline that lost its task (waits chained past a 1 s server cap)', async (t) => {
  const { app, client } = await setup(t, { COORD_OFFLINE_SECONDS: 2, COORD_MAX_WAIT_SECONDS: 1, COORD_DEFAULT_WAIT_SECONDS: 0 })
  await postTasks(app, ['a'], { leaseSeconds: 3 })
  await claim(app, 'w1')
  const progress: number[] = []
  const result = await waitUntil(client, { project: 'p1', after: 0 }, { waitS: 30, onProgress: (s) => progress.push(s) })
  t.equal(result.outcome, 'attention')
  t.match(result.attention, [{ reason: 'worker_offline', worker: 'w1', taskId: 'a' }])
  t.ok(result.waitedS < 15, `offline noticed after ${result.waitedS} s`)
  t.ok(progress.length >= 1, 'progress reported between the chained polls')
})

t.test('time passing: timeout with the cursor advanced', async (t) => {
  const { app, client } = await setup(t)
  await postTasks(app, ['a'])
  const started = Date.now()
  const result = await waitUntil(client, { project: 'p1', after: 0 }, { waitS: 2 })
  const took = Date.now() - started
  t.equal(result.outcome, 'timeout')
  t.notOk(result.met)
  t.ok(took >= 1500 && took < 10_000, `waited about 2 s (${took} ms)`)
  t.ok(result.after > 0, 'the cursor moved past the events seen')
})

t.test('attention: a task waiting for review, and a task escalated by its checks', async (t) => {
  const root = t.testdir()
  const { app, client } = await setup(t, { COORD_WORKSPACE_ROOTS: root, COORD_MAX_CHECK_REJECTIONS: 1 })
  const batch = {
    project: 'p1',
    workspace: root,
    tasks: [
      { id: 'r', description: 'reviewed', review: true },
      { id: 'c', description: 'checked', checks: [{ kind: 'file-exists', path: 'out/c.md' }] },
    ],
  }
  t.equal((await post(app, '/tasks', batch)).statusCode, 201)
  const r = await claim(app, 'w1')
  const c = await claim(app, 'w2')

  const reviewWait = waitUntil(client, { tasks: ['r'], after: 0 }, { waitS: 30 })
  const reviewed = await during(reviewWait, () => report(app, r, 'completed', { deliverables: ['out/r.md'] }))
  t.equal(reviewed.result.outcome, 'attention')
  t.ok(reviewed.afterActMs < 5000, `returned ${reviewed.afterActMs} ms after the report`)
  t.match(reviewed.result.attention, [{ reason: 'task_review', taskId: 'r', message: 'deliverables: out/r.md' }])
  t.match(reviewed.result.message, /task r waits for your review/)
  t.same(reviewed.result.pending, ['r'], 'a task in review is not finished')

  const checkWait = waitUntil(client, { tasks: ['c'], after: reviewed.result.after }, { waitS: 30 })
  const escalated = await during(checkWait, async () => t.equal((await report(app, c)).statusCode, 422))
  t.equal(escalated.result.outcome, 'attention')
  t.match(escalated.result.attention, [{ reason: 'task_escalated', kind: 'checks', taskId: 'c', worker: 'w2', message: /out\/c\.md/ }])
  t.match(escalated.result.message, /task c was escalated \(checks\)/)
  t.notOk(escalated.result.attention.some((a) => a.taskId === 'r'), 'the review seen before the cursor is not repeated')
})
