/**
 * The work of one demo task, shared by both demo workers (the in-process loop and the CLI path).
 * A `summarize` task writes a 100–200-word extract of its README to the file its `files.write` names; the
 * `merge` task (which depends on every summary) joins the summaries its claim lists under `dependencies`
 * into one file. Paths in tasks and reports are relative to the task's workspace, as the server wants them.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Assignment, Task } from '../src/schemas/tasks.js'
import type { WorkResult } from '../clients/worker-loop.js'
import { countWords, summarize, SUMMARY_WORDS } from './summarize.js'

/** The merged file, relative to the workspace. */
export const MERGED_FILE = 'all-summaries.md'
/** The line the demo coordinator's review asks for; the merge adds it once a review note requests changes. */
export const CONTENTS_PREFIX = 'Contents:'

/** A demo task's report, with the output's word count and the time the task took (ms) in `details`. */
export interface DemoReport extends WorkResult {
  status: 'completed' | 'failed'
  deliverables: string[]
  details: { words: number, ms: number }
}

/**
 * Do one claimed task: `merge` tasks merge, every other task summarizes `task.context.file`.
 * `workMs` (ms) stands in for a chat's thinking time. `outDir` is used when the task names no workspace.
 * @throws Error when a file cannot be read or written
 */
export async function doDemoTask (assignment: Assignment, outDir: string, workMs: number): Promise<DemoReport> {
  const started = performance.now()
  const root = assignment.task.workspace ?? outDir
  const { words, ...report } = assignment.task.type === 'merge' ? mergeSummaries(assignment, root) : summarizeReadme(assignment.task, root)
  if (workMs > 0) await sleep(workMs) // stands in for a chat's minutes of thinking
  return { ...report, contextScore: 5, details: { words, ms: Math.round(performance.now() - started) } }
}

type Done = Omit<DemoReport, 'details' | 'contextScore'> & { words: number }

/** Summarize the README into the task's declared file. `failed` when the extract is out of range (the server's word-count check would refuse it). */
function summarizeReadme (task: Task, root: string): Done {
  const summary = summarize(readFileSync(String(task.context.file), 'utf8'))
  const words = countWords(summary)
  const out = task.files.write[0] ?? `${task.id}.summary.md`
  writeFileSync(join(root, out), `# ${String(task.context.package)}\n\n${summary}\n`)
  const ok = words >= SUMMARY_WORDS.min && words <= SUMMARY_WORDS.max
  return {
    status: ok ? 'completed' : 'failed',
    summary: ok ? `Extractive summary of ${words} words.` : `Could only extract ${words} words (need ${SUMMARY_WORDS.min}-${SUMMARY_WORDS.max}).`,
    deliverables: [out],
    words,
  }
}

/**
 * Join the dependencies' summaries, each under a `## <package>` heading, into MERGED_FILE. The worker
 * reads `task.notes` first, as the worker rules say: a review that asked for changes gets the contents
 * line (a chat would act on the feedback's words; the demo knows the one change its coordinator asks for).
 */
function mergeSummaries ({ task, dependencies }: Assignment, root: string): Done {
  const parts = dependencies.flatMap((d) => d.deliverables.slice(0, 1)).map((file) => readFileSync(join(root, file), 'utf8').trim())
  const names = parts.map((p) => /^# (.+)$/m.exec(p)?.[1] ?? '?')
  const askedForChanges = task.notes.some((n) => n.kind === 'review' && n.decision === 'changes')
  const body = [
    `# Summaries of ${parts.length} dependency READMEs`,
    ...(askedForChanges ? [`${CONTENTS_PREFIX} ${names.join(', ')}`] : []),
    ...parts.map((p) => p.replace(/^# /m, '## ')),
  ].join('\n\n')
  writeFileSync(join(root, MERGED_FILE), `${body}\n`)
  return {
    status: 'completed',
    summary: `Merged ${parts.length} summaries into ${MERGED_FILE}${askedForChanges ? ', with the contents line the review asked for' : ''}.`,
    deliverables: [MERGED_FILE],
    words: countWords(body),
  }
}
