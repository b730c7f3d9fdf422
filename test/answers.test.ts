// Issue 15: answers reach the one who asked and the coordinator sees them; the coordinator's own
// questions; amending a task; an escalation's offered action always works. Through the HTTP API.
import t from 'tap'
import { CoordClient } from '../clients/client.js'
import { waitUntil } from '../clients/wait-until.js'
import { pino } from 'pino'
import { TaskLifecycle } from '../src/lifecycle/task-lifecycle.js'
import { build, claim, listen, post, report } from './helper.js'
import { behaviourStore } from './stores.js'

const batch = (tasks: unknown[], extra: Record<string, unknown> = {}) => ({ project: 'p', tasks, ...extra })
const patch = (app: Awaited<ReturnType<typeof build>>, url: string, payload: unknown) => app.inject({ method: 'PATCH', url, payload: payload as object })
const eventTypes = async (app: Awaited<ReturnType<typeof build>>) => (await app.inject('/events?project=p')).json().events as any[]

t.test('an answered task the asker is too busy for goes on marked answered, and the asker and the coordinator hear of it', async (t) => {
  const { app, url } = await listen(t)
  const client = new CoordClient(url)
  t.teardown(() => client.close())
  await post(app, '/tasks', batch([
    { id: 'ask', description: 'FIRST ask the engineer which format to use, then write it.' },
    { id: 'other', description: 'other work' },
  ]))
  const a = await claim(app, 'w1')
  t.equal(a.task.id, 'ask')
  t.equal(a.answered, false, 'a fresh task is not answered')
  await report(app, a, 'blocked', { question: 'Which format?' })
  const busy = await claim(app, 'w1')
  t.equal(busy.task.id, 'other', 'the asker took other work meanwhile')
  const after = (await app.inject('/events?project=p')).json().nextAfter
  const answered = await post(app, '/tasks/ask/answer', { message: 'Markdown.', by: 'engineer' })
  t.equal(answered.statusCode, 200)
  t.equal(answered.json().reservedFor, null, 'not held for a worker that is busy')

  const b = await claim(app, 'w2')
  t.equal(b.task.id, 'ask')
  t.equal(b.answered, true, 'the re-offered task is marked answered')
  t.match(b.answer, { kind: 'answer', message: 'Markdown.', question: 'Which format?', worker: 'w1', reservedUntil: null })
  const lapsed = (await eventTypes(app)).filter((e) => e.type === 'task.reservation_lapsed')
  t.match(lapsed, [{ taskId: 'ask', worker: 'w1', data: { asker: 'w1', claimedBy: 'w2', reason: /working on another task/ } }])

  const done = await report(app, busy)
  t.equal(done.statusCode, 200)
  t.match(done.json().notices, [{ taskId: 'ask', message: /question on task ask was answered, but the task went to w2/ }],
    'the asker\'s next answer says where its question went')
  const again = await report(app, busy)
  t.notOk(again.json().notices, 'told once')

  const seen = await waitUntil(client, { project: 'p', after }, { waitS: 0 })
  t.equal(seen.outcome, 'attention')
  t.match(seen.attention, [{ reason: 'task_answered', taskId: 'ask', message: /"Which format\?" → "Markdown\." \(by engineer\)/ }])
})

t.test('the coordinator asks the engineer: an escalation whose action answers it, once; the coordinator\'s wait wakes with the answer', async (t) => {
  const { app, url } = await listen(t)
  const client = new CoordClient(url)
  t.teardown(() => client.close())
  await post(app, '/tasks', batch([{ id: 'a', description: 'a' }]))
  const asked = await post(app, '/questions', { message: 'May I drop the posttest script?', project: 'p', taskId: 'a', by: 'coordinator' })
  t.equal(asked.statusCode, 201)
  const q = asked.json()
  t.match(q, { id: /^question-\d+$/, project: 'p', taskId: 'a', answer: null, answeredAt: null })
  const queue = (await app.inject('/escalations?project=p')).json().escalations
  t.match(queue, [{ taskId: null, questionId: q.id, kind: 'question', message: /May I drop the posttest script\?/ }])
  t.match(queue[0].action, `POST /questions/${q.id}/answer`)
  t.equal((await claim(app, 'w1')).task.id, 'a', 'the task it is about is not held')

  const after = (await app.inject('/events?project=p')).json().nextAfter
  const waiting = waitUntil(client, { project: 'p', tasks: ['a'], after }, { waitS: 20 })
  const answered = await post(app, `/questions/${q.id}/answer`, { message: 'Yes, drop it.', by: 'engineer' })
  t.equal(answered.statusCode, 200)
  t.match(answered.json(), { id: q.id, answer: 'Yes, drop it.', answeredBy: 'engineer' })
  const woke = await waiting
  t.equal(woke.outcome, 'attention', 'the answer wakes a wait for other tasks too')
  t.match(woke.attention, [{ reason: 'question_answered', kind: q.id, message: /"May I drop the posttest script\?" → "Yes, drop it\."/ }])
  t.same((await app.inject('/escalations?project=p')).json().escalations, [], 'answered: off the queue')
  t.match((await app.inject(`/questions/${q.id}`)).json(), { answer: 'Yes, drop it.' })

  const twice = await post(app, `/questions/${q.id}/answer`, { message: 'No.' })
  t.equal(twice.statusCode, 409)
  t.equal(twice.json().code, 'ALREADY_ANSWERED')
  t.equal((await app.inject(`/questions/${q.id}`)).json().answer, 'Yes, drop it.', 'the first answer stands')
  t.equal((await post(app, '/questions/question-999/answer', { message: 'x' })).json().code, 'QUESTION_NOT_FOUND')
  t.equal((await post(app, '/questions', { message: 'x', taskId: 'nope' })).json().code, 'TASK_NOT_FOUND')
})

t.test('a task no worker holds can be amended, validated as when posted; not while worked on or once finished', async (t) => {
  const app = await build(t)
  const posted = { id: 'a', description: 'write out/a.md', priority: 0 }
  await post(app, '/tasks', batch([posted, { id: 'b', description: 'b', priority: 1 }]))
  const amended = await patch(app, '/tasks/a', {
    description: 'write out/a.md in Markdown', acceptance: ['has a title'], priority: 5, checks: [{ kind: 'deliverables' }], by: 'coordinator',
  })
  t.equal(amended.statusCode, 200)
  t.match(amended.json(), { description: 'write out/a.md in Markdown', acceptance: ['has a title'], priority: 5, checks: [{ kind: 'deliverables' }] })
  t.match((await eventTypes(app)).filter((e) => e.type === 'task.amended'),
    [{ taskId: 'a', data: { fields: ['description', 'acceptance', 'checks', 'priority'], by: 'coordinator', state: 'submitted' } }])
  const bad = await patch(app, '/tasks/a', { description: 'x', checks: [{ kind: 'file-exists', path: 'out/a.md' }] })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'INVALID_TASK', 'a check that reads a file needs a workspace, as when posted')
  t.match(bad.json().message, /amendment.*not changed.*no workspace/s)
  t.equal((await app.inject('/tasks/a')).json().task.description, 'write out/a.md in Markdown', 'a refused amendment changes nothing')
  t.equal((await patch(app, '/tasks/a', {})).statusCode, 400, 'an empty amendment says nothing to change')
  t.equal((await post(app, '/tasks', batch([posted]))).json().existing[0], 'a', 're-posting the task as first posted stays idempotent')

  const w = await claim(app, 'w1')
  t.equal(w.task.id, 'a', 'the raised priority counts')
  t.equal(w.task.description, 'write out/a.md in Markdown', 'the worker gets the amended task')
  const busy = await patch(app, '/tasks/a', { priority: 1 })
  t.equal(busy.statusCode, 409)
  t.equal(busy.json().code, 'TASK_BEING_WORKED')
  t.match(busy.json().message, /being worked on by w1/)
  await report(app, w)
  const finished = await patch(app, '/tasks/a', { priority: 2 })
  t.equal(finished.statusCode, 409)
  t.equal(finished.json().code, 'TASK_FINISHED')
})

t.test('a task failed for good in a finished project: the escalation\'s action works and the item leaves the queue', async (t) => {
  const app = await build(t)
  await post(app, '/tasks', batch([{ id: 'a', description: 'a', maxAttempts: 1 }], { close: true }))
  await report(app, await claim(app, 'w1'), 'failed')
  t.equal((await app.inject('/projects')).json().projects[0].done, true, 'the project finished')
  const [item] = (await app.inject('/escalations?project=p')).json().escalations
  t.match(item, { taskId: 'a', kind: 'failed', action: /POST \/tasks\/a\/answer/ })
  t.notMatch(item.action, /post a new task/, 'no action that a finished project refuses')
  const res = await post(app, '/tasks/a/answer', { message: 'Try the other API.' })
  t.equal(res.statusCode, 200, 'the offered action works')
  t.equal(res.json().state, 'submitted')
  t.same((await app.inject('/escalations?project=p')).json().escalations, [], 'off the queue')
  t.match((await eventTypes(app)).filter((e) => e.type === 'project.reopened'), [{ project: 'p', data: { taskId: 'a' } }])
  const again = await claim(app, 'w1', '&project=p')
  t.equal(again.task.id, 'a', 'workers get it again')
  t.equal(again.answered, true)
  await report(app, again)
  t.equal((await app.inject('/projects')).json().projects[0].done, true, 'finished again once it ends')
})

t.test('a reservation the asker let lapse: the task goes on, and the asker\'s next claim says why (clock injected)', async (t) => {
  const store = await behaviourStore()()
  let clock = 1_800_000_000_000
  const lc = new TaskLifecycle(store, { defaultLeaseMs: 600_000, defaultMaxAttempts: 3, offlineMs: 3_600_000, workflow: { reserveMs: 30_000 } },
    pino({ level: 'silent' }), () => clock)
  await lc.start()
  t.teardown(async () => { await lc.stop(); await store.close() })
  await lc.createTasks({ project: 'p', tasks: [{ id: 'ask', description: 'ask first' }, { id: 'later', description: 'later', priority: -1 }] })
  const first = await lc.next('w1', {}, 0)
  if (first.status !== 'assigned') throw new Error('no task')
  await lc.report('ask', { worker: 'w1', leaseId: first.assignment.lease.leaseId, status: 'blocked', summary: 's', question: 'Which one?' })
  const answered = await lc.answer('ask', { message: 'The second.' })
  t.equal(answered.reservedFor, 'w1', 'held for the asker, who is free')
  t.match(await lc.next('w2', {}, 0), { status: 'assigned', assignment: { task: { id: 'later' } } }, 'not offered to others while held')
  await lc.report('later', { worker: 'w2', leaseId: (await store.liveLeaseView('w2'))?.lease.id as string, status: 'completed', summary: 's' })
  clock += 31_000
  const other = await lc.next('w2', {}, 0)
  t.match(other, { status: 'assigned', assignment: { task: { id: 'ask' }, answered: true, answer: { message: 'The second.' } } })
  const events = await store.events(0, 'p', 100)
  t.match(events.filter((e) => e.type === 'task.reservation_lapsed'),
    [{ worker: 'w1', data: { claimedBy: 'w2', reason: /held for you until 2027-01-15T08:00:30.000Z and you did not poll for work by then/ } }])
  await lc.createTasks({ project: 'p', tasks: [{ id: 'new', description: 'new' }] })
  const back = await lc.next('w1', {}, 0)
  t.match(back, { status: 'assigned', assignment: { task: { id: 'new' }, notices: [{ taskId: 'ask', message: /went to w2: it was held for you/ }] } },
    'the asker\'s next claim says where its question went')
})
