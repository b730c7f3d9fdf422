/**
 * pg-boss 10 peer of `npm run bench`, in its own process, on the local PostgreSQL (PG_URL, default
 * postgres://postgres@127.0.0.1:5432/test). Used as its documentation recommends: `insert` the jobs,
 * then `work` with a polling interval (its minimum, 0.5 s) and a batch size; each handler call
 * completes its batch. Durability: the server's defaults (fsync and synchronous_commit on), so a
 * completed job is as durable as ours.
 *
 * argv[2] JSON: { kind: 'cycle', workers, seconds, batchSize } → { cycles, seconds };
 *              { kind: 'wake', rounds } → { ms }: from `send` to the handler starting, one idle worker.
 * Prints { skipped: reason } when PostgreSQL is not reachable.
 */
import PgBoss from 'pg-boss'

const job = JSON.parse(process.argv[2] as string) as { kind: 'cycle' | 'wake', workers?: number, seconds?: number, batchSize?: number, rounds?: number }
const connectionString = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const boss = new PgBoss({ connectionString, schema: 'pgboss_bench', supervise: false, schedule: false })
boss.on('error', () => { /* reported through the failing call */ })
try {
  await boss.start()
} catch (err) {
  console.log(JSON.stringify({ skipped: `PostgreSQL at ${connectionString} not usable (${(err as Error).message})` }))
  process.exit(0)
}
const name = `bench_${process.pid}_${Date.now()}`
await boss.createQueue(name)
const pollingIntervalSeconds = 0.5

if (job.kind === 'cycle') {
  const total = 20_000
  for (let i = 0; i < total; i += 1000) await boss.insert(Array.from({ length: 1000 }, (_, j) => ({ name, data: { i: i + j } })))
  let done = 0
  const t0 = performance.now()
  for (let w = 0; w < (job.workers ?? 8); w++) {
    await boss.work(name, { batchSize: job.batchSize ?? 1, pollingIntervalSeconds }, async (jobs) => { done += jobs.length })
  }
  await new Promise((resolve) => setTimeout(resolve, (job.seconds ?? 3) * 1000))
  const secs = (performance.now() - t0) / 1000
  console.log(JSON.stringify({ cycles: done, seconds: secs }))
} else {
  let started: ((at: number) => void) | undefined
  await boss.work(name, { batchSize: 1, pollingIntervalSeconds }, async () => { started?.(performance.now()) })
  const ms: number[] = []
  for (let r = 0; r < (job.rounds ?? 10); r++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const got = new Promise<number>((resolve) => { started = resolve })
    const sent = performance.now()
    await boss.send(name, { r })
    ms.push((await got) - sent)
  }
  console.log(JSON.stringify({ ms }))
}
await boss.stop({ graceful: false, wait: false }).catch(() => {})
process.exit(0)
