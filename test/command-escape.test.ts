// A command check whose command starts a process in a new session (`setsid`), out of the check's process
// group: the check still answers (at once when the shell exits, at the latest at the timeout) and kills
// what the command started instead of waiting for it and leaving it running.
import t, { type Test } from 'tap'
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { runChecks } from '../src/checks/run-checks.js'
import type { Check, CheckResult } from '../src/schemas/checks.js'
import { eventually } from './helper.js'

async function run (root: string, check: Check): Promise<CheckResult> {
  const [result] = await runChecks([check], {
    root, deliverables: [], declaredWrites: [], globMatches: (p, g) => p === g, commands: { enabled: true, timeoutMs: 60_000 },
  })
  if (result === undefined) throw new Error('no result')
  return result
}

/** Pids of the processes whose command line contains `token` (Linux /proc). */
function processesWith (token: string): number[] {
  const found: number[] = []
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(token)) found.push(Number(pid))
    } catch {} // ended meanwhile
  }
  return found
}

/** Kill whatever a test left behind under `token`, so a failing run does not leave sleeps for minutes. */
function cleanUp (t: Test, token: string): void {
  t.teardown(() => { for (const pid of processesWith(token)) try { process.kill(pid, 'SIGKILL') } catch {} })
}

t.test('a process started with setsid is killed when the shell exits or at the timeout', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const root = realpathSync(t.testdir({}))
  for (const [after, expected] of [['echo started', { passed: true, output: 'started\n' }], ['sleep 31.17', { passed: false, message: /timed out after 2 s/ }]] as const) {
    const token = after === 'echo started' ? '21.31' : '21.32'
    cleanUp(t, token)
    cleanUp(t, '31.17')
    // The escaped process would touch `ended-*` after 21 s if it were left running (or waited for).
    const run1 = `setsid -f sh -c 'sleep ${token}; touch ended-${token}; sleep ${token}'; ${after}`
    const result = await run(root, { kind: 'command', run: run1, timeoutSeconds: 2 })
    t.match(result, expected, `then ${after}: the check answers`)
    t.ok(await eventually(() => processesWith(token).length === 0, 5000), `then ${after}: the escaped process is killed, not left running`)
    t.notOk(existsSync(join(root, `ended-${token}`)), `then ${after}: it was killed before it ended by itself`)
  }
})

const linuxOnly = { skip: process.platform !== 'linux' && 'needs /proc' }

t.test('a process that escaped and cleared its environment no longer holds the answer past the timeout', linuxOnly, async (t) => {
  const root = realpathSync(t.testdir({}))
  cleanUp(t, '22.41')
  // The shell waits until the escaped process runs without the environment it inherited.
  const command = "setsid -f env -i sh -c 'touch cleared; sleep 22.41; touch ended; sleep 22.41'; " +
    'while [ ! -e cleared ]; do sleep 0.05; done; echo started'
  const result = await run(root, { kind: 'command', run: command, timeoutSeconds: 2 })
  t.match(result, { passed: false, message: /timed out after 2 s and was killed/, output: 'started\n' }, 'it answers at the timeout')
  t.notOk(existsSync(join(root, 'ended')), 'without waiting for the process that still held the output open')
})
