/**
 * One demo worker process: `node dist/scripts/demo-worker.js <url> <worker-id> <out-dir> <work-ms>`.
 * Loops next → summarize the task's file → write it → report-and-next, until the project is finished.
 * Prints one JSON line per task: { taskId, ms } (ms = time from receiving the task to reporting it).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CoordClient } from '../clients/client.js'
import type { NextOutcome } from '../src/schemas/tasks.js'
import { countWords, summarize, SUMMARY_WORDS } from './summarize.js'

const [url, worker, outDir, workMsArg] = process.argv.slice(2)
if (url === undefined || worker === undefined || outDir === undefined) {
  console.error('usage: demo-worker <url> <worker-id> <out-dir> [work-ms]')
  process.exit(2)
}
const workMs = Number(workMsArg ?? 0)
const client = new CoordClient(url)
const project = 'demo'

let outcome: NextOutcome = await client.next({ worker, wait: 10, project })
while (outcome.status !== 'finished') {
  if (outcome.status === 'empty') {
    outcome = await client.next({ worker, wait: 10, project })
    continue
  }
  const { task, lease } = outcome.assignment
  const started = performance.now()
  const file = String(task.context.file)
  const summary = summarize(readFileSync(file, 'utf8'))
  const words = countWords(summary)
  const out = join(outDir, `${task.id}.summary.md`)
  writeFileSync(out, `# ${String(task.context.package)}\n\n${summary}\n`)
  if (workMs > 0) await sleep(workMs) // stands in for a chat's minutes of thinking
  const ok = words >= SUMMARY_WORDS.min && words <= SUMMARY_WORDS.max
  const ms = Math.round(performance.now() - started)
  const result = await client.report(task.id, {
    worker,
    leaseId: lease.leaseId,
    status: ok ? 'completed' : 'failed',
    summary: ok ? `Extractive summary of ${words} words.` : `Could only extract ${words} words (need ${SUMMARY_WORDS.min}-${SUMMARY_WORDS.max}).`,
    deliverables: [out],
    contextScore: 5,
    details: { words, ms },
  }, { next: true, wait: 10, project })
  console.log(JSON.stringify({ taskId: task.id, ms, words }))
  outcome = result.next ?? { status: 'empty', message: '' }
}
await client.close()
