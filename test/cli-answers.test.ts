/**
 * Issue 15 through the `coord` CLI, each command a child process against a real server: the
 * coordinator asks the engineer (`coord ask`), the engineer answers the question (`coord answer
 * question-N`), the coordinator amends a task (`coord amend`), and `coord next` shows an answered task's
 * answer before its description.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCoord as coord } from './coord-process.js'
import { claim, listen, post, report, tempDir } from './helper.js'

// Each run is a child process compiling TypeScript through tap's loader (2-4 s each, more under load).
t.setTimeout(600_000)

t.test('coord ask, answer question-N, amend, and next showing the answer first', async (t) => {
  const { app, url } = await listen(t)
  const dir = tempDir('coord-state-')
  await post(app, '/tasks', { project: 'p', tasks: [{ id: 'ask', description: 'FIRST ask the engineer which format, then write it.' }] })

  const asked = await coord(url, ['ask', 'May I drop the posttest script?', '--project', 'p', '--by', 'coordinator'])
  t.equal(asked.code, 0, asked.stderr)
  t.match(asked.stdout, /Asked the engineer: question-1 \(project p\).*coord wait --project p/s)
  const queue = await coord(url, ['escalations', '--project', 'p'])
  t.match(queue.stdout, /question-1 \[question\] project p, the coordinator's question/)
  t.match(queue.stdout, /→ .*coord answer question-1 "your answer"/, 'the queue gives the command that answers it')
  const answered = await coord(url, ['answer', 'question-1', 'Yes, drop it.', '--by', 'engineer'])
  t.equal(answered.code, 0, answered.stderr)
  t.match(answered.stdout, /Answered question-1.*answer: Yes, drop it\./s)

  const checks = join(dir, 'checks.json')
  writeFileSync(checks, JSON.stringify([{ kind: 'deliverables' }]))
  const amended = await coord(url, ['amend', 'ask', '--priority', '5', '--acceptance', 'one line', '--checks', checks])
  t.equal(amended.code, 0, amended.stderr)
  t.match(amended.stdout, /Task ask amended \(acceptance, checks, priority\)/)
  t.equal((await coord(url, ['amend', 'ask'])).code, 1, 'nothing to change is a usage error')

  await report(app, await claim(app, 'w1'), 'blocked', { question: 'Which format?' })
  await post(app, '/tasks/ask/answer', { message: 'Markdown.', by: 'engineer' })
  const next = await coord(url, ['--state-dir', dir, 'next', '--worker', 'w1', '--wait', '5'])
  t.equal(next.code, 0, next.stderr)
  const answerAt = next.stdout.indexOf('ANSWERED:')
  t.ok(answerAt > 0, 'the answer is marked')
  t.ok(answerAt < next.stdout.indexOf('Description:'), 'and comes before the description')
  t.match(next.stdout, /question: Which format\?\n\s+answer: Markdown\./)
})
