/**
 * One demo worker of `npm run demo -- --cli`: `node dist/scripts/demo-cli-worker.js <url> <worker-id> <out-dir> <work-ms> <state-dir>`.
 * It works as a chat worker does, through the documented worker path: the root `coord` executable,
 * `coord next --worker W` once, then per task `coord report <id> --worker W ... --next`, each a fresh
 * process, until the project is finished (exit 3). Under a TypeScript loader (the demo's test) it
 * runs `clients/cli.ts` the same way, so the test exercises the sources, not a stale build.
 * Prints one JSON line per task: { taskId, words, ms } (ms = time from receiving the task to reporting
 * it). Exits 1 if a report was refused (409, exit 4): in the demo no lease should lapse.
 */
import { execFile } from 'node:child_process'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { packageRoot } from '../src/paths.js'
import type { NextOutcome, ReportResult } from '../src/schemas/tasks.js'
import { doDemoTask } from './demo-task.js'

const [url, worker, outDir, workMsArg, stateDir] = process.argv.slice(2)
if (url === undefined || worker === undefined || outDir === undefined || stateDir === undefined) {
  console.error('usage: demo-cli-worker <url> <worker-id> <out-dir> <work-ms> <state-dir>')
  process.exit(2)
}
const workMs = Number(workMsArg ?? 0)

/** The CLI as a chat runs it: the root executable; from source when this file runs as TypeScript. */
const fromSource = extname(fileURLToPath(import.meta.url)) === '.ts'
const cli = fromSource
  ? { file: process.execPath, args: [...process.execArgv, join(packageRoot, 'clients', 'cli.ts')] }
  : { file: join(packageRoot, 'coord'), args: [] }

/** Run one `coord` command with `--json`; resolves with its exit code and the parsed JSON line. */
function coord (args: string[]): Promise<{ code: number, body: unknown }> {
  const all = [...cli.args, '--url', url as string, '--state-dir', stateDir as string, '--json', ...args]
  return new Promise((resolve, reject) => {
    execFile(cli.file, all, { encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      if (code !== 0 && code !== 2 && code !== 3 && code !== 4) return reject(new Error(`coord ${args.join(' ')} exited ${code}: ${stderr}`))
      resolve({ code, body: stdout.trim() === '' ? null : JSON.parse(stdout) })
    })
  })
}

const poll = ['--worker', worker, '--project', 'demo', '--wait', '60']
let outcome = (await coord(['next', ...poll])).body as NextOutcome
let refused = 0
while (outcome.status !== 'finished') {
  if (outcome.status === 'empty') {
    outcome = (await coord(['next', ...poll])).body as NextOutcome
    continue
  }
  const { task } = outcome.assignment
  const r = await doDemoTask(outcome.assignment, outDir, workMs)
  const report = await coord(['report', task.id, ...poll, '--status', r.status, '--summary', r.summary,
    '--deliverable', r.deliverables[0] as string, '--context-score', '5', '--details', JSON.stringify(r.details), '--next'])
  console.log(JSON.stringify({ taskId: task.id, ...r.details }))
  if (report.code === 4) {
    refused++
    outcome = (await coord(['next', ...poll])).body as NextOutcome
  } else {
    outcome = (report.body as ReportResult).next ?? { status: 'empty', message: '' }
  }
}
if (refused > 0) {
  console.error(`${worker}: ${refused} reports refused`)
  process.exitCode = 1
}
