/**
 * The workflow through the `coord` CLI as chats run it, each command a child process against a real
 * server: a report the checks refuse (exit 6, the lease kept, the same command to run again; exit 4
 * once the task went to the engineer), review, answer, the escalation queue, metrics, and what a claim
 * shows besides the task (notes, dependency results, checks).
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCoord, type Run } from './coord-process.js'
import { claim, listen, post, report, tempDir } from './helper.js'

// Each run is a child process compiling TypeScript through tap's loader (2-4 s each, more under load).
t.setTimeout(600_000)

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** How the CLI names itself in hints when not started through a `coord` file: the checkout's root executable. */
const COORD = join(ROOT, 'coord')

const coord = runCoord

/** The one JSON line a --json run printed. */
function oneJson (run: Run): any {
  const lines = run.stdout.split('\n').filter((l) => l !== '')
  if (lines.length !== 1) throw new Error(`expected one JSON line, got ${lines.length}: ${run.stdout}`)
  return JSON.parse(lines[0] as string)
}

function savedLeases (dir: string, worker: string): Record<string, { leaseId: string, expiresAt: string }> {
  return JSON.parse(readFileSync(join(dir, `worker-${worker}.json`), 'utf8')).leases
}

t.test('a completed report the checks refuse: exit 6 with the failures, the lease kept and the same command to run again; ' +
  'exit 4 once the task went to the engineer', async (t) => {
  const root = t.testdir({ out: {} })
  const { app, url } = await listen(t, { COORD_WORKSPACE_ROOTS: root, COORD_MAX_CHECK_REJECTIONS: 2 })
  // Not a second t.testdir(): that is the same folder as `root`.
  const dir = tempDir('coord-state-')
  const checks = (file: string): unknown[] => [{ kind: 'word-count', path: file, min: 3 }, { kind: 'headings', path: file, headings: ['Install'] }]
  t.equal((await post(app, '/tasks', {
    project: 'wf',
    workspace: root,
    tasks: [
      { id: 'sum', description: 'Summarize', acceptance: ['plain words'], checks: checks('out/sum.md'), files: { write: ['out/sum.md'] } },
      { id: 'other', description: 'Never gets it right', checks: checks('out/other.md') },
    ],
  })).statusCode, 201)

  const next = await coord(url, ['--state-dir', dir, 'next', '--worker', 'w1', '--wait', '5'])
  t.equal(next.code, 0, next.stderr)
  t.match(next.stdout, `Workspace: ${root}`)
  t.match(next.stdout, /Acceptance criteria \(not machine-checked[^\n]*\n {2}- plain words/)
  t.match(next.stdout, /Checks \(run by the server on your files when you report completed[^\n]*\n {2}- out\/sum\.md has at least 3 words\n {6}rule: word-count: /)
  t.match(next.stdout, /\n {2}- out\/sum\.md has the headings "Install"\n {6}rule: headings: out\/sum\.md has a Markdown heading/)
  const granted = savedLeases(dir, 'w1').sum
  t.ok(granted, 'lease saved')

  writeFileSync(join(root, 'out', 'sum.md'), 'two words\n')
  const args = ['--state-dir', dir, 'report', 'sum', '--worker', 'w1', '--status', 'completed', '--summary', 'Wrote it.', '--deliverable', 'out/sum.md']
  const refused = await coord(url, args)
  t.equal(refused.code, 6, `exit 6: checks failed (stderr: ${refused.stderr})`)
  t.match(refused.stdout, /Report refused \(422 CHECKS_FAILED\): 2 of 2 checks failed \(rejected report 1 of 2\):/)
  t.match(refused.stdout, /out\/sum\.md has 2 words/)
  t.match(refused.stdout, /Install/)
  const kept = savedLeases(dir, 'w1').sum
  t.equal(kept?.leaseId, granted?.leaseId, 'the same lease stays saved')
  t.ok(Date.parse(kept?.expiresAt ?? '') >= Date.parse(granted?.expiresAt ?? ''), 'with its extended expiry')
  t.match(refused.stdout, `is kept and extended: it now expires ${kept?.expiresAt ?? '?'}`)
  t.match(refused.stdout, `\n  ${COORD} report sum --worker w1 --url ${url} --state-dir ${dir} --status completed --summary 'Wrote it.' ` +
    '--deliverable out/sum.md\n', 'the same command, flags and values repeated')
  t.match(refused.stdout, /After 1 more rejected report\(s\) the task goes to the engineer\.\n\(exit code 6\)/)

  writeFileSync(join(root, 'out', 'sum.md'), '# Install\n\nRun npm ci, then npm start.\n')
  const fixed = await coord(url, [...args, '--deliverable', 'notes.txt'])
  t.equal(fixed.code, 0, `the same command after the fix is accepted (stderr: ${fixed.stderr})`)
  t.match(fixed.stdout, /task sum is now completed\.\nAll 2 checks passed\./)
  t.match(fixed.stdout, /Undeclared: notes\.txt/, 'a deliverable outside files.write is named')

  t.equal((await coord(url, ['--state-dir', dir, 'next', '--worker', 'w1', '--wait', '5'])).code, 0)
  const otherArgs = ['--state-dir', dir, 'report', 'other', '--worker', 'w1', '--status', 'completed', '--summary', 'x', '--next', '--wait', '1']
  const asJson = await coord(url, ['--json', ...otherArgs])
  t.equal(asJson.code, 6, `--json: exit 6 too (stderr: ${asJson.stderr})`)
  const body = oneJson(asJson)
  t.match(body, { code: 'CHECKS_FAILED', details: { taskId: 'other', rejections: 1, maxRejections: 2, escalated: false, lease: { taskId: 'other' } } })
  t.equal(body.details.failed.length, 2)

  const escalated = await coord(url, otherArgs)
  t.equal(escalated.code, 4, `exit 4: the task is no longer yours (stderr: ${escalated.stderr})`)
  t.match(escalated.stdout, /still failed, and that was rejected report 2 of 2/)
  t.match(escalated.stdout, /Task other went to the engineer \(input-required\): it is no longer yours/)
  t.match(escalated.stdout, `\n  ${COORD} next --worker w1 --url ${url} --state-dir ${dir} --wait 1\n`, 'the next poll, with the flags given')
  t.same(savedLeases(dir, 'w1'), {}, 'the ended lease is forgotten')

  const queue = await coord(url, ['escalations', '--project', 'wf'])
  t.equal(queue.code, 0, queue.stderr)
  t.match(queue.stdout, /1 escalation\(s\), oldest first:\nother \[checks\] project wf, input-required/)
  t.match(queue.stdout, `→ ${COORD} answer other "your answer" --url ${url}`)
  const shown = await coord(url, ['show', 'other'])
  t.equal(shown.code, 0, shown.stderr)
  t.match(shown.stdout, /2 check\(s\), 2 report\(s\) refused by them; review: no\n {2}needs attention \(checks\):\n {4}2 check\(s\) still failed/)
  t.match(shown.stdout, /completed refused \(CHECKS_FAILED\)\n {4}- out\/other\.md does not exist/, 'each refused report with what failed')
})

t.test('review, answer, escalations and metrics; a claim shows the notes and the results it depends on', async (t) => {
  const workspace = tempDir('coord-workspace-')
  // The answered task stays reserved for w2 while w1 claims dep: under load, the CLI runs in between outlast the 30 s default.
  const { app, url } = await listen(t, { COORD_WORKSPACE_ROOTS: workspace, COORD_RESERVE_SECONDS: 3600 })
  const dir = t.testdir()
  const file = join(tempDir(), 'tasks.json')
  writeFileSync(file, JSON.stringify({
    project: 'wf',
    workspace,
    tasks: [
      { id: 'rev', description: 'Write the guide', review: true, files: { write: ['guide.md'] } },
      { id: 'ask', description: 'Call the API' },
      { id: 'dep', description: 'Merge the guide', dependsOn: ['rev'], files: { write: ['*.md'] } },
    ],
  }))
  const created = await coord(url, ['create', file])
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /overlapping writes \(never leased at the same time\):\n {4}rev \(guide\.md\) and dep \(\*\.md\), ordered by dependsOn anyway/)
  const { task: posted } = (await app.inject('/tasks/dep')).json()
  t.match(posted, { dependsOn: ['rev'], workspace, review: false }, 'the file\'s fields reach the server as written')
  t.equal((await app.inject('/tasks/rev')).json().task.review, true)
  const worker = ['--state-dir', dir, '--worker', 'w1']
  t.equal((await coord(url, [...worker, 'next', '--wait', '5'])).code, 0)
  const reported = await coord(url, [...worker, 'report', 'rev', '--status', 'completed', '--summary', 'Guide written.', '--deliverable', 'guide.md'])
  t.equal(reported.code, 0, reported.stderr)
  t.match(reported.stdout, /task rev is now review-required\.\nIt waits for the coordinator's review/)

  const undecided = await coord(url, ['review', 'rev'])
  t.equal(undecided.code, 1, 'review needs a decision')
  t.match(undecided.stderr, `${COORD} review rev --url ${url} --accept`)
  const both = await coord(url, ['review', 'rev', '--accept', '--changes', 'x'])
  t.equal(both.code, 1, '--accept and --changes exclude each other')

  const changes = await coord(url, ['review', 'rev', '--changes', 'Add the install section.', '--by', 'lead'])
  t.equal(changes.code, 0, changes.stderr)
  t.match(changes.stdout, /Task rev sent back with your feedback \(in its notes\): it is submitted, offered first to w1 until \S+\./)

  const again = await coord(url, [...worker, 'next', '--wait', '5'])
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /Task rev[\s\S]*Notes \(answers and review feedback[^\n]*\n {2}- review \(changes\) by lead at \S+:\n {6}Add the install section\.\n\nDescription:/)
  const lease = savedLeases(dir, 'w1').rev
  const redone = await post(app, '/tasks/rev/report', { worker: 'w1', leaseId: lease?.leaseId, status: 'completed', summary: 'Guide with install.' })
  t.equal(redone.statusCode, 200)
  const accepted = await coord(url, ['--json', 'review', 'rev', '--accept'])
  t.equal(accepted.code, 0, accepted.stderr)
  t.match(oneJson(accepted), { id: 'rev', state: 'completed', notes: [{ kind: 'review', decision: 'changes' }, { kind: 'review', decision: 'accept' }] })

  const ask = await claim(app, 'w2')
  t.equal(ask.task.id, 'ask')
  t.equal((await report(app, ask, 'blocked', { question: 'Which API version?' })).statusCode, 200)
  const queue = await coord(url, ['escalations'])
  t.equal(queue.code, 0, queue.stderr)
  t.match(queue.stdout, /ask \[question\] project wf, input-required, type task, worker w2, since \S+, attempts 1\n {4}Which API version\?\n/)
  t.match(queue.stdout, `    → ${COORD} answer ask "your answer" --url ${url}\n    → ${COORD} cancel ask --url ${url} --reason "..."`)
  const answered = await coord(url, ['answer', 'ask', 'Use the v2 API.', '--by', 'engineer'])
  t.equal(answered.code, 0, answered.stderr)
  t.match(answered.stdout, /Answer added to task ask's notes: it is back in the queue, offered first to w2 until \S+\./)
  t.same(oneJson(await coord(url, ['--json', 'escalations', '--project', 'wf'])), { escalations: [] }, 'answered: the queue is empty')
  const none = await coord(url, ['escalations'])
  t.match(none.stdout, /Nothing needs you/)

  const dep = await coord(url, [...worker, 'next', '--wait', '5'])
  t.equal(dep.code, 0, dep.stderr)
  t.match(dep.stdout, /Task dep[\s\S]*Results of the tasks this one depends on \(done before you\):\n {2}- rev \(by w1\): Write the guide\n {6}Guide with install\./)

  const metrics = await coord(url, ['metrics', '--project', 'wf'])
  t.equal(metrics.code, 0, metrics.stderr)
  t.match(metrics.stdout, /automation rate 33% \(1 completed without help, 0 with help\); prompts per task 0\.33 \(1 engineer answer\(s\)\)/)
  t.match(metrics.stdout, /check rejections 0 \(0 task\(s\)\); review round-trips 1 \(1 accepted, 1 task\(s\) reviewed\)/)
  t.match(metrics.stdout, /Workers:\n {2}w1: completed 1/)
  t.match(oneJson(await coord(url, ['--json', 'metrics', '--project', 'wf'])), { project: 'wf', interventions: 1, review: { roundTrips: 1 } })
  const missing = await coord(url, ['metrics', '--project', 'nope'])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /404 PROJECT_NOT_FOUND/)

  const status = await coord(url, ['status', '--project', 'wf'])
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, /review-required 0/)
  t.match(status.stdout, /Metrics of project wf[^\n]*\n {2}automation rate 33%[\s\S]*parallel speedup [\d.]+/)
  t.match(status.stdout, /failure detection: no lease expired\n {2}check rejections 0[^\n]*review round-trips 1/)
  const statusJson = oneJson(await coord(url, ['--json', 'status', '--project', 'wf']))
  t.equal(statusJson.project, 'wf')
  t.notOk('metrics' in statusJson, '--json stays the status answer')

  // A conflict: cB's report names a file that cA, still working, declared.
  t.equal((await post(app, '/tasks', {
    project: 'cf', tasks: [{ id: 'cA', description: 'a', files: { write: ['a.md'] } }, { id: 'cB', description: 'b', files: { write: ['b.md'] } }],
  })).statusCode, 201)
  t.equal((await claim(app, 'w3', '&project=cf')).task.id, 'cA')
  t.equal((await claim(app, 'w4', '&project=cf')).task.id, 'cB')
  const clash = await coord(url, ['--state-dir', tempDir(), 'report', 'cB', '--worker', 'w4', '--status', 'completed', '--summary', 'x',
    '--deliverable', 'b.md', '--deliverable', 'a.md'])
  t.equal(clash.code, 0, clash.stderr)
  t.match(clash.stdout, /task cB is now input-required\.\nUndeclared: a\.md \(not in the task's files\.write\)/)
  t.match(clash.stdout, /\nConflicts: your report is kept, but the task waits for the engineer[^\n]*\n {2}- a\.md: task cA writes a\.md\n/)
})
