/**
 * A regular expression run with a time limit. A coordinator's pattern such as `(a+)+$` can backtrack
 * for minutes on a worker's file and would block the whole server; V8 interrupts a script run by
 * `node:vm` at its timeout, regex execution included.
 */
import vm from 'node:vm'

/** Default time limit for one pattern on one file, in ms. */
export const REGEX_TIMEOUT_MS = 1000

const context = vm.createContext({ re: null, text: '' })
const script = new vm.Script('re.exec(text)')

/** Thrown when a pattern runs longer than its time limit. */
export class RegexTimeoutError extends Error {
  constructor (timeoutMs: number) {
    super(`the pattern ran longer than ${timeoutMs / 1000} s`)
    this.name = 'RegexTimeoutError'
  }
}

/**
 * The first match of `re` in `text` (`re` must not have the `g` or `y` flag, so it starts at 0).
 *
 * @param timeoutMs time limit in ms
 * @returns the match's index and matched text, or null for no match
 * @throws RegexTimeoutError when the limit is reached
 */
export function firstMatch (re: RegExp, text: string, timeoutMs = REGEX_TIMEOUT_MS): { index: number, match: string } | null {
  context.re = re
  context.text = text
  try {
    const m = script.runInContext(context, { timeout: timeoutMs }) as RegExpExecArray | null
    return m === null ? null : { index: m.index, match: m[0] }
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new RegexTimeoutError(timeoutMs)
    throw err
  } finally {
    // Do not keep a 2 MiB file alive in the shared context.
    context.re = null
    context.text = ''
  }
}
