/**
 * One demo worker process: `node dist/scripts/demo-worker.js <url> <worker-id> <out-dir> <work-ms>`.
 * Runs the worker loop (clients/worker-loop.ts): do the task (summarize a README, or merge the summaries),
 * write it, report, until the project is finished.
 * Prints one JSON line per task: { taskId, words, ms } (ms = time from receiving the task to reporting
 * it). Exits 1 if a report was refused (409): in the demo no lease should lapse.
 */
import { CoordClient } from '../clients/client.js'
import { runWorker } from '../clients/worker-loop.js'
import { doDemoTask } from './demo-task.js'

const [url, worker, outDir, workMsArg] = process.argv.slice(2)
if (url === undefined || worker === undefined || outDir === undefined) {
  console.error('usage: demo-worker <url> <worker-id> <out-dir> [work-ms]')
  process.exit(2)
}
const workMs = Number(workMsArg ?? 0)
const client = new CoordClient(url)

const counts = await runWorker(client, { worker, project: 'demo', wait: 10 }, async (assignment) => doDemoTask(assignment, outDir, workMs), {
  onReport: ({ task }, sent) => console.log(JSON.stringify({ taskId: task.id, ...sent.details })),
})
await client.close()
if (counts.refused > 0) {
  console.error(`${worker}: ${counts.refused} reports refused`)
  process.exitCode = 1
}
