import t from 'tap'
import { build, claim, post, postTasks, report } from './helper.js'

t.test('a batch is created atomically and listed', async (t) => {
  const app = await build(t)
  const res = await post(app, '/tasks', {
    project: 'p1',
    tasks: [
      { id: 'task-001', type: 'summarize', description: 'one', acceptance: ['short'], files: { read: ['a.md'], write: ['a.out'] }, context: { file: 'a.md' } },
      { id: 'task-002', description: 'two', priority: 5 },
      { description: 'generated id' },
    ],
  })
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.equal(body.project, 'p1')
  t.same(body.created.slice(0, 2), ['task-001', 'task-002'])
  t.match(body.created[2], /^task-[0-9a-f-]{36}$/)
  t.same(body.existing, [])

  const one = (await app.inject('/tasks/task-001')).json()
  t.match(one.task, {
    id: 'task-001',
    type: 'summarize',
    state: 'submitted',
    attempts: 0,
    acceptance: ['short'],
    files: { read: ['a.md'], write: ['a.out'] },
    context: { file: 'a.md' },
    leaseSeconds: 120,
    maxAttempts: 3,
  })
  t.equal(one.events[0].type, 'task.created')

  const list = (await app.inject('/tasks?project=p1&limit=2')).json()
  t.same(list.tasks.map((x: { id: string }) => x.id), ['task-001', 'task-002'])
  t.type(list.nextAfter, 'number')
  const rest = (await app.inject(`/tasks?project=p1&limit=2&after=${list.nextAfter}`)).json()
  t.equal(rest.tasks.length, 1)
  t.equal(rest.nextAfter, null)

  // Higher priority is handed out first.
  t.equal((await claim(app, 'w1')).task.id, 'task-002')
  const working = (await app.inject('/tasks?state=working&worker=w1')).json()
  t.same(working.tasks.map((x: { id: string }) => x.id), ['task-002'])
})

t.test('re-posting identical tasks is an idempotent no-op; other content under the same id is 409', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a', 'b'])
  const again = await post(app, '/tasks', { project: 'p1', tasks: [{ id: 'a', description: 'do a' }, { id: 'b', description: 'do b' }] })
  t.equal(again.statusCode, 200)
  t.same(again.json(), { project: 'p1', created: [], existing: ['a', 'b'], closed: false, overlaps: [] })

  const mixed = await post(app, '/tasks', { project: 'p1', tasks: [{ id: 'a', description: 'do a' }, { id: 'c', description: 'do c' }] })
  t.equal(mixed.statusCode, 201)
  t.same(mixed.json().created, ['c'])
  t.same(mixed.json().existing, ['a'])

  const conflict = await post(app, '/tasks', { project: 'p1', tasks: [{ id: 'd', description: 'new' }, { id: 'b', description: 'changed' }] })
  t.equal(conflict.statusCode, 409)
  t.equal(conflict.json().code, 'TASK_CONFLICT')
  t.same(conflict.json().details.conflicts, [{ id: 'b', fields: ['description'] }])
  t.equal((await app.inject('/tasks/d')).statusCode, 404, 'nothing of a conflicting batch is created')

  const otherProject = await post(app, '/tasks', { project: 'p2', tasks: [{ id: 'a', description: 'do a' }] })
  t.equal(otherProject.statusCode, 409, 'task ids are global: the same id in another project conflicts')
  t.same(otherProject.json().details.conflicts[0].fields, ['project'])
})

t.test('duplicate ids inside one batch are refused', async (t) => {
  const app = await build(t)
  const res = await post(app, '/tasks', { tasks: [{ id: 'x', description: '1' }, { id: 'x', description: '2' }] })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'DUPLICATE_TASK_ID')
  t.equal((await app.inject('/tasks')).json().tasks.length, 0)
})

t.test('a closed project takes follow-up tasks until it finishes; a finished one takes none but accepts identical repeats', async (t) => {
  const app = await build(t)
  const res = await post(app, '/tasks', { project: 'p1', close: true, tasks: [{ id: 'a', description: 'do a' }] })
  t.equal(res.statusCode, 201)
  t.equal(res.json().closed, true)
  t.equal((await post(app, '/tasks', { project: 'p1', tasks: [{ id: 'a', description: 'do a' }] })).statusCode, 200)
  const followUp = await post(app, '/tasks', { project: 'p1', tasks: [{ id: 'b', description: 'do b' }] })
  t.equal(followUp.statusCode, 201, 'closed but unfinished: a follow-up task is accepted')
  t.equal(followUp.json().closed, true)
  for (const id of ['a', 'b']) await report(app, await claim(app, `w-${id}`, '&project=p1'))
  t.equal((await app.inject('/status?project=p1')).json().done, true)
  t.equal((await post(app, '/tasks', { project: 'p1', tasks: [{ id: 'a', description: 'do a' }] })).statusCode, 200, 'an identical repeat is still fine')
  const late = await post(app, '/tasks', { project: 'p1', tasks: [{ id: 'c', description: 'do c' }] })
  t.equal(late.statusCode, 409)
  t.equal(late.json().code, 'PROJECT_CLOSED')
  t.match(late.json().message, /finished/)
})

t.test('tasks without a project belong to "default"', async (t) => {
  const app = await build(t)
  const res = await post(app, '/tasks', { tasks: [{ id: 'a', description: 'x' }] })
  t.equal(res.json().project, 'default')
  t.equal((await app.inject('/tasks/a')).json().task.project, 'default')
})

t.test('cancel: a queued task is never handed out; the holder of a working one gets 409', async (t) => {
  const app = await build(t)
  await postTasks(app, ['a', 'b'])
  const a = await claim(app, 'w1')
  t.equal(a.task.id, 'a')
  const c1 = await post(app, '/tasks/b/cancel', { reason: 'not needed' })
  t.equal(c1.statusCode, 200)
  t.equal(c1.json().state, 'canceled')
  t.equal(await claim(app, 'w2'), 204, 'the canceled task is not offered')
  t.equal((await post(app, '/tasks/a/cancel')).json().state, 'canceled')
  const hb = await post(app, '/tasks/a/heartbeat', { worker: 'w1', leaseId: a.lease.leaseId })
  t.equal(hb.statusCode, 409)
  t.equal(hb.json().code, 'TASK_CANCELED')
  t.equal((await post(app, '/tasks/a/cancel')).statusCode, 200, 'canceling twice is a no-op')
  t.equal((await post(app, '/tasks/zzz/cancel')).statusCode, 404)
  const hist = (await app.inject('/tasks/a')).json()
  t.equal(hist.leases[0].endReason, 'canceled')
})
