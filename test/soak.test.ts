// Short form of `npm run test:faults`' soak (scripts/soak.ts): many parked long polls over real sockets
// while tasks keep arriving; every task reaches a parked worker quickly and no poll hangs.
import t from 'tap'
import { Agent, request } from 'undici'
import { listen, post, sleep } from './helper.js'

t.test('200 parked polls for 6 s: every posted task is delivered and completed, every poll answers within its wait', async (t) => {
  const { app, url } = await listen(t)
  const agent = new Agent({ connections: 250 })
  t.teardown(() => agent.close())
  const end = Date.now() + 6000
  const postedAt = new Map<string, number>()
  const seen = { delivered: 0, slowestPollMs: 0, slowestDeliveryMs: 0 }
  const worker = async (id: string): Promise<void> => {
    while (Date.now() < end) {
      const started = Date.now()
      const res = await request(`${url}/tasks/next?worker=${id}&wait=2&project=soak`, { dispatcher: agent })
      seen.slowestPollMs = Math.max(seen.slowestPollMs, Date.now() - started)
      if (res.statusCode !== 200) { await res.body.dump(); continue }
      const a = (await res.body.json()) as { task: { id: string }, lease: { leaseId: string } }
      seen.slowestDeliveryMs = Math.max(seen.slowestDeliveryMs, Date.now() - (postedAt.get(a.task.id) ?? 0))
      const r = await request(`${url}/tasks/${a.task.id}/report`, {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ worker: id, leaseId: a.lease.leaseId, status: 'completed', summary: 'ok' }),
      })
      await r.body.dump()
      if (r.statusCode === 200) seen.delivered++
    }
  }
  const workers = Array.from({ length: 200 }, (_, i) => worker(`s${i}`))
  await sleep(500)
  let posted = 0
  while (Date.now() < end - 2500) {
    const id = `soak-${posted++}`
    postedAt.set(id, Date.now())
    t.equal((await post(app, '/tasks', { project: 'soak', tasks: [{ id, description: 'soak' }] })).statusCode, 201)
    await sleep(50)
  }
  await Promise.all(workers)
  t.equal(seen.delivered, posted, `all ${posted} tasks were delivered and completed`)
  t.ok(seen.slowestDeliveryMs < 2000, `a posted task reached a parked worker within ${seen.slowestDeliveryMs} ms`)
  t.ok(seen.slowestPollMs < 4500, `no poll outlived its 2 s wait by much (${seen.slowestPollMs} ms)`)
})
