// File-conflict holds, conflicting reports, escalations and metrics, through the HTTP API.
import t from 'tap'
import { patternsOverlap } from '../src/lifecycle/file-globs.js'
import { build, claim, listen, post, report } from './helper.js'

t.test('tasks whose writes overlap are never leased at once; the later one is held, then handed to a parked worker', async (t) => {
  const { app, url } = await listen(t)
  const created = await post(app, '/tasks', {
    project: 'p',
    tasks: [
      { id: 'a', description: 'a', files: { write: ['out/'] } },
      { id: 'b', description: 'b', files: { write: ['out/b.md'] } },
      { id: 'c', description: 'c', files: { write: ['docs/*.md'] } },
      { id: 'd', description: 'd', files: { write: ['out/d.md'] } },
      { id: 'e', description: 'e', files: { write: ['docs/e.md'] }, dependsOn: ['c'] },
    ],
  })
  t.same(created.json().overlaps, [
    { tasks: ['a', 'b'], patterns: ['out/', 'out/b.md'], ordered: false },
    { tasks: ['a', 'd'], patterns: ['out/', 'out/d.md'], ordered: false },
    { tasks: ['c', 'e'], patterns: ['docs/*.md', 'docs/e.md'], ordered: true },
  ], 'the create answer lists the overlaps, marking those dependsOn orders')
  t.equal((await claim(app, 'w1')).task.id, 'a')
  t.equal((await claim(app, 'w2')).task.id, 'c', 'b is held, c is free')
  t.equal(await claim(app, 'w3'), 204)
  const b = (await app.inject('/tasks/b')).json().task
  t.equal(b.hold.kind, 'files')
  t.same(b.hold.tasks, ['a'])
  t.match(b.hold.message, /a \(w1\) writes out\//)
  const status = (await app.inject('/status?project=p')).json()
  t.same(status.held.map((h: any) => [h.taskId, h.kind]), [['b', 'files'], ['d', 'files'], ['e', 'dependencies']], 'status shows what is held and why')

  const started = Date.now()
  const parked = fetch(`${url}/tasks/next?worker=w3&wait=20&project=p`)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const aLease = (await app.inject('/tasks/a')).json().leases[0]
  await post(app, '/tasks/a/report', { worker: 'w1', leaseId: aLease.leaseId, status: 'completed', summary: 'done', deliverables: ['out/a.md'] })
  const res = await parked
  t.equal(res.status, 200)
  t.equal(((await res.json()) as any).task.id, 'b')
  t.ok(Date.now() - started < 5000, `handed over when a stopped working (${Date.now() - started} ms)`)
  t.equal((await claim(app, 'w1')).task.id, 'd', 'd is free too: its writes do not overlap b\'s')
})

t.test('a report whose deliverables another working task declared is kept, and the task goes to the engineer', async (t) => {
  const app = await build(t)
  await post(app, '/tasks', {
    project: 'p',
    tasks: [
      { id: 'x', description: 'x', files: { write: ['src/a.ts'] } },
      { id: 'y', description: 'y', files: { write: ['src/b.ts'] } },
    ]
  })
  await claim(app, 'w1')
  const y = await claim(app, 'w2')
  const res = await report(app, y, 'completed', { deliverables: ['src/b.ts', 'src/a.ts'] })
  t.equal(res.statusCode, 200, 'the report is kept')
  t.equal(res.json().task.state, 'input-required')
  t.same(res.json().conflicts, [{ file: 'src/a.ts', task: 'x', pattern: 'src/a.ts' }])
  t.same(res.json().undeclared, ['src/a.ts'])
  const task = (await app.inject('/tasks/y')).json().task
  t.equal(task.attention.kind, 'conflict')
  t.equal(task.result.summary, 'completed by w2', 'the report is in the task')
  const esc = (await app.inject('/escalations')).json().escalations
  t.same(esc.map((e: any) => [e.taskId, e.kind]), [['y', 'conflict']])
  const ev = (await app.inject('/events?project=p')).json().events.find((e: any) => e.type === 'task.escalated')
  t.equal(ev.data.kind, 'conflict', 'an event tells the coordinator')
})

t.test('under concurrency, no two overlapping leases are ever live at the same time', async (t) => {
  const { app, url } = await listen(t)
  const files = ['a.md', 'b.md', 'c.md', 'd.md', 'e/**', 'e/x.md', '*.md']
  const tasks = Array.from({ length: 60 }, (_, i) => ({
    id: `t${i}`, description: `t${i}`, files: { write: [files[i % files.length] as string, ...(i % 5 === 0 ? [files[(i + 3) % files.length] as string] : [])] },
  }))
  await post(app, '/tasks', { project: 'p', close: true, tasks })
  const worker = async (w: string): Promise<void> => {
    for (;;) {
      const res = await fetch(`${url}/tasks/next?worker=${w}&wait=5&project=p`)
      if (res.status === 410) return
      if (res.status !== 200) continue
      const a = (await res.json()) as any
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 15))
      await fetch(`${url}/tasks/${a.task.id}/report`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ worker: w, leaseId: a.lease.leaseId, status: 'completed', summary: 'ok' }),
      })
    }
  }
  await Promise.all(Array.from({ length: 8 }, (_, i) => worker(`w${i}`)))
  const leases: Array<{ id: string, writes: string[], from: number, to: number }> = []
  for (const task of tasks) {
    const d = (await app.inject(`/tasks/${task.id}`)).json()
    t.equal(d.task.state, 'completed')
    for (const l of d.leases) leases.push({ id: task.id, writes: task.files.write, from: Date.parse(l.grantedAt), to: Date.parse(l.endedAt) })
  }
  let overlapping = 0
  let pairs = 0
  for (let i = 0; i < leases.length; i++) {
    for (let j = i + 1; j < leases.length; j++) {
      const x = leases[i] as typeof leases[number]
      const y = leases[j] as typeof leases[number]
      if (!x.writes.some((p) => y.writes.some((q) => patternsOverlap(p, q)))) continue
      pairs++
      // Intervals touch at most at one instant (one ends in the commit the other starts in).
      if (x.from < y.to && y.from < x.to) overlapping++
    }
  }
  t.ok(pairs > 100, `${pairs} pairs of leases had overlapping writes`)
  t.equal(overlapping, 0, 'none of them was live at the same time as the other')
})

t.test('escalations: a blocked worker\'s question and a task no connected worker polls for; answers count in the metrics', async (t) => {
  const app = await build(t, { COORD_UNCLAIMABLE_SECONDS: 1 })
  await post(app, '/tasks', {
    project: 'p',
    close: true,
    tasks: [
      { id: 'q', description: 'q', type: 'write' },
      { id: 'rare', description: 'r', type: 'translate' },
      { id: 'easy', description: 'e', type: 'write' },
    ]
  })
  const q = await claim(app, 'w1', '&type=write')
  await report(app, q, 'blocked', { question: 'Which API version?' })
  await new Promise((resolve) => setTimeout(resolve, 1200))
  await claim(app, 'w1', '&type=write').then((a) => report(app, a, 'completed', { contextScore: 4 }))
  const esc = (await app.inject('/escalations?project=p')).json().escalations
  t.same(esc.map((e: any) => [e.taskId, e.kind]).sort(), [['q', 'question'], ['rare', 'unclaimable']])
  t.match(esc.find((e: any) => e.kind === 'question').message, /Which API version/)
  t.match(esc.find((e: any) => e.kind === 'unclaimable').message, /type "translate".*w1 \(type write\)/)

  await post(app, '/tasks/q/answer', { message: 'v2', by: 'engineer' })
  const again = await claim(app, 'w1', '&type=write')
  t.equal(again.task.id, 'q')
  await report(app, again, 'completed', { contextScore: 2 })
  await report(app, await claim(app, 'w2', '&type=translate'), 'completed', { contextScore: 5 })
  const m = (await app.inject('/projects/p/metrics')).json()
  t.equal(m.interventions, 1)
  t.equal(m.promptsPerTask, 1 / 3)
  t.equal(m.automationRate, 2 / 3, 'two of three tasks completed with no human answer')
  t.same([m.contextScore.mean, m.contextScore.min, m.contextScore.distribution['5']], [11 / 3, 2, 1])
  t.equal(m.tasks.byState.completed, 3)
  t.equal(m.blockedReports, 1)
  t.type(m.time.parallelSpeedup, 'number')
  t.equal((await app.inject('/projects/nope/metrics')).statusCode, 404)
})
