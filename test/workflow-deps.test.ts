// Dependencies, hand-off and retry backoff, through the HTTP API.
import t from 'tap'
import { build, claim, listen, post, report } from './helper.js'

const batch = (tasks: unknown[], extra: Record<string, unknown> = {}) => ({ project: 'p', tasks, ...extra })

t.test('a dependent task is offered only after its dependencies complete, and its claim carries their results', async (t) => {
  const app = await build(t)
  const res = await post(app, '/tasks', batch([
    { id: 'merge', description: 'merge', dependsOn: ['a', 'b'] },
    { id: 'a', description: 'a' },
    { id: 'b', description: 'b' },
  ]))
  t.equal(res.statusCode, 201)
  t.same(res.json().created, ['merge', 'a', 'b'], 'posting order kept, even when a task names later ones')
  const held = (await app.inject('/tasks/merge')).json().task
  t.equal(held.state, 'submitted')
  t.equal(held.hold.kind, 'dependencies')
  t.same(held.hold.tasks, ['a', 'b'])
  const a = await claim(app, 'w1')
  const b = await claim(app, 'w2')
  t.same([a.task.id, b.task.id], ['a', 'b'], 'the dependent is skipped although posted first')
  t.equal(await claim(app, 'w3'), 204, 'nothing else is offerable')
  await report(app, a, 'completed', { deliverables: ['out/a.md'], details: { words: 150 } })
  t.equal(await claim(app, 'w3'), 204, 'one dependency is not enough')
  await report(app, b, 'completed', { deliverables: ['out/b.md'] })
  const m = await claim(app, 'w3')
  t.equal(m.task.id, 'merge')
  t.same(m.dependencies.map((d: any) => [d.id, d.summary, d.deliverables, d.worker]), [
    ['a', 'completed by w1', ['out/a.md'], 'w1'],
    ['b', 'completed by w2', ['out/b.md'], 'w2'],
  ])
  t.same(m.dependencies[0].details, { words: 150 }, 'details come along')
  const events = (await app.inject('/events?project=p')).json().events.map((e: any) => e.type)
  t.ok(events.includes('task.ready'), 'task.ready tells the coordinator the dependent became offerable')
})

t.test('a parked worker gets the dependent the moment its last dependency completes', async (t) => {
  const { app, url } = await listen(t)
  await post(app, '/tasks', batch([{ id: 'a', description: 'a' }, { id: 'b', description: 'b', dependsOn: ['a'] }]))
  const a = await claim(app, 'w1')
  const started = Date.now()
  const parked = fetch(`${url}/tasks/next?worker=w2&wait=20&project=p`)
  await new Promise((resolve) => setTimeout(resolve, 300))
  await report(app, a)
  const res = await parked
  t.equal(res.status, 200)
  t.equal(((await res.json()) as any).task.id, 'b')
  t.ok(Date.now() - started < 5000, `woken by the completion, not by the 20 s timeout (${Date.now() - started} ms)`)
})

t.test('unknown dependencies, cycles and dependencies that ended badly are refused; nothing is created', async (t) => {
  const app = await build(t)
  const unknown = await post(app, '/tasks', batch([{ id: 'x', description: 'x', dependsOn: ['nope', 'x2'] }, { id: 'x2', description: 'x2' }]))
  t.equal(unknown.statusCode, 400)
  t.equal(unknown.json().code, 'UNKNOWN_DEPENDENCY')
  t.same(unknown.json().details.unknown, ['nope'])
  t.match(unknown.json().message, /nope/)
  const cycle = await post(app, '/tasks', batch([
    { id: 'c1', description: '1', dependsOn: ['c3'] }, { id: 'c2', description: '2', dependsOn: ['c1'] }, { id: 'c3', description: '3', dependsOn: ['c2'] },
  ]))
  t.equal(cycle.statusCode, 400)
  t.equal(cycle.json().code, 'DEPENDENCY_CYCLE')
  t.match(cycle.json().message, /c1 → c3 → c2 → c1|c3 → c2 → c1 → c3|c2 → c1 → c3 → c2/)
  const self = await post(app, '/tasks', batch([{ id: 's', description: 's', dependsOn: ['s'] }]))
  t.equal(self.json().code, 'DEPENDENCY_CYCLE')
  await post(app, '/tasks', { project: 'other', tasks: [{ id: 'elsewhere', description: 'e' }] })
  const cross = await post(app, '/tasks', batch([{ id: 'y', description: 'y', dependsOn: ['elsewhere'] }]))
  t.equal(cross.json().code, 'UNKNOWN_DEPENDENCY', 'dependencies stay inside one project')
  t.equal((await app.inject('/tasks?project=p')).json().tasks.length, 0, 'no refused batch left a task behind')

  await post(app, '/tasks', batch([{ id: 'gone', description: 'g' }]))
  await post(app, '/tasks/gone/cancel', {})
  const dead = await post(app, '/tasks', batch([{ id: 'z', description: 'z', dependsOn: ['gone'] }]))
  t.equal(dead.statusCode, 400)
  t.equal(dead.json().code, 'DEPENDENCY_FAILED')
})

t.test('a dependency that fails for good cancels its dependents (transitively) with the reason', async (t) => {
  const app = await build(t)
  await post(app, '/tasks', batch([
    { id: 'a', description: 'a', maxAttempts: 1 },
    { id: 'b', description: 'b', dependsOn: ['a'] },
    { id: 'c', description: 'c', dependsOn: ['b'] },
    { id: 'd', description: 'd' },
  ], { close: true }))
  await report(app, await claim(app, 'w1'), 'failed')
  for (const id of ['b', 'c']) {
    const task = (await app.inject(`/tasks/${id}`)).json().task
    t.equal(task.state, 'canceled', `${id} is canceled`)
    t.equal(task.attention.kind, 'dependency')
    t.match(task.attention.message, id === 'b' ? /dependency a ended failed/ : /dependency b ended canceled/)
  }
  const canceled = (await app.inject('/events?project=p')).json().events.filter((e: any) => e.type === 'task.canceled')
  t.same(canceled.map((e: any) => [e.taskId, e.data.dependency]), [['b', 'a'], ['c', 'b']])
  await report(app, await claim(app, 'w2'))
  t.equal((await app.inject('/status?project=p')).json().done, true, 'the project finishes: nobody waits forever')
})

t.test('an answer gives a dead-lettered task another try and its dependency-canceled dependents wait again', async (t) => {
  const app = await build(t)
  await post(app, '/tasks', batch([{ id: 'a', description: 'a', maxAttempts: 1 }, { id: 'b', description: 'b', dependsOn: ['a'] }]))
  await report(app, await claim(app, 'w1'), 'failed')
  t.equal((await app.inject('/tasks/b')).json().task.state, 'canceled')
  const ans = await post(app, '/tasks/a/answer', { message: 'Use the mirror at /srv/data.', by: 'engineer' })
  t.equal(ans.statusCode, 200)
  t.equal(ans.json().state, 'submitted')
  t.equal((await app.inject('/tasks/b')).json().task.state, 'submitted', 'the dependent waits again')
  const again = await claim(app, 'w1')
  t.equal(again.task.id, 'a')
  t.same(again.task.notes.map((n: any) => [n.kind, n.message, n.by]), [['answer', 'Use the mirror at /srv/data.', 'engineer']])
  await report(app, again)
  t.equal((await claim(app, 'w2')).task.id, 'b')
})

t.test('a failed attempt is retried after a backoff that doubles; a lapsed lease is re-offered at once', async (t) => {
  const { app, url } = await listen(t, { COORD_RETRY_BACKOFF_SECONDS: 1, COORD_RETRY_BACKOFF_MAX_SECONDS: 60 })
  await post(app, '/tasks', batch([{ id: 'r', description: 'r', maxAttempts: 5 }]))
  const first = await claim(app, 'w1')
  const failedAt = Date.now()
  const failed = await report(app, first, 'failed')
  t.equal(failed.json().task.state, 'submitted')
  const task = (await app.inject('/tasks/r')).json().task
  t.equal(task.hold.kind, 'backoff')
  t.equal(await claim(app, 'w2'), 204, 'not offered during the backoff')
  const res = await fetch(`${url}/tasks/next?worker=w2&wait=20`)
  const waited = Date.now() - failedAt
  t.equal(res.status, 200, 'a parked poll gets it when the backoff ends, with no polling by the client')
  t.ok(waited > 900 && waited < 4000, `1 s after the failed report (${waited} ms)`)
  const second = (await res.json()) as any
  await report(app, second, 'failed')
  const retryAt = Date.parse((await app.inject('/tasks/r')).json().task.availableAt)
  t.ok(retryAt - Date.now() > 1200, 'the second backoff is about 2 s: it doubles')
  const feed = (await app.inject('/events?project=p')).json().events.filter((e: any) => e.type === 'task.failed')
  t.ok(feed.every((e: any) => typeof e.data.retryAt === 'string'), 'task.failed says when the retry comes')

  await post(app, '/tasks', { project: 'q', tasks: [{ id: 'lapse', description: 'l', leaseSeconds: 1 }] })
  t.equal((await claim(app, 'w3', '&project=q')).task.id, 'lapse')
  const parkedAt = Date.now()
  const reoffer = await fetch(`${url}/tasks/next?worker=w4&wait=20&project=q`)
  t.equal(reoffer.status, 200)
  t.equal(((await reoffer.json()) as any).task.id, 'lapse')
  t.ok(Date.now() - parkedAt < 3000, `re-offered as soon as the 1 s lease lapsed, no backoff (${Date.now() - parkedAt} ms)`)
})

t.test('priority and type routing still order the tasks a dependency releases', async (t) => {
  const app = await build(t)
  await post(app, '/tasks', batch([
    { id: 'base', description: 'base' },
    { id: 'low', description: 'low', dependsOn: ['base'], priority: 1 },
    { id: 'high', description: 'high', dependsOn: ['base'], priority: 9 },
    { id: 'merge', description: 'merge', type: 'merge', dependsOn: ['base'], priority: 100 },
  ]))
  await report(app, await claim(app, 'w1'))
  t.equal((await claim(app, 'w2', '&type=task')).task.id, 'high', 'higher priority first among the released tasks of the type')
  t.equal((await claim(app, 'w3', '&type=task')).task.id, 'low')
  t.equal((await claim(app, 'w4', '&type=merge')).task.id, 'merge', 'the merge type goes to the worker that polls for it')
})

t.test('a late completed report on a dead-lettered task completes it and its canceled dependents wait again', async (t) => {
  const { app } = await listen(t)
  await post(app, '/tasks', batch([{ id: 'slow', description: 's', maxAttempts: 1, leaseSeconds: 1 }, { id: 'after', description: 'n', dependsOn: ['slow'] }]))
  const a = await claim(app, 'w1')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  await claim(app, 'w9') // runs the expiry: slow is dead-lettered, next canceled with it
  t.equal((await app.inject('/tasks/after')).json().task.state, 'canceled')
  t.equal((await report(app, a)).json().task.state, 'completed', 'the work was done after all')
  t.equal((await app.inject('/tasks/after')).json().task.state, 'submitted')
  t.equal((await claim(app, 'w2')).task.id, 'after')
})

t.test('GET /status lists a held task however many plain tasks are queued before it', async (t) => {
  const app = await build(t)
  const plain = Array.from({ length: 600 }, (_, i) => ({ id: `plain-${i}`, description: 'plain' }))
  t.equal((await post(app, '/tasks', batch([{ id: 'gate', description: 'gate' }, ...plain]))).statusCode, 201)
  const q = [{ id: 'q-gate', description: 'gate' }, { id: 'q-late', description: 'late', dependsOn: ['q-gate'] }]
  t.equal((await post(app, '/tasks', { project: 'q', tasks: q })).statusCode, 201)
  t.equal((await post(app, '/tasks', batch([{ id: 'late', description: 'late', dependsOn: ['gate'] }]))).statusCode, 201)
  const heldOf = async (url: string): Promise<unknown> => (await app.inject(url)).json().held.map((h: any) => [h.taskId, h.project, h.kind])
  t.same(await heldOf('/status?project=p'), [['late', 'p', 'dependencies']], 'the one held task of p is listed, behind 601 others')
  t.same(await heldOf('/status'), [['q-late', 'q', 'dependencies'], ['late', 'p', 'dependencies']], 'across projects, in posting order')
})
