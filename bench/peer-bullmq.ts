/**
 * BullMQ peer of `npm run bench`, in its own process, on the local Redis (REDIS_URL, default
 * redis://127.0.0.1:6379). Used as its documentation recommends: a Queue adds the jobs (`addBulk`), a
 * Worker with `concurrency` processes them; completed jobs are removed (`removeOnComplete`) so the run
 * does not measure memory growth. Durability: whatever the Redis server keeps (here no persistence: an
 * acknowledged job can be lost on a crash; our server fsyncs every change).
 *
 * argv[2] JSON: { kind: 'cycle', workers, seconds } → { cycles, seconds }: jobs completed per run;
 *              { kind: 'wake', parked, rounds } → { ms }: from `add` to the processor starting, with
 *              one Worker of `concurrency: parked` idle (blocked on Redis) before each add.
 * Prints { skipped: reason } when Redis is not reachable.
 */
import { connect } from 'node:net'
import { createRequire } from 'node:module'

const job = JSON.parse(process.argv[2] as string) as { kind: 'cycle' | 'wake', workers?: number, seconds?: number, parked?: number, rounds?: number }
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
/** PING over a raw socket: BullMQ itself would retry a missing Redis for ever. */
async function ping (target: URL): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = connect(Number(target.port || 6379), target.hostname)
    s.setTimeout(2000, () => { s.destroy(); reject(new Error('timeout')) })
    s.on('error', reject)
    s.on('connect', () => s.write('PING\r\n'))
    s.on('data', (d) => { s.end(); d.toString().startsWith('+PONG') ? resolve() : reject(new Error(d.toString().trim())) })
  })
}
try {
  await ping(new URL(url))
} catch (err) {
  console.log(JSON.stringify({ skipped: `Redis at ${url} not reachable (${(err as Error).message})` }))
  process.exit(0)
}

// BullMQ loads its Redis client (ioredis, an optional peer dependency) itself; without it there is no peer.
try {
  createRequire(createRequire(import.meta.url).resolve('bullmq')).resolve('ioredis')
} catch {
  console.log(JSON.stringify({ skipped: 'ioredis, the Redis client BullMQ needs (an optional peer dependency), is not installed: npm install -D ioredis' }))
  process.exit(0)
}
const { Queue, Worker } = await import('bullmq')
const connection = { url, maxRetriesPerRequest: null }
const name = `bench-${process.pid}-${Date.now()}`
const queue = new Queue(name, { connection, defaultJobOptions: { removeOnComplete: true, removeOnFail: 1000 } })

if (job.kind === 'cycle') {
  const seconds = job.seconds ?? 3
  const total = 40_000
  for (let i = 0; i < total; i += 1000) await queue.addBulk(Array.from({ length: 1000 }, (_, j) => ({ name: 'job', data: { i: i + j } })))
  let done = 0
  const t0 = performance.now()
  const worker = new Worker(name, async () => 'ok', { connection, concurrency: job.workers ?? 8 })
  worker.on('completed', () => { done++ })
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  const secs = (performance.now() - t0) / 1000
  const cycles = done
  await worker.close(true)
  console.log(JSON.stringify({ cycles, seconds: secs, exhausted: cycles >= total }))
} else {
  let started: ((at: number) => void) | undefined
  const worker = new Worker(name, async () => { started?.(performance.now()); return 'ok' }, { connection, concurrency: job.parked ?? 100 })
  await worker.waitUntilReady()
  const ms: number[] = []
  for (let r = 0; r < (job.rounds ?? 50); r++) {
    await new Promise((resolve) => setTimeout(resolve, 50)) // let the worker block again
    const got = new Promise<number>((resolve) => { started = resolve })
    const sent = performance.now()
    await queue.add('wake', { r })
    ms.push((await got) - sent)
  }
  await worker.close()
  console.log(JSON.stringify({ ms }))
}
await queue.obliterate({ force: true })
await queue.close()
process.exit(0)
