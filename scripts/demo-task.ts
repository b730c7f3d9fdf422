/**
 * The work of one demo task, shared by both demo workers (the in-process loop and the CLI path):
 * summarize the task's file into `<outDir>/<taskId>.summary.md` and say how it went as a report.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Task } from '../src/schemas/tasks.js'
import type { WorkResult } from '../clients/worker-loop.js'
import { countWords, summarize, SUMMARY_WORDS } from './summarize.js'

/** A demo task's report, with the summary's word count and the time it took (ms) in `details`. */
export interface DemoReport extends WorkResult {
  status: 'completed' | 'failed'
  deliverables: string[]
  details: { words: number, ms: number }
}

/**
 * Summarize `task.context.file` (100–200 words) and write it. `workMs` (ms) stands in for a chat's
 * thinking time. The report is `completed` when the summary's length is in range, else `failed`.
 * @throws Error when the file cannot be read or the summary cannot be written
 */
export async function doDemoTask (task: Task, outDir: string, workMs: number): Promise<DemoReport> {
  const started = performance.now()
  const summary = summarize(readFileSync(String(task.context.file), 'utf8'))
  const words = countWords(summary)
  const out = join(outDir, `${task.id}.summary.md`)
  writeFileSync(out, `# ${String(task.context.package)}\n\n${summary}\n`)
  if (workMs > 0) await sleep(workMs) // stands in for a chat's minutes of thinking
  const ok = words >= SUMMARY_WORDS.min && words <= SUMMARY_WORDS.max
  return {
    status: ok ? 'completed' : 'failed',
    summary: ok ? `Extractive summary of ${words} words.` : `Could only extract ${words} words (need ${SUMMARY_WORDS.min}-${SUMMARY_WORDS.max}).`,
    deliverables: [out],
    contextScore: 5,
    details: { words, ms: Math.round(performance.now() - started) },
  }
}
