// The Store contract: what the lifecycle relies on from any storage backend, exercised through the
// lifecycle's own operations (rules in src/lifecycle/, persistence in the store). Each implementation
// — SQLite in memory and on a file today, PostgreSQL next — must pass the same suite (see test/stores.ts).
import t, { type Test } from 'tap'
import { Compile } from 'typebox/compile'
import { EventData } from '../src/lifecycle/events.js'
import * as ops from '../src/lifecycle/operations.js'
import { report, type ReportPolicy } from '../src/lifecycle/report-ops.js'
import { createTasks } from '../src/lifecycle/create-ops.js'
import { toSpec } from '../src/lifecycle/task-spec.js'
import type { ReportBody, TaskInput } from '../src/schemas/tasks.js'
import type { ClaimFilter, Store, StoreChange } from '../src/store/store.js'
import { faulty } from './faulty-store.js'
import { storeFactories } from './stores.js'

const defaults = { leaseMs: 60_000, maxAttempts: 2 }
const T0 = 1_800_000_000_000
/** No checks in these tasks; failed attempts are retried at once. */
const POLICY: ReportPolicy = { maxCheckRejections: 3, retryBaseMs: 0, retryMaxMs: 0 }

function harness (store: Store) {
  return {
    create: (project: string, inputs: TaskInput[], close = false, now = T0) =>
      store.transact((tx) => createTasks(tx, project, inputs, inputs.map((i) => toSpec(i, project, defaults)), close, now)),
    claim: (worker: string, filter: ClaimFilter = {}, now = T0) => store.transact((tx) => ops.claim(tx, worker, filter, now)),
    report: async (taskId: string, body: ReportBody, now = T0) => {
      const out = await store.transact((tx) => report(tx, taskId, body, now, POLICY))
      if (out.kind === 'refused') throw out.error
      if (out.kind !== 'accepted') throw new Error(`unexpected outcome ${out.kind}`)
      return out
    },
    expire: (now: number) => store.transact((tx) => ops.expireLeases(tx, now, 100)),
  }
}

for (const [name, open] of storeFactories()) {
  const fresh = async (t: Test): Promise<Store> => {
    const store = await open()
    t.teardown(() => store.close())
    return store
  }

  t.test(`${name}: batches are idempotent and atomic`, async (t) => {
    const store = await fresh(t)
    const s = harness(store)
    t.same(await s.create('p', [{ id: 'a', description: 'x' }]), { created: ['a'], existing: [], closed: false, overlaps: [] })
    const second = await s.create('p', [{ id: 'a', description: 'x' }, { id: 'b', description: 'y' }])
    t.same(second, { created: ['b'], existing: ['a'], closed: false, overlaps: [] })
    await t.rejects(s.create('p', [{ id: 'c', description: 'z' }, { id: 'a', description: 'changed' }]), { code: 'TASK_CONFLICT' })
    t.equal(await store.getTask('c'), null, 'nothing of the refused batch')
  })

  t.test(`${name}: claims follow priority, then posting order, and honour filters`, async (t) => {
    const store = await fresh(t)
    const s = harness(store)
    await s.create('p', [{ id: 'low', description: 'x' }, { id: 'high', description: 'x', priority: 9 }, { id: 'typed', description: 'x', type: 'review' }])
    t.equal((await s.claim('w1'))?.task.id, 'high')
    t.equal((await s.claim('w2', { type: 'review' }))?.task.id, 'typed')
    t.equal(await s.claim('w3', { project: 'other' }), null)
    const low = await s.claim('w3', { project: 'p' })
    t.match(low, {
      task: { id: 'low', state: 'working', attempts: 1, worker: 'w3' },
      lease: { attempt: 1, worker: 'w3', expiresAt: new Date(T0 + 60_000).toISOString() },
    })
    t.equal(await s.claim('w4'), null, 'queue empty')
    t.equal((await store.liveLeaseView('w3'))?.lease.id, low?.lease.leaseId)
    t.equal(await store.nextLeaseDeadline(), T0 + 60_000)
  })

  t.test(`${name}: one live lease per worker, also under concurrent claims through an asynchronous store`, async (t) => {
    const store = await fresh(t)
    const s = harness(faulty(store, { delayMs: 5 }).store) // every call and answer delayed, as over a network
    await s.create('p', Array.from({ length: 20 }, (_, i) => ({ id: `t${i}`, description: 'x' })))
    const same = await Promise.all([s.claim('w1'), s.claim('w1'), s.claim('w1')])
    t.equal(new Set(same.map((a) => a?.lease.leaseId)).size, 1, 'three concurrent claims of one worker share one lease')
    t.same(same.map((a) => a?.resumed), [false, true, true])
    const many = await Promise.all(Array.from({ length: 10 }, (_, i) => s.claim(`c${i}`)))
    const ids = many.map((a) => a?.task.id)
    t.equal(new Set(ids).size, 10, 'ten concurrent workers get ten different tasks')
    const second = { id: 'x', taskId: 't19', worker: 'w1', attempt: 1, grantedAt: T0, expiresAt: T0 + 1, endedAt: null, endReason: null }
    await t.rejects(store.transact((tx) => tx.insertLease(second)),
      { code: 'WORKER_BUSY' }, 'the store itself refuses a second live lease')
  })

  t.test(`${name}: a task a worker just failed goes to it again only when nothing else is queued`, async (t) => {
    const store = await fresh(t)
    const s = harness(store)
    await s.create('p', [{ id: 'a', description: 'x', priority: 1 }, { id: 'b', description: 'x' }])
    const a = await s.claim('w1')
    await s.report('a', { worker: 'w1', leaseId: a?.lease.leaseId ?? '', status: 'failed', summary: 'no' })
    t.equal((await s.claim('w1'))?.task.id, 'b', 'w1 gets other work first')
    t.equal((await s.claim('w2'))?.task.id, 'a', 'another worker retries it')
    const list = await store.listTasks({ worker: 'w1', limit: 10 })
    t.same(list.tasks.map((x) => x.id), ['b'], 'a task lists under the worker of its latest lease')
  })

  t.test(`${name}: expiry requeues, then dead-letters; a release does not count`, async (t) => {
    const store = await fresh(t)
    const s = harness(store)
    await s.create('p', [{ id: 'a', description: 'x' }], true)
    const first = await s.claim('w1')
    await store.transact((tx) => ops.release(tx, first?.lease.leaseId ?? '', T0))
    t.equal((await store.getTask('a'))?.attempts, 0, 'released, uncounted')
    await s.claim('w1')
    t.equal(await s.expire(T0 + 59_999), 0, 'not before the deadline')
    t.equal(await s.expire(T0 + 60_000), 1)
    t.equal((await store.getTask('a'))?.state, 'submitted')
    await s.claim('w2', {}, T0 + 60_000)
    await s.expire(T0 + 120_000)
    t.equal((await store.getTask('a'))?.state, 'failed', 'maxAttempts reached')
    t.equal(await store.isFinished('p'), true)
    t.equal(await store.nextLeaseDeadline(), null)
  })

  t.test(`${name}: reports: accept, duplicate, refuse-but-record with capped details`, async (t) => {
    const store = await fresh(t)
    const s = harness(store)
    await s.create('p', [{ id: 'a', description: 'x' }])
    const a = await s.claim('w1')
    const body = { worker: 'w1', leaseId: a?.lease.leaseId ?? '', status: 'completed' as const, summary: 'ok' }
    const huge = { blob: 'x'.repeat(100_000) }
    await t.rejects(s.report('a', { ...body, worker: 'w2', details: huge }), { code: 'LEASE_NOT_YOURS' })
    t.equal((await s.report('a', body)).task.state, 'completed')
    t.equal((await s.report('a', body)).duplicate, true)
    const h = await store.getHistory('a', { limit: 100 })
    t.same(h?.reports.map((r) => [r.worker, r.accepted, r.rejection]), [['w2', false, 'LEASE_NOT_YOURS'], ['w1', true, null]])
    t.same(h?.reports[0]?.details, { truncated: true, bytes: JSON.stringify(huge).length }, 'a refused report keeps no megabyte')
    await t.rejects(store.transact((tx) => ops.heartbeat(tx, 'a', 'w1', body.leaseId, T0)), { code: 'LEASE_ENDED' })
  })

  t.test(`${name}: events are numbered without gaps, carry schema-valid payloads, and are announced after commit`, async (t) => {
    const store = await fresh(t)
    const s = harness(store)
    const heard: StoreChange[] = []
    store.subscribe((c) => heard.push(c))
    await store.transact((tx) => ops.seeWorker(tx, 'w1', T0))
    await s.create('p', [{ id: 'a', description: 'x' }, { id: 'b', description: 'x' }])
    const a = await s.claim('w1')
    await s.report('a', { worker: 'w1', leaseId: a?.lease.leaseId ?? '', status: 'failed', summary: 'no' })
    await s.report('a', { worker: 'w9', leaseId: 'nope', status: 'completed', summary: 'x' }).catch(() => null)
    await store.transact((tx) => ops.cancel(tx, 'b', 'enough', T0))
    await store.transact((tx) => ops.markOffline(tx, [{ id: 'w1', lastSeenAt: T0 }], T0 + 5))
    await store.transact((tx) => ops.seeWorker(tx, 'w1', T0 + 6))
    await store.transact((tx) => ops.closeProject(tx, 'p', T0 + 7))
    const c = await s.claim('w2', {}, T0 + 8)
    await s.report('a', { worker: 'w2', leaseId: c?.lease.leaseId ?? '', status: 'completed', summary: 'ok' }, T0 + 9)
    await t.rejects(s.create('p', [{ id: 'z', description: 'x' }]), { code: 'PROJECT_CLOSED' })
    const events = await store.events(0, undefined, 100)
    t.same(events.map((e) => e.type), ['worker.registered', 'task.created', 'task.created', 'task.claimed', 'task.failed', 'task.report_rejected',
      'task.canceled', 'worker.offline', 'worker.online', 'project.closed', 'task.claimed', 'task.completed', 'project.finished'])
    t.same(events.map((e) => e.seq), events.map((_, i) => i + 1), 'numbered 1, 2, 3, ... with no gap')
    for (const e of events) t.ok(Compile(EventData[e.type]).Check(e.data), `${e.type} payload matches its schema`)
    t.same((await store.events(4, 'p', 2)).map((e) => e.seq), [5, 6])
    t.equal(heard.length, 11, 'one notification per committed transaction that appended events (not the refused create)')
    t.same([...(heard[1]?.projects ?? [])], ['p'])
    t.ok(heard[0]?.types.has('worker.registered'))
  })

  t.test(`${name}: workers page in order of first request`, async (t) => {
    const store = await fresh(t)
    for (const w of ['w1', 'w2', 'w3']) await store.transact((tx) => ops.seeWorker(tx, w, T0))
    const first = await store.listWorkers({ limit: 2 })
    t.same(first.workers.map((w) => w.id), ['w1', 'w2'])
    const rest = await store.listWorkers({ after: first.nextAfter ?? 0, limit: 2 })
    t.same(rest.workers.map((w) => w.id), ['w3'])
    t.equal(rest.nextAfter, null)
    t.same((await store.onlineWorkers()).map((w) => w.id).sort(), ['w1', 'w2', 'w3'])
  })

  t.test(`${name}: amendments and answers are compare-and-set; questions are numbered; notices are told once`, async (t) => {
    const store = await fresh(t)
    const s = harness(store)
    await s.create('p', [{ id: 'a', description: 'x' }])
    t.equal(await store.transact((tx) => tx.amendTask('a', 'working', { priority: 7 }, T0)), false, 'not in the expected state: refused')
    t.equal((await store.getTask('a'))?.priority, 0, 'and nothing written')
    t.equal(await store.transact((tx) => tx.amendTask('a', 'submitted', { priority: 7, acceptance: ['y'] }, T0 + 1)), true)
    t.match(await store.getTask('a'), { priority: 7, acceptance: ['y'], description: 'x' }, 'only the given fields change')
    t.same((await store.transact((tx) => tx.existingTasks(['a']))).get('a')?.input, { id: 'a', description: 'x' }, 'the task as posted is kept')

    const ids = await store.transact(async (tx) => [
      await tx.insertQuestion({ project: 'p', taskId: null, message: 'q1', by: null, at: T0 }),
      await tx.insertQuestion({ project: 'other', taskId: 'a', message: 'q2', by: 'c', at: T0 }),
    ])
    t.same(ids, ['question-1', 'question-2'])
    t.same((await store.openQuestions('p', 10)).map((q) => q.id), ['question-1'])
    t.equal(await store.transact((tx) => tx.answerQuestion('question-1', { message: 'yes', by: 'e', at: T0 + 2 })), true)
    t.equal(await store.transact((tx) => tx.answerQuestion('question-1', { message: 'no', by: 'e', at: T0 + 3 })), false, 'answered once')
    t.match(await store.getQuestion('question-1'), { answer: 'yes', answeredBy: 'e' })
    t.same((await store.openQuestions(undefined, 10)).map((q) => q.id), ['question-2'])
    t.equal(await store.getQuestion('question-9'), null)

    await store.transact((tx) => ops.seeWorker(tx, 'w1', T0))
    const notice = { taskId: 'a', message: 'went to w2', at: new Date(T0).toISOString() }
    await store.transact(async (tx) => { await tx.addNotice('w1', notice); await tx.addNotice('nobody', notice) })
    t.same(await store.transact((tx) => tx.takeNotices('w1')), [notice])
    t.same(await store.transact((tx) => tx.takeNotices('w1')), [], 'told once')
  })
}
