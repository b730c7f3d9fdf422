/**
 * `npm run demo`: the whole product on real documents. Starts the server on a free port with a
 * temporary database, posts one task per README of this project's installed dependencies (text nobody
 * here wrote), each with a word-count check, and a final merge task that depends on all of them and
 * waits for review. Worker processes long-poll, write a 100-200-word extractive summary to
 * `demo-output/` and report; the merge task is offered only once every summary is completed. The demo
 * reviews the merged file as a coordinator would (sends it back once, then accepts it), then prints
 * per-worker counts and the project's metrics (the parallel speedup among them: one definition, the API's). With `--cli` the workers go the
 * documented chat path instead: the root `coord` executable, `next` then `report ... --next` per task,
 * each a fresh process (a process start per task, so slower).
 * Exits 1 unless every summary completed exactly once and the merge ran last and was accepted.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { extname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { Command } from 'commander'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { listenLocal } from '../src/server.js'
import { packageRoot } from '../src/paths.js'
import { CoordClient } from '../clients/client.js'
import { countWords, plainText, sentences, SUMMARY_WORDS } from './summarize.js'
import { MERGED_FILE } from './demo-task.js'
import { formatMetrics, projectMetrics, reviewMerge } from './demo-coordinator.js'

const opts = new Command('demo')
  .option('--workers <n>', 'worker processes', '3')
  .option('--work-ms <ms>', 'simulated think time per task in ms, standing in for a chat\'s minutes of work (0 = none)', '500')
  .option('--out <dir>', 'where the summaries go', 'demo-output')
  .option('--cli', 'workers run the root coord CLI as chat workers do (coord next, coord report --next), one process per command')
  .option('--max-tasks <n>', 'post at most this many documents')
  .parse().opts<{ workers: string, workMs: string, out: string, cli?: boolean, maxTasks?: string }>()

/** README files of the packages this project depends on, with how many words of prose each has. */
function dependencyReadmes (): Array<{ pkg: string, file: string, words: number }> {
  const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as Record<string, Record<string, string>>
  const names = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})]
    .filter((n) => !n.startsWith('@types/'))
  return names.flatMap((pkg) => {
    const dir = join(packageRoot, 'node_modules', pkg)
    const readme = existsSync(dir) ? readdirSync(dir).find((f) => /^readme\.md$/i.test(f)) : undefined
    if (readme === undefined) return []
    const file = join(dir, readme)
    return [{ pkg, file, words: countWords(sentences(plainText(readFileSync(file, 'utf8'))).join(' ')) }]
  })
}

const outDir = resolve(opts.out)
rmSync(outDir, { recursive: true, force: true })
mkdirSync(outDir, { recursive: true })
const dbDir = mkdtempSync(join(tmpdir(), 'coord-demo-'))
// The output folder is the batch's workspace: the server's checks read the summaries there. A merge sent
// back by the review goes to the worker that wrote it first (the default reservation, COORD_RESERVE_SECONDS).
const app = await buildApp(loadConfig({
  PORT: 0, COORD_DB: join(dbDir, 'coord.db'), LOG_LEVEL: 'warn', COORD_WORKSPACE_ROOTS: outDir,
}, false))
const url = await listenLocal(app)
const client = new CoordClient(url)

// A 100-word extract needs a document with at least that much prose (some READMEs are little more than links).
const readmes = dependencyReadmes()
const docs = readmes.filter((d) => d.words >= SUMMARY_WORDS.min).slice(0, opts.maxTasks === undefined ? undefined : Number(opts.maxTasks))
const short = readmes.filter((d) => d.words < SUMMARY_WORDS.min).map((d) => d.pkg)
console.log(`server ${url} (database ${dbDir}); ${docs.length} documents, ${opts.workers} workers`)
if (short.length > 0) console.log(`(not posted, under ${SUMMARY_WORDS.min} words of prose: ${short.join(', ')})`)
console.log('')

// Worker processes: the compiled .js next to this file, or the .ts source under a TypeScript loader.
const workerName = opts.cli === true ? 'demo-cli-worker' : 'demo-worker'
const workerFile = fileURLToPath(new URL(`./${workerName}${extname(fileURLToPath(import.meta.url))}`, import.meta.url))
const taskMs = new Map<string, number[]>()
const workers = Array.from({ length: Number(opts.workers) }, (_, i) => {
  const id = `demo-worker-${i + 1}`
  taskMs.set(id, [])
  const args = [...process.execArgv, workerFile, url, id, outDir, opts.workMs, join(dbDir, 'cli-state')]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  createInterface({ input: child.stdout }).on('line', (line) => { taskMs.get(id)?.push((JSON.parse(line) as { ms: number }).ms) })
  return new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)))
})
// Like real chats, the workers are already long-polling when the coordinator posts the work.
// All projects: the demo project has no task yet (a status of it would be 404 until the post below).
while ((await client.status()).workers.waiting < workers.length) await sleep(50)

const postedAt = Date.now()
const summaryIds = docs.map(({ pkg }) => `summarize-${pkg.replace(/[^A-Za-z0-9._-]/g, '_')}`)
const MERGE_ID = 'merge-summaries'
await client.createTasks({
  project: 'demo',
  close: true,
  workspace: outDir,
  tasks: [
    ...docs.map(({ pkg, file }, i) => {
      const out = `${summaryIds[i] as string}.summary.md`
      return {
        id: summaryIds[i] as string,
        type: 'summarize',
        description: `Write a 100-200-word extractive summary of the README of ${pkg} to ${out}, under a "# ${pkg}" title.`,
        context: { package: pkg, file },
        acceptance: ['only sentences taken from the document'],
        files: { write: [out] },
        // The file holds the two-word title line too.
        checks: [{ kind: 'word-count' as const, path: out, min: SUMMARY_WORDS.min + 2, max: SUMMARY_WORDS.max + 2, label: `${out}: a 100-200-word summary` }],
      }
    }),
    {
      id: MERGE_ID,
      type: 'merge',
      description: `Merge every summary (see dependencies) into ${MERGED_FILE}, one "## <package>" section each.`,
      dependsOn: summaryIds,
      files: { write: [MERGED_FILE] },
      checks: [{ kind: 'headings' as const, path: MERGED_FILE, headings: docs.slice(0, 100).map((d) => d.pkg) }],
      review: true,
    },
  ],
})
let workersDone = false
const reviewing = reviewMerge(client, {
  project: 'demo', taskId: MERGE_ID, workspace: outDir, file: MERGED_FILE, waitS: 2, stopped: () => workersDone, log: console.log,
})
const exitCodes = await Promise.all(workers).finally(() => { workersDone = true })
const { decisions, satisfied } = await reviewing
console.log('')

// Check: every summary completed exactly once, by one accepted report, with 100-200 words; the merge
// started after the last summary completed and was accepted after one request for changes.
const problems: string[] = []
const { tasks } = await client.listTasks({ project: 'demo', limit: 500 })
const summaries = tasks.filter((t) => t.id !== MERGE_ID)
for (const t of summaries) {
  const h = await client.getTask(t.id)
  const completions = h.reports.filter((r) => r.accepted && r.status === 'completed').length
  if (t.state !== 'completed' || completions !== 1 || t.attempts !== 1) problems.push(`${t.id}: ${t.state}, ${completions} completions, ${t.attempts} attempts`)
  const out = t.result?.deliverables[0]
  const words = out !== undefined && existsSync(join(outDir, out)) ? countWords(readFileSync(join(outDir, out), 'utf8').replace(/^#.*\n/, '')) : 0
  if (words < SUMMARY_WORDS.min || words > SUMMARY_WORDS.max) problems.push(`${t.id}: summary has ${words} words`)
}
const merge = await client.getTask(MERGE_ID)
const lastSummaryAt = Math.max(...summaries.map((t) => Date.parse(t.finishedAt ?? t.updatedAt)))
const mergeStartedAt = Date.parse(merge.leases[0]?.grantedAt ?? '')
if (!(mergeStartedAt >= lastSummaryAt)) problems.push(`${MERGE_ID} was claimed before the last summary completed`)
if (merge.task.state !== 'completed' || decisions.join(',') !== 'changes,accept' || !satisfied) {
  problems.push(`${MERGE_ID}: ${merge.task.state}, review decisions ${decisions.join(', ') || 'none'}${satisfied ? '' : ', feedback not applied'}`)
}
if (tasks.length !== docs.length + 1) problems.push(`${tasks.length} tasks stored for ${docs.length} documents and the merge`)
const wallMs = Math.max(...tasks.map((t) => Date.parse(t.result?.reportedAt ?? t.updatedAt))) - postedAt
if (exitCodes.some((c) => c !== 0)) problems.push(`worker exit codes ${exitCodes.join(', ')}`)
const status = await client.status('demo')
const metrics = await projectMetrics(url, 'demo')

console.log('worker             tasks   task time')
for (const [id, ms] of taskMs) console.log(`${id.padEnd(18)} ${String(ms.length).padStart(5)}   ${(ms.reduce((a, b) => a + b, 0) / 1000).toFixed(2)} s`)
console.log(`\ntasks completed    ${status.counts.completed} / ${tasks.length} (project done: ${status.done})`)
console.log(`merge task         claimed ${((mergeStartedAt - lastSummaryAt) / 1000).toFixed(2)} s after the last of ${summaries.length} summaries completed; ` +
  `review: ${decisions.join(', then ')}`)
console.log(`wall time          ${(wallMs / 1000).toFixed(2)} s (from posting the batch to the last report)`)
console.log(`summaries          ${outDir} (merged: ${MERGED_FILE})`)
console.log('')
for (const line of formatMetrics(metrics)) console.log(line)

await client.close()
await app.close()
rmSync(dbDir, { recursive: true, force: true })
if (problems.length > 0) {
  console.error(`\nFAILED:\n  ${problems.join('\n  ')}`)
  process.exit(1)
}
console.log('\nOK: every summary completed exactly once; the merge ran last and was accepted after one review round.')
