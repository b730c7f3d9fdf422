/** Running the `coord` CLI as chats do in tests: a child process against a real server, to the end. */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The CLI's source entry point, run through tap's TypeScript loader (`process.execArgv`). */
export const CLI = fileURLToPath(new URL('../clients/cli.ts', import.meta.url))

/** A finished run: exit code, output, and when it ended (epoch ms). */
export interface Run { code: number | null, stdout: string, stderr: string, endedAt: number }

/**
 * Run `coord args...` against `url` with COORD_WORKER and COORD_STATE_DIR unset (tests pass what they
 * mean); `onStderr` sees each chunk of stderr as it comes (progress lines tell that a wait is under way).
 */
export function runCoord (url: string, args: string[], onStderr?: (text: string) => void): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, COORD_URL: url }
  delete env.COORD_WORKER
  delete env.COORD_STATE_DIR
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); onStderr?.(d.toString()) })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr, endedAt: Date.now() }))
  })
}
