/**
 * The load side of `npm run bench`, always in its own process (so its CPU is not the server's). Reads
 * one JSON job from argv[2], prints one JSON result line on stdout.
 *
 *   { kind: 'cycle', url, workers, seconds, project, next }   N workers (one connection each) loop the
 *     full worker cycle for `seconds`: `GET /tasks/next?wait=5` then `POST /tasks/{id}/report`
 *     (completed); with `next: true` the report carries `?next=true` and its answer is the next task,
 *     as the chat workers run it. Answers { cycles, seconds }.
 *   { kind: 'wake', url, parked, rounds, project }   `parked` workers long-poll a project; each round
 *     posts one task and times (ms) the send of the post to the first parked poll answered with it.
 *     Answers { ms: number[] }.
 *   { kind: 'report', url, cycles, project }   one worker; times (ms) each completed report. Answers { ms }.
 */
import { Client } from 'undici'

interface Job {
  kind: 'cycle' | 'wake' | 'report'
  url: string
  project: string
  workers?: number
  seconds?: number
  next?: boolean
  parked?: number
  rounds?: number
  cycles?: number
}
const job = JSON.parse(process.argv[2] as string) as Job

async function call (c: Client, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await c.request({ method, path, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) })
  const text = await res.body.text()
  return { status: res.statusCode, body: text === '' ? null : JSON.parse(text) }
}

const report = (worker: string, a: any): unknown => ({ worker, leaseId: a.lease.leaseId, status: 'completed', summary: 'ok' })

async function cycleWorker (worker: string, until: number): Promise<number> {
  const c = new Client(job.url, { pipelining: 1 })
  let cycles = 0
  const nextPath = `/tasks/next?worker=${worker}&wait=5&project=${job.project}`
  let a = (await call(c, 'GET', nextPath))
  while (a.status === 200 && performance.now() < until) {
    const path = `/tasks/${a.body.task.id}/report${job.next === true ? `?next=true&wait=5&project=${job.project}` : ''}`
    const r = await call(c, 'POST', path, report(worker, a.body))
    if (r.status !== 200) throw new Error(`report answered ${r.status}: ${JSON.stringify(r.body)}`)
    cycles++
    if (job.next === true) {
      const n = r.body.next
      a = n?.status === 'assigned' ? { status: 200, body: n.assignment } : { status: 204, body: null }
    } else {
      a = await call(c, 'GET', nextPath)
    }
  }
  await c.close()
  return cycles
}

async function cycle (): Promise<unknown> {
  const t0 = performance.now()
  const until = t0 + (job.seconds ?? 3) * 1000
  const counts = await Promise.all(Array.from({ length: job.workers ?? 1 }, (_, i) => cycleWorker(`w${i}`, until)))
  return { cycles: counts.reduce((a, b) => a + b, 0), seconds: (performance.now() - t0) / 1000 }
}

async function wake (): Promise<unknown> {
  const c = new Client(job.url)
  const ms: number[] = []
  const parkedN = job.parked ?? 100
  let answered: ((at: number) => void) | undefined
  const clients = Array.from({ length: parkedN }, () => new Client(job.url, { pipelining: 1 }))
  const stop = { now: false }
  const park = async (i: number): Promise<void> => {
    const w = `p${i}`
    while (!stop.now) {
      const a = await call(clients[i] as Client, 'GET', `/tasks/next?worker=${w}&wait=30&project=${job.project}`)
      if (a.status !== 200) continue
      answered?.(performance.now())
      await call(clients[i] as Client, 'POST', `/tasks/${a.body.task.id}/report`, report(w, a.body))
    }
  }
  const loops = Array.from({ length: parkedN }, (_, i) => park(i))
  const allParked = async (): Promise<void> => {
    for (;;) {
      const s = (await call(c, 'GET', `/status?project=${job.project}`)).body
      if (s.workers.waiting >= parkedN && s.counts.working === 0) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  for (let r = 0; r < (job.rounds ?? 50); r++) {
    await allParked()
    const got = new Promise<number>((resolve) => { answered = resolve })
    const sent = performance.now()
    await call(c, 'POST', '/tasks', { project: job.project, tasks: [{ id: `wake-${r}`, description: 'wake' }] })
    ms.push((await got) - sent)
  }
  stop.now = true
  await call(c, 'POST', `/projects/${job.project}/close`, {})
  await Promise.all(loops.map((l) => l.catch(() => {})))
  await Promise.all([c, ...clients].map((x) => x.close()))
  return { ms }
}

async function reportLatency (): Promise<unknown> {
  const c = new Client(job.url, { pipelining: 1 })
  const ms: number[] = []
  for (let i = 0; i < (job.cycles ?? 300); i++) {
    const a = await call(c, 'GET', `/tasks/next?worker=r1&wait=0&project=${job.project}`)
    if (a.status !== 200) break
    const t0 = performance.now()
    const r = await call(c, 'POST', `/tasks/${a.body.task.id}/report`, report('r1', a.body))
    ms.push(performance.now() - t0)
    if (r.status !== 200) throw new Error(`report answered ${r.status}`)
  }
  await c.close()
  return { ms }
}

const run = { cycle, wake, report: reportLatency }[job.kind]
console.log(JSON.stringify(await run()))
