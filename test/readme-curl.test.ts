// The README's curl walkthrough runs as written (only the server address changed) against a fresh
// server: bash, curl and node, as a reader would paste it. The lease id comes from the claim's answer.
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../src/paths.js'
import { listen, tempDir } from './helper.js'

/** The first ```sh block after `heading` in README.md. */
function block (heading: string): string {
  const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8')
  const from = readme.indexOf('```sh\n', readme.indexOf(heading))
  return readme.slice(from + '```sh\n'.length, readme.indexOf('\n```', from + 1))
}

t.test('the curl walkthrough: post, claim, heartbeat, report with next, status, events', async (t) => {
  const { url } = await listen(t)
  const script = block('## curl walkthrough')
  t.match(script, /^S=http:\/\/127\.0\.0\.1:3100$/m, 'the block sets the default address, which the test replaces')
  // Asynchronously: the server answering the script runs in this process.
  const run = await promisify(execFile)('bash', ['-c', script.replace(/^S=.*$/m, `S=${url}`)], { cwd: tempDir(), timeout: 60_000 })
  t.equal(run.stderr, '')
  t.notMatch(run.stdout, /"code":"(LEASE_|VALIDATION|TASK_)/, 'no error answer')
  t.match(run.stdout, /HTTP 200\n\{"task":\{"id":"task-001"/, 'the claim')
  t.match(run.stdout, /"accepted":true,"duplicate":false/, 'the report with the captured lease is accepted')
  t.match(run.stdout, /"next":\{"status":"finished"/)
  t.match(run.stdout, /"project":"docs".*"done":true/, 'the status says done')
})
