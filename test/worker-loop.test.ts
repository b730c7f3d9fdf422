// runWorker (clients/worker-loop.ts) over real sockets: it stops on its signal without losing a
// finished task's report, and carries on past a refused (409) report.
import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CoordClient } from '../clients/client.js'
import { runWorker } from '../clients/worker-loop.js'
import { eventually, listen, post } from './helper.js'

async function setup (t: Test, env: Record<string, unknown> = {}): Promise<{ app: Awaited<ReturnType<typeof listen>>['app'], client: CoordClient }> {
  const { app, url } = await listen(t, env)
  const client = new CoordClient(url)
  t.teardown(() => client.close())
  return { app, client }
}

t.test('aborting a parked worker ends the loop at once', async (t) => {
  const { app, client } = await setup(t)
  const ac = new AbortController()
  const run = runWorker(client, { worker: 'w1', wait: 30 }, async () => ({ status: 'completed', summary: 'ok' }), { signal: ac.signal })
  t.ok(await eventually(async () => (await app.inject('/status')).json().workers.waiting === 1), 'parked')
  const started = Date.now()
  ac.abort()
  t.same(await run, { completed: 0, failed: 0, blocked: 0, refused: 0, rejected: 0, escalated: 0, ended: 'aborted' })
  t.ok(Date.now() - started < 2000, 'without waiting out the 30 s poll')
})

t.test('aborting during the work still reports the task, then stops', async (t) => {
  const { app, client } = await setup(t)
  t.equal((await post(app, '/tasks', { tasks: [{ id: 'a', description: 'a' }, { id: 'b', description: 'b' }] })).statusCode, 201)
  const ac = new AbortController()
  const done: string[] = []
  const counts = await runWorker(client, { worker: 'w1', wait: 1 }, async ({ task }) => {
    ac.abort()
    return { status: 'completed', summary: `did ${task.id}` }
  }, { signal: ac.signal, onReport: ({ task }) => done.push(task.id) })
  t.equal(counts.ended, 'aborted')
  t.equal(counts.completed, 1)
  t.same(done, ['a'])
  const tasks = (await app.inject('/tasks')).json().tasks
  t.same(tasks.map((x: { id: string, state: string }) => [x.id, x.state]), [['a', 'completed'], ['b', 'submitted']], 'a reported; b not claimed')
})

t.test('a refused report is counted and the loop goes on to the next task', async (t) => {
  const { app, client } = await setup(t)
  t.equal((await post(app, '/tasks', { project: 'p', close: true, tasks: [{ id: 'a', description: 'a' }, { id: 'b', description: 'b' }] })).statusCode, 201)
  const counts = await runWorker(client, { worker: 'w1', project: 'p', wait: 1 }, async ({ task }) => {
    if (task.id === 'a') t.equal((await post(app, '/tasks/a/cancel', { reason: 'changed my mind' })).statusCode, 200)
    return { status: 'completed', summary: `did ${task.id}` }
  })
  t.same(counts, { completed: 1, failed: 0, blocked: 0, refused: 1, rejected: 0, escalated: 0, ended: 'finished' },
    'a refused (canceled), b completed, then 410')
})

t.test('a report the checks refuse goes back to the handler with what failed; one refusal too many moves on', async (t) => {
  const root = t.testdir()
  const { app, client } = await setup(t, { COORD_WORKSPACE_ROOTS: root, COORD_MAX_CHECK_REJECTIONS: 2 })
  const check = (file: string): unknown => ({ kind: 'file-nonempty', path: file })
  const batch = {
    project: 'p',
    close: true,
    workspace: root,
    tasks: [
      { id: 'fixed', description: 'fixed on the second try', checks: [check('fixed.md')] },
      { id: 'never', description: 'never fixed', checks: [check('never.md')] },
    ],
  }
  t.equal((await post(app, '/tasks', batch)).statusCode, 201)
  const calls: Array<{ id: string, failed: string[], rejections?: number }> = []
  // The project cannot finish while `never` waits for the engineer: stop after its last try, which is still reported.
  const ac = new AbortController()
  const counts = await runWorker(client, { worker: 'w1', project: 'p', wait: 1 }, async ({ task }, rejection) => {
    calls.push({ id: task.id, failed: rejection?.failed.map((f) => f.message) ?? [], rejections: rejection?.rejections })
    if (task.id === 'fixed' && rejection !== undefined) writeFileSync(join(root, 'fixed.md'), 'done\n')
    if (task.id === 'never' && rejection !== undefined) ac.abort()
    return { status: 'completed', summary: `did ${task.id}` }
  }, { signal: ac.signal })
  t.same(counts, { completed: 1, failed: 0, blocked: 0, refused: 0, rejected: 3, escalated: 1, ended: 'aborted' })
  t.match(calls, [
    { id: 'fixed', failed: [] },
    { id: 'fixed', failed: [/fixed\.md/], rejections: 1 },
    { id: 'never', failed: [] },
    { id: 'never', failed: [/never\.md/], rejections: 1 },
  ])
  t.equal(calls.length, 4, 'no third try after the task went to the engineer')
  const tasks = (await app.inject('/tasks?project=p')).json().tasks
  t.same(tasks.map((x: { id: string, state: string }) => [x.id, x.state]), [['fixed', 'completed'], ['never', 'input-required']])
})
