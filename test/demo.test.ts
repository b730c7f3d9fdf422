// `npm run demo` end to end in a child process: real documents, worker processes, exit 0 only when
// every task completed exactly once.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './helper.js'

// Two demo runs, each spawning worker and CLI processes (slow on a loaded 2-core machine).
t.setTimeout(300_000)

t.test('the demo summarizes every dependency README exactly once', async (t) => {
  const out = join(tempDir(), 'summaries')
  const args = [...process.execArgv, 'scripts/demo.ts', '--workers', '2', '--work-ms', '0', '--out', out]
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 100_000 })
  t.equal(run.status, 0, run.stderr)
  t.match(run.stdout, /OK: every task completed exactly once/)
  const done = /tasks completed\s+(\d+) \/ (\d+)/.exec(run.stdout)
  t.ok(done !== null && Number(done[1]) >= 10 && done[1] === done[2], 'ten or more documents, all completed')
  t.equal(readdirSync(out).length, Number(done?.[1]), 'one summary file per task')
  t.match(run.stdout, /demo-worker-1\s+\d+/)
  t.match(run.stdout, /parallel speedup\s+\d+\.\d\dx/)
})

t.test('--cli: the workers go the documented chat path, the root coord CLI, one process per command', async (t) => {
  const out = join(tempDir(), 'summaries')
  const args = [...process.execArgv, 'scripts/demo.ts', '--cli', '--workers', '2', '--work-ms', '0', '--max-tasks', '3', '--out', out]
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 110_000 })
  t.equal(run.status, 0, run.stderr)
  t.match(run.stdout, /tasks completed\s+3 \/ 3 \(project done: true\)/)
  t.match(run.stdout, /OK: every task completed exactly once/)
  t.equal(readdirSync(out).length, 3, 'one summary file per task')
})
