/**
 * The MCP server as an agent tool uses it: the SDK's own `Client` over `StdioClientTransport`, the
 * server a `coord mcp` child process, the coordination server real and listening on a socket.
 */
import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { listen, sleep } from './helper.js'

// Each session is a child process compiling TypeScript through tap's loader (2-4 s, more under load).
t.setTimeout(300_000)

const CLI = fileURLToPath(new URL('../clients/cli.ts', import.meta.url))

interface Session { client: Client, errors: Error[], stderr: () => string }

/** Start `coord mcp ...args` for `url` with state in `dir`, and connect the SDK client to it. */
async function connect (t: Test, url: string, dir: string, args: string[] = ['--worker', 'w1']): Promise<Session> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'COORD_WORKER') env[k] = v
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...process.execArgv, CLI, 'mcp', ...args],
    env: { ...env, COORD_URL: url, COORD_STATE_DIR: dir },
    stderr: 'pipe',
  })
  let stderr = ''
  transport.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const client = new Client({ name: 'coord-test', version: '1.0.0' })
  const errors: Error[] = []
  // A line on the server's stdout that is not protocol would arrive here as a parse error.
  client.onerror = (err) => errors.push(err)
  await client.connect(transport, { timeout: 60_000 })
  t.teardown(() => client.close())
  return { client, errors, stderr: () => stderr }
}

/** Call a tool; the result with its structuredContent typed loosely for assertions. */
async function call (s: Session, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult & { structuredContent?: any }> {
  return await s.client.callTool({ name, arguments: args }) as CallToolResult & { structuredContent?: any }
}

const text = (r: CallToolResult): string => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n')

t.test('tools and resources are listed with descriptions and input schemas', async (t) => {
  const { url } = await listen(t)
  const s = await connect(t, url, t.testdir())
  const { tools } = await s.client.listTools()
  const names = tools.map((x) => x.name).sort()
  t.same(names, ['amend_task', 'answer_task', 'ask_engineer', 'cancel_task', 'close_project', 'create_tasks', 'get_task', 'heartbeat',
    'list_escalations', 'next_task', 'project_metrics', 'project_status', 'report_task', 'review_task', 'wait_for'])
  for (const tool of tools) {
    t.ok((tool.description ?? '').length > 60, `${tool.name} is described`)
    t.equal(tool.inputSchema.type, 'object')
  }
  const report = tools.find((x) => x.name === 'report_task')
  t.match(report?.inputSchema.required, ['task_id', 'status', 'summary'])
  t.match(JSON.stringify(report?.inputSchema.properties?.wait), /Seconds/, 'units are stated')
  const { resourceTemplates } = await s.client.listResourceTemplates()
  t.same(resourceTemplates.map((r) => r.uriTemplate).sort(), ['coord://projects/{project}', 'coord://tasks/{id}'])
  t.same(s.errors, [], 'nothing but protocol on stdout')
})

t.test('the worker loop and the coordinator through tools; leases shared with the CLI state and kept across a restart', async (t) => {
  const { url } = await listen(t)
  const dir = t.testdir()
  const s = await connect(t, url, dir)

  const tasks = [{ id: 'a', description: 'Write a' }, { id: 'b', description: 'Write b' }]
  const created = await call(s, 'create_tasks', { project: 'p1', close: true, tasks })
  t.notOk(created.isError, text(created))
  t.same(created.structuredContent.created, ['a', 'b'])

  const next = await call(s, 'next_task', { wait: 5 })
  t.equal(next.structuredContent.status, 'assigned', text(next))
  t.equal(next.structuredContent.assignment.task.id, 'a')
  t.match(text(next), /call report_task with task_id "a"/)
  const leaseId = next.structuredContent.assignment.lease.leaseId
  const saved = JSON.parse(readFileSync(join(dir, 'worker-w1.json'), 'utf8'))
  t.equal(saved.leases.a.leaseId, leaseId, 'the lease is saved where `coord report` looks for it')

  const beat = await call(s, 'heartbeat')
  t.notOk(beat.isError, text(beat))
  t.equal(beat.structuredContent.leaseId, leaseId, 'heartbeat without arguments extends the latest lease')

  // A restarted MCP server finds the lease in the state directory: report_task needs only the task id.
  await s.client.close()
  const s2 = await connect(t, url, dir)
  const reported = await call(s2, 'report_task', { task_id: 'a', status: 'completed', summary: 'wrote a', deliverables: ['a.md'] })
  t.notOk(reported.isError, text(reported))
  t.equal(reported.structuredContent.task.state, 'completed')
  t.equal(reported.structuredContent.next.status, 'assigned', 'next is on by default: the same call brings the next task')
  t.equal(reported.structuredContent.next.assignment.task.id, 'b')

  // The coordinator waits while the worker finishes the last task in a concurrent call.
  const waited = call(s2, 'wait_for', { project: 'p1', wait: 30 })
  await sleep(500)
  const started = Date.now()
  const last = await call(s2, 'report_task', { task_id: 'b', status: 'completed', summary: 'wrote b', wait: 5 })
  t.equal(last.structuredContent.next.status, 'finished', `project done: the worker is told to stop (${text(last)})`)
  const done = await waited
  t.equal(done.structuredContent.outcome, 'done', text(done))
  t.ok(Date.now() - started < 10_000, 'wait_for returned soon after the last report, not at the end of its wait')
  t.match(JSON.parse(readFileSync(join(dir, 'coordinator-p1.json'), 'utf8')), { after: done.structuredContent.after }, 'cursor shared with `coord wait`')

  const status = await call(s2, 'project_status', { project: 'p1' })
  t.equal(status.structuredContent.done, true)
  const resource = await s2.client.readResource({ uri: 'coord://tasks/a' })
  const detail = JSON.parse((resource.contents[0] as { text: string }).text)
  t.equal(detail.task.result.summary, 'wrote a')
  const { resources } = await s2.client.listResources()
  t.ok(resources.some((r) => r.uri === 'coord://projects/p1'), 'projects are listed as resources')
  t.same([...s.errors, ...s2.errors], [], 'nothing but protocol on stdout')
})

t.test('the workflow through tools: checks refuse a report as a tool result, review sends work back, answers and escalations, metrics', async (t) => {
  const root = t.testdir()
  const { url } = await listen(t, { COORD_WORKSPACE_ROOTS: root })
  const dir = join(root, 'state')
  const s = await connect(t, url, dir)
  const created = await call(s, 'create_tasks', {
    project: 'wf',
    workspace: root,
    tasks: [
      { id: 'doc', description: 'Write doc.md', checks: [{ kind: 'file-nonempty', path: 'doc.md' }], review: true },
      { id: 'q', description: 'Needs an answer', dependsOn: ['doc'] },
    ],
  })
  t.notOk(created.isError, text(created))

  const next = await call(s, 'next_task', { wait: 5 })
  t.equal(next.structuredContent.assignment.task.id, 'doc', text(next))
  t.match(text(next), /Checks \(run by the server on your files when you report completed[^\n]*\n {2}- doc\.md is not empty\n {6}rule: file-nonempty: doc\.md /)
  const granted = next.structuredContent.assignment.lease

  const refused = await call(s, 'report_task', { task_id: 'doc', status: 'completed', summary: 'wrote it', next: false })
  t.ok(refused.isError, 'a refused report is not taken for an accepted one')
  t.match(text(refused), /Report refused \(422 CHECKS_FAILED\): 1 of 1 checks failed \(rejected report 1 of 3\):\n {2}- doc\.md does not exist/)
  t.match(text(refused), 'report again the same way:\n  report_task with task_id "doc" and status "completed"')
  t.match(refused.structuredContent.error, {
    code: 'CHECKS_FAILED', status: 422, escalated: false, failed: [{ kind: 'file-nonempty' }], lease: { leaseId: granted.leaseId },
  })
  const saved = JSON.parse(readFileSync(join(dir, 'worker-w1.json'), 'utf8')).leases.doc
  t.equal(saved.expiresAt, refused.structuredContent.error.lease.expiresAt, 'the extended lease is saved')

  writeFileSync(join(root, 'doc.md'), '# Doc\n')
  const done = await call(s, 'report_task', { task_id: 'doc', status: 'completed', summary: 'wrote it', next: false })
  t.notOk(done.isError, text(done))
  t.equal(done.structuredContent.task.state, 'review-required')
  t.match(text(done), /All 1 checks passed\.\nIt waits for the coordinator's review/)

  const noFeedback = await call(s, 'review_task', { task_id: 'doc', decision: 'changes' })
  t.ok(noFeedback.isError)
  t.match(text(noFeedback), /400 FEEDBACK_REQUIRED/)
  const changes = await call(s, 'review_task', { task_id: 'doc', decision: 'changes', feedback: 'Add an example.', by: 'lead' })
  t.notOk(changes.isError, text(changes))
  t.match(changes.structuredContent, { state: 'submitted', reservedFor: 'w1' })
  t.match(text(changes), /sent back with your feedback/)
  const redo = await call(s, 'next_task', { wait: 5 })
  t.match(text(redo), /Notes \(answers and review feedback[^\n]*\n {2}- review \(changes\) by lead at \S+:\n {6}Add an example\./)
  t.notOk((await call(s, 'report_task', { task_id: 'doc', status: 'completed', summary: 'example added', next: false })).isError)
  const accepted = await call(s, 'review_task', { task_id: 'doc', decision: 'accept' })
  t.equal(accepted.structuredContent.state, 'completed', text(accepted))
  const notInReview = await call(s, 'review_task', { task_id: 'doc', decision: 'accept' })
  t.match(text(notInReview), /409 NOT_IN_REVIEW/)

  const dependent = await call(s, 'next_task', { wait: 5 })
  t.equal(dependent.structuredContent.assignment.task.id, 'q')
  t.match(text(dependent), /Results of the tasks this one depends on[^\n]*\n {2}- doc \(by w1\): Write doc\.md\n {6}example added/)
  await call(s, 'report_task', { task_id: 'q', status: 'blocked', summary: 'unsure', question: 'Which format?', next: false })
  const queue = await call(s, 'list_escalations', { project: 'wf' })
  t.match(queue.structuredContent.escalations, [{ taskId: 'q', kind: 'question', message: /Which format\?/ }])
  t.match(text(queue), 'answer_task with task_id "q"')
  const answered = await call(s, 'answer_task', { task_id: 'q', message: 'Markdown.', by: 'engineer' })
  t.notOk(answered.isError, text(answered))
  t.match(answered.structuredContent, { state: 'submitted', notes: [{ kind: 'answer', message: 'Markdown.', question: /Which format/ }] })
  t.same((await call(s, 'list_escalations', {})).structuredContent.escalations, [])

  const metrics = await call(s, 'project_metrics', { project: 'wf' })
  t.notOk(metrics.isError, text(metrics))
  t.match(metrics.structuredContent, { project: 'wf', interventions: 1, checks: { rejections: 1 }, review: { roundTrips: 1, accepted: 1 } })
  t.match(text(metrics), /automation rate 50%/)
  t.same(s.errors, [], 'nothing but protocol on stdout')
})

t.test('errors are tool results that say what to fix', async (t) => {
  const { url } = await listen(t)
  const s = await connect(t, url, t.testdir(), [])
  const noWorker = await call(s, 'next_task', { wait: 0 })
  t.ok(noWorker.isError)
  t.match(text(noWorker), /No worker id: pass `worker`/)
  const missing = await call(s, 'report_task', { task_id: 'nope', status: 'completed', summary: 'x', worker: 'w9' })
  t.ok(missing.isError)
  t.match(text(missing), /404 TASK_NOT_FOUND/)
  await call(s, 'create_tasks', { tasks: [{ id: 'c', description: 'Write c' }] })
  await call(s, 'next_task', { worker: 'w2', wait: 0 })
  await call(s, 'report_task', { task_id: 'c', worker: 'w2', status: 'completed', summary: 'done', next: false })
  const late = await call(s, 'cancel_task', { task_id: 'c' })
  t.ok(late.isError)
  t.match(text(late), /409 TASK_FINISHED/)
  t.equal(late.structuredContent.error.code, 'TASK_FINISHED')
  const bad = await call(s, 'create_tasks', { tasks: [{ id: 'd', description: 'x', priority: 5000 }] })
  t.ok(bad.isError, 'a value the server refuses comes back as an error result')
  t.match(text(bad), /400/)
})

t.test('a server that is not running is named by its URL', async (t) => {
  const s = await connect(t, 'http://127.0.0.1:9', t.testdir())
  const r = await call(s, 'project_status')
  t.ok(r.isError)
  t.match(text(r), /Cannot connect to the coordination server at http:\/\/127\.0\.0\.1:9/)
})

t.test('a wait longer than the client timeout survives on progress notifications', async (t) => {
  const { url } = await listen(t)
  const s = await connect(t, url, t.testdir())
  const progress: number[] = []
  const started = Date.now()
  // 28 s client timeout, 30 s wait: only the progress sent after the first 25 s slice keeps it alive.
  const r = await s.client.callTool({ name: 'next_task', arguments: { wait: 30 } }, undefined, {
    timeout: 28_000,
    resetTimeoutOnProgress: true,
    onprogress: (p) => progress.push(p.progress),
  }) as CallToolResult & { structuredContent?: any }
  t.equal(r.structuredContent.status, 'empty', text(r))
  t.ok(progress.length >= 1, `progress notifications arrived (${progress.join(', ')})`)
  t.ok(Date.now() - started >= 28_000, 'the call outlived the client timeout')
})
