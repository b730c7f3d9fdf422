// `npm run demo` end to end in a child process: real documents, worker processes, a merge task that
// depends on every summary and goes through one review round; exit 0 only when every summary completed
// exactly once and the merge ran last.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './helper.js'

// Two demo runs, each spawning worker and CLI processes (slow on a loaded 2-core machine).
t.setTimeout(300_000)

/** What a reader checks in the output folder: one file per task, and a merged file holding every summary. */
function checkOutput (t: Test, out: string, tasks: number): void {
  const files = readdirSync(out)
  t.equal(files.length, tasks, 'one file per task: the summaries and the merged file')
  const summaries = files.filter((f) => f.endsWith('.summary.md'))
  t.equal(summaries.length, tasks - 1, 'every task but the merge wrote a summary')
  const merged = readFileSync(join(out, 'all-summaries.md'), 'utf8')
  const mergedAt = statSync(join(out, 'all-summaries.md')).mtimeMs
  for (const f of summaries) {
    const title = /^# (.+)$/m.exec(readFileSync(join(out, f), 'utf8'))?.[1]
    t.ok(title !== undefined && merged.includes(`\n## ${title}\n`), `the merged file has the section of ${f}`)
    t.ok(statSync(join(out, f)).mtimeMs <= mergedAt, `${f} was written before the merged file`)
  }
  t.match(merged, /\nContents: \S/, 'the merged file has the contents line the review asked for')
}

/** The summary block and the metrics block a person reads at the end of a run. */
function checkReport (t: Test, stdout: string, summaries: number): void {
  t.match(stdout, new RegExp(`merge task\\s+claimed \\d+\\.\\d\\d s after the last of ${summaries} summaries completed; review: changes, then accept`))
  t.match(stdout, /review: merge-summaries sent back: Start the file with a "Contents:" line/)
  t.match(stdout, /metrics \(GET \/projects\/demo\/metrics\)/)
  t.match(stdout, new RegExp(`automation rate\\s+100% \\(${summaries + 1} of ${summaries + 1} tasks`))
  t.match(stdout, /context score\s+mean 5\.0, min 5/)
  t.match(stdout, /parallel speedup\s+\d+\.\d\dx \(time in leases/)
  t.match(stdout, /check rejections\s+0/)
  t.match(stdout, /review\s+1 accepted, 1 changes requested/)
  t.match(stdout, /failure detection\s+0 leases expired/)
}

t.test('the demo summarizes every dependency README exactly once, then merges them after review', async (t) => {
  const out = join(tempDir(), 'summaries')
  const args = [...process.execArgv, 'scripts/demo.ts', '--workers', '2', '--work-ms', '0', '--out', out]
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 100_000 })
  t.equal(run.status, 0, run.stderr)
  t.match(run.stdout, /OK: every summary completed exactly once; the merge ran last/)
  const done = /tasks completed\s+(\d+) \/ (\d+)/.exec(run.stdout)
  const tasks = Number(done?.[1])
  t.ok(done !== null && tasks >= 11 && done[1] === done[2], 'ten or more documents and the merge, all completed')
  checkOutput(t, out, tasks)
  checkReport(t, run.stdout, tasks - 1)
  t.match(run.stdout, /demo-worker-1\s+\d+/)
  t.equal(run.stdout.match(/parallel speedup/g)?.length, 1, 'one speedup figure, the metrics one (time in leases / wall time)')
})

t.test('--cli: the workers go the documented chat path, the root coord CLI, one process per command', async (t) => {
  const out = join(tempDir(), 'summaries')
  const args = [...process.execArgv, 'scripts/demo.ts', '--cli', '--workers', '2', '--work-ms', '0', '--max-tasks', '3', '--out', out]
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 110_000 })
  t.equal(run.status, 0, run.stderr)
  t.match(run.stdout, /tasks completed\s+4 \/ 4 \(project done: true\)/)
  t.match(run.stdout, /OK: every summary completed exactly once; the merge ran last/)
  checkOutput(t, out, 4)
  checkReport(t, run.stdout, 3)
})
