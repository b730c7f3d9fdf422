// The Store contract: what the lifecycle relies on from any storage backend. Each implementation
// (today SQLite in memory and on disk; PostgreSQL next) must pass the same suite.
import t from 'tap'
import { join } from 'node:path'
import { toSpec } from '../src/lifecycle/task-spec.js'
import type { TaskInput } from '../src/schemas/tasks.js'
import type { Store } from '../src/store/store.js'
import { openSqliteStore } from '../src/store/sqlite-open.js'
import { tempDir } from './helper.js'

const defaults = { leaseMs: 60_000, maxAttempts: 2 }
const T0 = 1_800_000_000_000

async function create (store: Store, project: string, inputs: TaskInput[], close = false, now = T0) {
  return store.createTasks(project, inputs, inputs.map((i) => toSpec(i, project, defaults)), close, now)
}

function contract (name: string, open: () => Store): void {
  t.test(`${name}: batches are idempotent and atomic`, async (t) => {
    const store = open()
    t.teardown(() => store.close())
    t.same(await create(store, 'p', [{ id: 'a', description: 'x' }]), { created: ['a'], existing: [], closed: false })
    t.same(await create(store, 'p', [{ id: 'a', description: 'x' }, { id: 'b', description: 'y' }]), { created: ['b'], existing: ['a'], closed: false })
    await t.rejects(create(store, 'p', [{ id: 'c', description: 'z' }, { id: 'a', description: 'changed' }]), { code: 'TASK_CONFLICT' })
    t.equal(await store.getTask('c'), null, 'nothing of the refused batch')
  })

  t.test(`${name}: claims follow priority, then posting order, and honour filters`, async (t) => {
    const store = open()
    t.teardown(() => store.close())
    await create(store, 'p', [{ id: 'low', description: 'x' }, { id: 'high', description: 'x', priority: 9 }, { id: 'typed', description: 'x', type: 'review' }])
    t.equal((await store.claim('w1', {}, T0))?.task.id, 'high')
    t.equal((await store.claim('w2', { type: 'review' }, T0))?.task.id, 'typed')
    t.equal(await store.claim('w3', { project: 'other' }, T0), null)
    const low = await store.claim('w3', {}, T0)
    t.match(low, { task: { id: 'low', state: 'working', attempts: 1, worker: 'w3' }, lease: { attempt: 1, worker: 'w3', expiresAt: new Date(T0 + 60_000).toISOString() } })
    t.equal(await store.claim('w4', {}, T0), null, 'queue empty')
    t.equal((await store.currentAssignment('w3', T0 + 1))?.lease.leaseId, low?.lease.leaseId)
    t.equal(await store.nextLeaseDeadline(), T0 + 60_000)
  })

  t.test(`${name}: a task a worker just failed goes to it again only when nothing else is queued`, async (t) => {
    const store = open()
    t.teardown(() => store.close())
    await create(store, 'p', [{ id: 'a', description: 'x', priority: 1 }, { id: 'b', description: 'x' }])
    const a = await store.claim('w1', {}, T0)
    await store.report('a', { worker: 'w1', leaseId: a?.lease.leaseId ?? '', status: 'failed', summary: 'no' }, T0)
    t.equal((await store.claim('w1', {}, T0))?.task.id, 'b', 'w1 gets other work first')
    t.equal((await store.claim('w2', {}, T0))?.task.id, 'a', 'another worker retries it')
    const list = await store.listTasks({ worker: 'w1', limit: 10 })
    t.same(list.tasks.map((x) => x.id), ['b'], 'a task lists under the worker of its latest lease')
  })

  t.test(`${name}: a worker may retry its own failure when nothing else is queued`, async (t) => {
    const store = open()
    t.teardown(() => store.close())
    await create(store, 'p', [{ id: 'a', description: 'x' }])
    const a = await store.claim('w1', {}, T0)
    await store.report('a', { worker: 'w1', leaseId: a?.lease.leaseId ?? '', status: 'failed', summary: 'no' }, T0)
    t.match(await store.claim('w1', {}, T0), { task: { id: 'a' }, lease: { attempt: 2 } })
  })

  t.test(`${name}: expiry requeues, then dead-letters; a release does not count`, async (t) => {
    const store = open()
    t.teardown(() => store.close())
    await create(store, 'p', [{ id: 'a', description: 'x' }], true)
    const first = await store.claim('w1', {}, T0)
    await store.release(first?.lease.leaseId ?? '', T0)
    t.equal((await store.getTask('a'))?.attempts, 0, 'released, uncounted')
    await store.claim('w1', {}, T0)
    t.equal(await store.expireLeases(T0 + 59_999), 0, 'not before the deadline')
    t.equal(await store.expireLeases(T0 + 60_000), 1)
    t.equal((await store.getTask('a'))?.state, 'submitted')
    await store.claim('w2', {}, T0 + 60_000)
    await store.expireLeases(T0 + 120_000)
    t.equal((await store.getTask('a'))?.state, 'failed', 'maxAttempts reached')
    t.equal(await store.isFinished('p'), true)
    t.equal(await store.nextLeaseDeadline(), null)
  })

  t.test(`${name}: reports: accept, duplicate, refuse-but-record`, async (t) => {
    const store = open()
    t.teardown(() => store.close())
    await create(store, 'p', [{ id: 'a', description: 'x' }])
    const a = await store.claim('w1', {}, T0)
    const body = { worker: 'w1', leaseId: a?.lease.leaseId ?? '', status: 'completed' as const, summary: 'ok' }
    await t.rejects(store.report('a', { ...body, worker: 'w2' }, T0), { code: 'LEASE_NOT_YOURS' })
    t.equal((await store.report('a', body, T0)).task.state, 'completed')
    t.equal((await store.report('a', body, T0)).duplicate, true)
    const h = await store.getHistory('a')
    t.same(h?.reports.map((r) => [r.worker, r.accepted, r.rejection]), [['w2', false, 'LEASE_NOT_YOURS'], ['w1', true, null]])
    await t.rejects(store.heartbeat('a', 'w1', body.leaseId, T0), { code: 'LEASE_ENDED' })
  })

  t.test(`${name}: projects, cancel, workers and events`, async (t) => {
    const store = open()
    t.teardown(() => store.close())
    t.equal(await store.isFinished(undefined), false, 'no project yet')
    await create(store, 'p', [{ id: 'a', description: 'x' }])
    await store.touchWorker('w1', T0)
    await store.closeProject('p', T0)
    t.equal(await store.isFinished('p'), false)
    await store.cancel('a', 'no longer needed', T0)
    t.equal(await store.isFinished('p'), true)
    await t.rejects(create(store, 'p', [{ id: 'b', description: 'x' }]), { code: 'PROJECT_CLOSED' })
    t.equal(await store.oldestOnlineLastSeen(new Set()), T0)
    t.equal(await store.markOffline(T0 + 1, new Set(['w1']), T0 + 5), 0, 'excepted workers stay online')
    t.equal(await store.markOffline(T0 + 1, new Set(), T0 + 5), 1)
    t.equal(await store.oldestOnlineLastSeen(new Set()), null)
    const events = await store.events(0, 'p', 100)
    t.same(events.map((e) => e.type), ['task.created', 'worker.registered', 'project.closed', 'task.canceled', 'project.finished', 'worker.offline'])
    t.same(events.map((e) => e.seq), [1, 2, 3, 4, 5, 6])
    t.same((await store.events(4, undefined, 1)).map((e) => e.seq), [5])
    t.match(await store.listWorkers(), [{ id: 'w1', offlineAt: T0 + 5 }])
  })
}

contract('sqlite :memory:', () => openSqliteStore(':memory:'))
contract('sqlite file', () => openSqliteStore(join(tempDir(), 'nested', 'coord.db')))
