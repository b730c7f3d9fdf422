/**
 * The command lines `coord` prints as hints ("When done: coord report task-001 --worker w1 ..."). A
 * chat copies them as they are, so every hint repeats the flags its command was given (`--worker`,
 * `--url` when not the default, `--state-dir` when given, `--project`, `--type`, `--wait`) and names
 * the executable the way the user called it. One renderer makes all of them.
 */
import { basename, delimiter, dirname, join, resolve } from 'node:path'
import { packageRoot } from '../src/paths.js'
import { DEFAULT_URL } from './client.js'

/** The flags a hint repeats; unset ones are left out. */
export interface HintFlags {
  worker?: string
  /** Left out when it is the default URL. */
  url?: string
  stateDir?: string
  project?: string
  type?: string
  /** Seconds; left out when it is the default wait. */
  wait?: number
}

/** Default of `--wait` for `next` and `report --next`, in seconds. */
export const DEFAULT_WAIT_S = 60

/**
 * How to call `coord` again, as the user did: `coord` when it was found on PATH, the path they typed
 * (`./coord`, `/abs/checkout/coord`) when they called the root executable, and the checkout's root
 * executable by absolute path when the CLI was run some other way (`node dist/clients/cli.js`,
 * `npx coord`, whose PATH entry lasts one command).
 * @param argv1 `process.argv[1]`, the script as invoked
 * @param envPath `$PATH`
 */
export function invokedAs (argv1: string | undefined, envPath = process.env.PATH ?? ''): string {
  const root = join(packageRoot, 'coord')
  if (argv1 === undefined || basename(argv1) !== 'coord') return root
  // `npx coord` puts node_modules/.bin on PATH only for that one command: name the checkout's coord.
  if (basename(dirname(argv1)) === '.bin' && basename(dirname(dirname(argv1))) === 'node_modules') return root
  const dirs = envPath.split(delimiter).filter((d) => d !== '').map((d) => resolve(d))
  if (dirs.includes(resolve(dirname(argv1)))) return 'coord'
  return argv1
}

/** A word as a POSIX shell reads it back unchanged: bare when safe, else single-quoted. */
export function shellWord (word: string): string {
  if (/^[A-Za-z0-9_./:@%+=,-]+$/.test(word)) return word
  return `'${word.replaceAll("'", "'\\''")}'`
}

/**
 * One command line: the executable, `head` (subcommand and arguments), the identity flags
 * (`--worker`, `--url`, `--state-dir`), `tail` (the command's own options, inserted as written: a
 * placeholder such as `"..."` stays as it is) and, when `poll` is true, the poll filter and wait
 * (`--project`, `--type`, `--wait`).
 */
export function commandLine (exe: string, head: string[], flags: HintFlags, opts: { tail?: string[], poll?: boolean } = {}): string {
  const parts = [exe, ...head]
  const add = (flag: string, value: string | number | undefined): void => {
    if (value !== undefined) parts.push(flag, shellWord(String(value)))
  }
  add('--worker', flags.worker)
  add('--url', flags.url === DEFAULT_URL ? undefined : flags.url)
  add('--state-dir', flags.stateDir)
  parts.push(...(opts.tail ?? []))
  if (opts.poll === true) {
    add('--project', flags.project)
    add('--type', flags.type)
    add('--wait', flags.wait === DEFAULT_WAIT_S ? undefined : flags.wait)
  }
  return parts.join(' ')
}
