// 10 workers × 200 tasks over real sockets, each running the worker loop (report-and-next): every task
// is completed exactly once and none is handed out twice.
import t from 'tap'
import { CoordClient } from '../clients/client.js'
import { runWorker, type WorkerCounts } from '../clients/worker-loop.js'
import { listen, post } from './helper.js'

t.test('10 concurrent workers complete 200 tasks exactly once', async (t) => {
  const { app, url } = await listen(t)
  const client = new CoordClient(url)
  t.teardown(() => client.close())
  const ids = Array.from({ length: 200 }, (_, i) => `task-${String(i).padStart(3, '0')}`)
  // Workers start parked before any task exists, so posting races with waiting polls.
  const received = new Map<string, string[]>()
  const worker = async (id: string): Promise<WorkerCounts> => {
    const got: string[] = []
    received.set(id, got)
    return runWorker(client, { worker: id, project: 'load', wait: 10 }, async ({ task }) => {
      got.push(task.id)
      return { status: 'completed', summary: `done by ${id}` }
    })
  }
  const workers = Array.from({ length: 10 }, (_, i) => worker(`w${i}`))
  for (let i = 0; i < ids.length; i += 50) {
    const res = await post(app, '/tasks', {
      project: 'load', close: i + 50 >= ids.length, tasks: ids.slice(i, i + 50).map((id) => ({ id, description: `do ${id}` })),
    })
    t.equal(res.statusCode, 201)
  }
  const counts = await Promise.all(workers)
  t.ok(counts.every((c) => c.ended === 'finished' && c.refused === 0), 'every worker ran until the project finished, no report refused')

  const handedOut = [...received.values()].flat()
  t.equal(handedOut.length, 200, 'exactly 200 hand-outs')
  t.same([...new Set(handedOut)].sort(), ids, 'every task handed out once, none twice')
  t.ok([...received.values()].filter((g) => g.length > 0).length > 1, 'the work was spread over several workers')
  const status = (await app.inject('/status?project=load')).json()
  t.equal(status.counts.completed, 200)
  t.equal(status.done, true)
  const events = (await app.inject('/events?project=load&limit=1000')).json().events
  t.equal(events.filter((e: any) => e.type === 'task.claimed').length, 200)
  t.equal(events.filter((e: any) => e.type === 'task.completed').length, 200)
  const tasks = (await app.inject('/tasks?project=load&limit=500')).json().tasks
  t.ok(tasks.every((x: any) => x.attempts === 1), 'no task needed a second attempt')
})
