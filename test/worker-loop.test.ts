// runWorker (clients/worker-loop.ts) over real sockets: it stops on its signal without losing a
// finished task's report, and carries on past a refused (409) report.
import t, { type Test } from 'tap'
import { CoordClient } from '../clients/client.js'
import { runWorker } from '../clients/worker-loop.js'
import { eventually, listen, post } from './helper.js'

async function setup (t: Test): Promise<{ app: Awaited<ReturnType<typeof listen>>['app'], client: CoordClient }> {
  const { app, url } = await listen(t)
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
  t.same(await run, { completed: 0, failed: 0, blocked: 0, refused: 0, ended: 'aborted' })
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
  t.same(counts, { completed: 1, failed: 0, blocked: 0, refused: 1, ended: 'finished' }, 'a refused (canceled), b completed, then 410')
})
