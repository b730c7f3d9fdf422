/**
 * Check results as a report's answer carries them. A worker's report answer used to echo every
 * check's full command output (4 KB each) even when all passed; the answer now keeps each check's
 * outcome and, for a failed one only, the tail of its output. The task's history keeps the full
 * results (`GET /tasks/{id}`, `reports[].checks`).
 */
import type { CheckResult } from '../schemas/checks.js'

/** Lines of a failed check's output an answer keeps (the last ones: where failures are reported). */
export const ANSWER_OUTPUT_LINES = 20
/** Bytes of a failed check's output an answer keeps, at most (UTF-8). */
export const ANSWER_OUTPUT_BYTES = 2048

/** The last ANSWER_OUTPUT_LINES lines of `output`, cut to its last ANSWER_OUTPUT_BYTES bytes (never through a character). */
export function outputTail (output: string): string {
  const lines = output.replace(/\n$/, '').split('\n')
  const tail = lines.slice(-ANSWER_OUTPUT_LINES).join('\n') + (output.endsWith('\n') ? '\n' : '')
  const bytes = Buffer.from(tail, 'utf8')
  if (bytes.length <= ANSWER_OUTPUT_BYTES) return tail
  return bytes.subarray(bytes.length - ANSWER_OUTPUT_BYTES).toString('utf8').replace(/^\uFFFD+/, '')
}

/**
 * One result as an answer shows it: `index`, `kind`, `label`, `passed`, `message`, plus `output`
 * (its tail, see `outputTail`) when `withOutput` and the check failed with some output.
 */
export function answerResult (r: CheckResult, withOutput: boolean): CheckResult {
  const { output, ...outcome } = r
  return withOutput && !r.passed && output !== undefined && output !== '' ? { ...outcome, output: outputTail(output) } : outcome
}

/** Every result as an answer shows it: outcomes, with output tails of the failed ones when `withOutput`. */
export function answerResults (results: readonly CheckResult[], withOutput = true): CheckResult[] {
  return results.map((r) => answerResult(r, withOutput))
}
