/**
 * Issue 15 through the MCP tools (a `coord mcp` child process, the SDK's own client): the coordinator
 * asks the engineer (`ask_engineer`), the answer (`answer_task` with the question id) wakes `wait_for`,
 * a task is amended (`amend_task`), and `next_task` shows an answered task's answer before the task.
 */
import t, { type Test } from 'tap'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { claim, listen, post, report } from './helper.js'

// Each session is a child process compiling TypeScript through tap's loader (2-4 s, more under load).
t.setTimeout(300_000)

const CLI = fileURLToPath(new URL('../clients/cli.ts', import.meta.url))

/** Start `coord mcp --worker w1` for `url` with state in `dir` and connect the SDK client to it. */
async function connect (t: Test, url: string, dir: string): Promise<Client> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'COORD_WORKER') env[k] = v
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...process.execArgv, CLI, 'mcp', '--worker', 'w1'],
    env: { ...env, COORD_URL: url, COORD_STATE_DIR: dir },
    stderr: 'pipe',
  })
  const client = new Client({ name: 'coord-test', version: '1.0.0' })
  await client.connect(transport, { timeout: 60_000 })
  t.teardown(() => client.close())
  return client
}

type Result = CallToolResult & { structuredContent?: any }
const text = (r: CallToolResult): string => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n')

t.test('ask_engineer, answer_task with a question id waking wait_for, amend_task, and next_task showing the answer first', async (t) => {
  const { app, url } = await listen(t)
  const client = await connect(t, url, t.testdir())
  const call = async (name: string, args: Record<string, unknown>): Promise<Result> => await client.callTool({ name, arguments: args }) as Result
  await post(app, '/tasks', { project: 'p', tasks: [{ id: 'ask', description: 'FIRST ask the engineer which format, then write it.' }] })

  const asked = await call('ask_engineer', { message: 'May I drop the posttest script?', project: 'p' })
  t.notOk(asked.isError, text(asked))
  t.equal(asked.structuredContent.id, 'question-1')
  const queue = await call('list_escalations', { project: 'p' })
  t.match(text(queue), /answer_task with task_id "question-1"/)
  const waiting = call('wait_for', { project: 'p', wait: 30, after: (await app.inject('/events')).json().nextAfter })
  const answered = await call('answer_task', { task_id: 'question-1', message: 'Yes, drop it.' })
  t.notOk(answered.isError, text(answered))
  t.equal(answered.structuredContent.answer, 'Yes, drop it.')
  const woke = await waiting
  t.equal(woke.structuredContent.outcome, 'attention')
  t.match(text(woke), /your question question-1 was answered: "May I drop the posttest script\?" → "Yes, drop it\."/)

  const amended = await call('amend_task', { task_id: 'ask', priority: 3, acceptance: ['one line'] })
  t.notOk(amended.isError, text(amended))
  t.match(amended.structuredContent, { priority: 3, acceptance: ['one line'] })

  await report(app, await claim(app, 'w1'), 'blocked', { question: 'Which format?' })
  await post(app, '/tasks/ask/answer', { message: 'Markdown.' })
  const next = await call('next_task', { wait: 5 })
  t.equal(next.structuredContent.assignment.answered, true)
  const shown = text(next)
  t.ok(shown.indexOf('ANSWERED:') > 0 && shown.indexOf('ANSWERED:') < shown.indexOf('"description"'), 'the answer comes before the task')
})
