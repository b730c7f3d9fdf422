/**
 * `npm run bench`, third part: the store alone. The worker cycle `POST /tasks/{id}/report?next=true`
 * runs the same store operations (the `report` rules, then `claim`) in one group-committed transaction,
 * here called directly on a `SqliteStore` (a file, WAL, `synchronous = FULL`, as the server opens it),
 * with no HTTP: BENCH_CEILING_WORKERS (32) loops, each report-and-next on its own lease, concurrently,
 * so they share commits as the server's requests do. It prints the cycles/s that SQLite and our rules
 * allow on this machine when nothing else runs: the ceiling under the HTTP figures of the first part.
 *
 *   store ceiling  cycles/s, and per cycle: µs of wall time, µs of this process's CPU time
 *   commits        operations per commit
 *
 * Numbers, not assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSqliteStore } from '../src/store/sqlite-open.js'
import { createTasks } from '../src/lifecycle/create-ops.js'
import { toSpec } from '../src/lifecycle/task-spec.js'
import * as ops from '../src/lifecycle/operations.js'
import { report } from '../src/lifecycle/report-ops.js'
import type { Assignment } from '../src/schemas/tasks.js'

const WORKERS = Number(process.env.BENCH_CEILING_WORKERS ?? 32)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const QUEUED = 40_000
const POLICY = { maxCheckRejections: 3, retryBaseMs: 0, retryMaxMs: 0 }

const dir = mkdtempSync(join(tmpdir(), 'coord-ceiling-'))
const store = openSqliteStore(join(dir, 'coord.db'))
try {
  const now = Date.now()
  for (let i = 0; i < QUEUED; i += 500) {
    const inputs = Array.from({ length: 500 }, (_, j) => ({ id: `c-${i + j}`, description: 'bench' }))
    const specs = inputs.map((t) => toSpec(t, 'c', { leaseMs: 600_000, maxAttempts: 3 }))
    await store.transact((tx) => createTasks(tx, 'c', inputs, specs, false, now))
  }
  const filter = { project: 'c' }
  const before = { ...store.stats }
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const until = t0 + SECONDS * 1000
  const loop = async (worker: string): Promise<number> => {
    let a: Assignment | null = await store.transact((tx) => ops.claim(tx, worker, filter, Date.now()))
    let cycles = 0
    while (a !== null && performance.now() < until) {
      const lease = a.lease.leaseId
      const id = a.task.id
      a = await store.transact(async (tx) => {
        const at = Date.now()
        const outcome = await report(tx, id, { worker, leaseId: lease, status: 'completed', summary: 'ok' }, at, POLICY)
        if (outcome.kind !== 'accepted') throw new Error(`report ${id} was not accepted: ${outcome.kind}`)
        return ops.claim(tx, worker, filter, at)
      })
      cycles++
    }
    return cycles
  }
  const cycles = (await Promise.all(Array.from({ length: WORKERS }, (_, i) => loop(`s${i}`)))).reduce((x, y) => x + y, 0)
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const commits = store.stats.commits - before.commits
  const operations = store.stats.operations - before.operations
  console.log(`\nstore ceiling  ${WORKERS} concurrent report-and-next cycles on the store alone (no HTTP), ${(wallMs / 1000).toFixed(1)} s: ` +
    `${(cycles / (wallMs / 1000)).toFixed(0)} cycles/s; per cycle ${(1000 * wallMs / cycles).toFixed(0)} µs wall, ` +
    `${((cpu.user + cpu.system) / cycles).toFixed(0)} µs CPU`)
  console.log(`commits        ${(operations / Math.max(1, commits)).toFixed(1)} operations per commit (synchronous = FULL)`)
} finally {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
}
