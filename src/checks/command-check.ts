/**
 * Run a `command` check: `sh -c` in the workspace root, in its own session and process group so that
 * the timeout kills everything the command started, not just the shell. A process that leaves the
 * group (`setsid`, `setpgid`) is still found on Linux by a mark in its environment, inherited from the
 * shell; one that also clears its environment cannot be found, but no longer holds the answer back:
 * at the timeout the pipes are closed and the check answers.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'

/** Bytes of combined stdout and stderr kept (the end of it: where failures are reported). */
export const OUTPUT_TAIL_BYTES = 4096

/** How a command ended. `output` is the last OUTPUT_TAIL_BYTES of stdout and stderr, interleaved as they arrived. */
export type CommandOutcome =
  | { kind: 'exited', code: number, output: string }
  | { kind: 'signaled', signal: string, output: string }
  | { kind: 'timed-out', output: string }
  | { kind: 'not-started', error: string, output: string }

/** Environment variable marking every process a check started (its value is unique to the run). */
export const RUN_MARK = 'COORD_CHECK_RUN'

function killGroup (pid: number | undefined): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * SIGKILL every process whose environment holds `mark` (Linux /proc; elsewhere nothing is found).
 * Repeated while it finds some, so that a process forked during a pass is killed by the next.
 */
function killMarked (mark: string): void {
  for (let pass = 0; pass < 3; pass++) {
    let found = 0
    let pids: string[]
    try {
      pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    } catch {
      return
    }
    for (const pid of pids) {
      try {
        if (!readFileSync(`/proc/${pid}/environ`, 'latin1').includes(mark)) continue
        process.kill(Number(pid), 'SIGKILL')
        found++
      } catch {} // gone meanwhile, or another user's process (not ours to read, nor started by the check)
    }
    if (found === 0) return
  }
}

/**
 * Run `command` through `sh -c` in `cwd` with the server's environment (plus RUN_MARK) and stdin closed.
 * When the shell exits, whatever it left running is killed too — its group, and on Linux anything
 * carrying the run's mark, even in another session — so a check never leaves processes behind. At
 * `timeoutMs` the same is killed with SIGKILL, the pipes are closed and the outcome is 'timed-out',
 * without waiting for a process that still holds them open.
 *
 * @param timeoutMs time limit in ms
 * @returns the outcome; never rejects
 */
export function runCommand (command: string, cwd: string, timeoutMs: number): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let kept = 0
    const keep = (chunk: Buffer): void => {
      chunks.push(chunk)
      kept += chunk.length
      while (chunks.length > 1 && kept - (chunks[0]?.length ?? 0) >= OUTPUT_TAIL_BYTES) kept -= chunks.shift()?.length ?? 0
    }
    const output = (): string => {
      const all = Buffer.concat(chunks)
      // A cut through a multi-byte character decodes as U+FFFD at the start: drop it.
      return all.subarray(Math.max(0, all.length - OUTPUT_TAIL_BYTES)).toString('utf8').replace(/^\uFFFD+/, '')
    }

    const mark = `${RUN_MARK}=${process.pid}-${randomBytes(8).toString('hex')}`
    let child
    try {
      child = spawn('sh', ['-c', command], {
        cwd, env: { ...process.env, [RUN_MARK]: mark.slice(RUN_MARK.length + 1) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
      })
    } catch (err) {
      resolve({ kind: 'not-started', error: (err as Error).message, output: '' })
      return
    }
    const killAll = (): void => {
      killGroup(child.pid)
      killMarked(mark)
    }
    let done = false
    const finish = (outcome: CommandOutcome): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      resolve(outcome)
    }
    let exit: { code: number | null, signal: NodeJS.Signals | null } | null = null
    const timer = setTimeout(() => {
      killAll()
      // A process that escaped the kill may hold the pipes open for as long as it likes: stop reading.
      child.stdout.destroy()
      child.stderr.destroy()
      finish({ kind: 'timed-out', output: output() })
    }, timeoutMs)
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.on('error', (err) => {
      finish({ kind: 'not-started', error: err.message, output: output() })
    })
    child.on('exit', (code, signal) => {
      exit = { code, signal }
      // Background processes still hold the pipes open; without this, 'close' waits for them.
      killAll()
    })
    child.on('close', () => {
      if (exit?.code !== null && exit?.code !== undefined) finish({ kind: 'exited', code: exit.code, output: output() })
      else finish({ kind: 'signaled', signal: exit?.signal ?? 'unknown signal', output: output() })
    })
  })
}
