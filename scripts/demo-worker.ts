/**
 * One demo worker process: `node dist/scripts/demo-worker.js <url> <worker-id> <out-dir> <work-ms>`.
 * Runs the worker loop (clients/worker-loop.ts): summarize the task's file, write it, report, until the
 * project is finished.
 * Prints one JSON line per task: { taskId, words, ms } (ms = time from receiving the task to reporting
 * it). Exits 1 if a report was refused (409): in the demo no lease should lapse.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CoordClient } from '../clients/client.js'
import { runWorker } from '../clients/worker-loop.js'
import { countWords, summarize, SUMMARY_WORDS } from './summarize.js'

const [url, worker, outDir, workMsArg] = process.argv.slice(2)
if (url === undefined || worker === undefined || outDir === undefined) {
  console.error('usage: demo-worker <url> <worker-id> <out-dir> [work-ms]')
  process.exit(2)
}
const workMs = Number(workMsArg ?? 0)
const client = new CoordClient(url)

const counts = await runWorker(client, { worker, project: 'demo', wait: 10 }, async ({ task }) => {
  const started = performance.now()
  const file = String(task.context.file)
  const summary = summarize(readFileSync(file, 'utf8'))
  const words = countWords(summary)
  const out = join(outDir, `${task.id}.summary.md`)
  writeFileSync(out, `# ${String(task.context.package)}\n\n${summary}\n`)
  if (workMs > 0) await sleep(workMs) // stands in for a chat's minutes of thinking
  const ok = words >= SUMMARY_WORDS.min && words <= SUMMARY_WORDS.max
  const ms = Math.round(performance.now() - started)
  return {
    status: ok ? 'completed' : 'failed',
    summary: ok ? `Extractive summary of ${words} words.` : `Could only extract ${words} words (need ${SUMMARY_WORDS.min}-${SUMMARY_WORDS.max}).`,
    deliverables: [out],
    contextScore: 5,
    details: { words, ms },
  }
}, {
  onReport: ({ task }, sent) => console.log(JSON.stringify({ taskId: task.id, ...sent.details })),
})
await client.close()
if (counts.refused > 0) {
  console.error(`${worker}: ${counts.refused} reports refused`)
  process.exitCode = 1
}
