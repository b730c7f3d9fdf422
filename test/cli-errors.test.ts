// The edges a newcomer hits on the command line: a --url without a scheme, errors under --json, and a
// report without its task id. Real `coord` processes against a real server.
import t from 'tap'
import { runCoord } from './coord-process.js'
import { listen, post, postTasks, tempDir } from './helper.js'

/** No stack trace: a line starting with `at ` under an error. */
const stackLine = /^\s+at /m

t.test('--url host:port means http://host:port; a URL that cannot be served is one line, no stack', async (t) => {
  const { url } = await listen(t)
  const bare = await runCoord(url, ['--url', url.replace('http://', ''), 'status'])
  t.equal(bare.code, 0, bare.stderr)
  t.match(bare.stdout, /^All projects: 0 tasks/)
  const ftp = await runCoord(url, ['--url', 'ftp://127.0.0.1:1', 'status'])
  t.equal(ftp.code, 1)
  t.match(ftp.stderr, /--url.*ftp:.*http:\/\/127\.0\.0\.1:3100/)
  t.notMatch(ftp.stderr, stackLine)
  const junk = await runCoord(url, ['--url', 'http://[nope', 'status'])
  t.equal(junk.code, 1)
  t.match(junk.stderr, /not a server URL/)
  t.notMatch(junk.stderr, stackLine)
})

t.test('--json: an error is one JSON line on stderr, stdout stays empty', async (t) => {
  const { app, url } = await listen(t)
  const notFound = await runCoord(url, ['--json', 'status', '--project', 'no-such'])
  t.equal(notFound.code, 1)
  t.equal(notFound.stdout, '')
  t.same(JSON.parse(notFound.stderr), {
    error: {
      code: 'PROJECT_NOT_FOUND', status: 404, message: 'No project is named no-such. List projects with GET /projects.', details: { project: 'no-such' },
    },
  })
  const cancel = await runCoord(url, ['cancel', 'no-such-task', '--json'])
  t.match(JSON.parse(cancel.stderr), { error: { code: 'TASK_NOT_FOUND', status: 404 } })
  const usage = await runCoord(url, ['--json', 'report'])
  t.equal(usage.code, 1)
  t.same(JSON.parse(usage.stderr), { error: { code: 'USAGE', message: 'missing required argument \'taskId\'' } }, 'commander\'s own errors too')
  const dir = tempDir()
  await postTasks(app, ['gone'])
  t.equal((await runCoord(url, ['--state-dir', dir, '--worker', 'w1', 'next', '--wait', '0'])).code, 0)
  await post(app, '/tasks/gone/cancel')
  const refused = await runCoord(url, ['--json', '--state-dir', dir, '--worker', 'w1', 'report', 'gone', '--status', 'completed', '--summary', 'x'])
  t.equal(refused.code, 4, 'a refused report still exits 4')
  t.match(JSON.parse(refused.stderr), { error: { code: 'TASK_CANCELED', status: 409, hint: /coord.* next/ } }, 'and says so in JSON')
  const down = await runCoord(url, ['--json', '--url', 'http://127.0.0.1:1', 'status'])
  t.match(JSON.parse(down.stderr), { error: { code: 'CONNECTION_FAILED' } })
})

t.test('coord report without a task id says so, not that --status is missing', async (t) => {
  const { url } = await listen(t)
  const bare = await runCoord(url, ['report'])
  t.equal(bare.code, 1)
  t.match(bare.stderr, /missing required argument 'taskId'/)
  t.notMatch(bare.stderr, /--status/)
  const noStatus = await runCoord(url, ['--worker', 'w1', 'report', 'some-task', '--summary', 'x'])
  t.equal(noStatus.code, 1)
  t.match(noStatus.stderr, /required option '--status <status>' not specified/)
})
