/**
 * Run a `command` check: `sh -c` in the workspace root, in its own process group so that the
 * timeout kills everything the command started, not just the shell.
 */
import { spawn } from 'node:child_process'

/** Bytes of combined stdout and stderr kept (the end of it: where failures are reported). */
export const OUTPUT_TAIL_BYTES = 4096

/** How a command ended. `output` is the last OUTPUT_TAIL_BYTES of stdout and stderr, interleaved as they arrived. */
export type CommandOutcome =
  | { kind: 'exited', code: number, output: string }
  | { kind: 'signaled', signal: string, output: string }
  | { kind: 'timed-out', output: string }
  | { kind: 'not-started', error: string, output: string }

function killGroup (pid: number | undefined): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Run `command` through `sh -c` in `cwd` with the server's environment and stdin closed.
 * When the shell exits, whatever it left running in its group is killed too, so a check never
 * leaves processes behind; at `timeoutMs` the whole group is killed with SIGKILL.
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

    let child
    try {
      child = spawn('sh', ['-c', command], { cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    } catch (err) {
      resolve({ kind: 'not-started', error: (err as Error).message, output: '' })
      return
    }
    let timedOut = false
    let exit: { code: number | null, signal: NodeJS.Signals | null } | null = null
    const timer = setTimeout(() => {
      timedOut = true
      killGroup(child.pid)
    }, timeoutMs)
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.on('error', (err) => {
      clearTimeout(timer)
      resolve({ kind: 'not-started', error: err.message, output: output() })
    })
    child.on('exit', (code, signal) => {
      exit = { code, signal }
      // Background processes still hold the pipes open; without this, 'close' waits for them.
      killGroup(child.pid)
    })
    child.on('close', () => {
      clearTimeout(timer)
      if (timedOut) resolve({ kind: 'timed-out', output: output() })
      else if (exit?.code !== null && exit?.code !== undefined) resolve({ kind: 'exited', code: exit.code, output: output() })
      else resolve({ kind: 'signaled', signal: exit?.signal ?? 'unknown signal', output: output() })
    })
  })
}
