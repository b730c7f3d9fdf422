/**
 * Text for the workflow (issue 8) in the CLI's default output: what a claim brings besides the task
 * (notes, dependency results, checks), a report refused by the checks, the escalation queue, review and
 * answer outcomes, and a project's metrics. `--json` prints the API answers instead.
 */
import type { Check, CheckResult } from '../src/schemas/checks.js'
import { describeCheck, describeRule } from '../src/checks/describe-check.js'
import type { ProjectMetrics } from '../src/schemas/metrics.js'
import type { DependencyResult, Notice, Task, TaskNote } from '../src/schemas/tasks.js'
import type { Escalation, Question } from '../src/schemas/workflow.js'
import type { ChecksFailure } from './client-errors.js'

const indent = (text: string, pad = '  '): string => text.split('\n').map((l) => pad + l).join('\n')

/** Lines of a command check's output shown under its failure (a 422 carries its last 20 lines; the task's history its last 4 KB). */
const OUTPUT_LINES = 12

/**
 * A task's checks as a worker reads them with its claim (CLI and MCP alike): a header, then per check
 * its name (the coordinator's `label`, else the rule in short) and, under it, the exact rule with
 * every field the server applies (`describeRule`): path, pattern and flags, bounds, command. Empty
 * when the task has none. `checkRejections` > 0 is said in the header.
 */
export function formatCheckRules (checks: readonly Check[], checkRejections = 0): string[] {
  if (checks.length === 0) return []
  const refused = checkRejections > 0 ? `; ${checkRejections} report(s) refused by them so far` : ''
  return [
    `Checks (run by the server on your files when you report completed; a failure sends the work back to you${refused}). ` +
      'Each rule is exact: text it does not match needs no change.',
    ...checks.flatMap((c) => [`  - ${describeCheck(c)}`, `      rule: ${describeRule(c)}`]),
  ]
}

/** A task's notes (engineer answers, review feedback), oldest first, to read before working. */
export function formatNotes (notes: TaskNote[]): string {
  const lines = ['Notes (answers and review feedback, oldest first; read them before you start):']
  for (const n of notes) {
    const what = n.kind === 'review' ? `review${n.decision === undefined ? '' : ` (${n.decision})`}` : 'answer'
    lines.push(`  - ${what} by ${n.by ?? 'the engineer'} at ${n.at}:`)
    if (n.question !== undefined) lines.push(indent(`to: ${n.question}`, '      '))
    lines.push(indent(n.message, '      '))
  }
  return lines.join('\n')
}

/**
 * The engineer's answer on a task handed out again after it (`Assignment.answered`), to read before the
 * description: the description may still say to ask first.
 */
export function formatAnswer (answer: TaskNote): string {
  const lines = [`ANSWERED: the engineer answered a question on this task (${answer.by ?? 'engineer'}, ${answer.at}). ` +
    'Follow the answer where the description differs; do not ask again:']
  if (answer.question !== undefined) lines.push(indent(`question: ${answer.question}`, '  '))
  lines.push(indent(`answer: ${answer.message}`, '  '))
  return lines.join('\n')
}

/** Notices for a worker (where a task it asked about went), one per line. */
export function formatNotices (notices: readonly Notice[]): string {
  return ['Notice:', ...notices.map((n) => `  - ${n.message}`)].join('\n')
}

/** The results of the tasks a claimed task depends on. */
export function formatDependencies (deps: DependencyResult[]): string {
  const lines = ['Results of the tasks this one depends on (done before you):']
  for (const d of deps) {
    lines.push(`  - ${d.id}${d.worker === null ? '' : ` (by ${d.worker})`}: ${d.description.split('\n')[0]?.slice(0, 80) ?? ''}`)
    lines.push(indent(d.summary, '      '))
    if (d.deliverables.length > 0) lines.push(`      deliverables: ${d.deliverables.join(', ')}`)
    if (d.details !== undefined && Object.keys(d.details).length > 0) lines.push(`      details: ${JSON.stringify(d.details)}`)
  }
  return lines.join('\n')
}

/** Failed check results as `  - message` lines, with the tail of a command's output under it. */
export function formatCheckResults (results: CheckResult[]): string[] {
  const lines: string[] = []
  for (const r of results) {
    lines.push(`  - ${r.message}`)
    if (r.output !== undefined && r.output.trim() !== '') lines.push(indent(r.output.trimEnd().split('\n').slice(-OUTPUT_LINES).join('\n'), '      | '))
  }
  return lines
}

/** The commands a refused report's text shows, rendered with the flags the user gave. */
export interface ChecksFailureCommands {
  /** The report as it was made (a command line, or a tool call), to make again once the output is fixed. */
  again: string
  /** How to poll for the next task (`coord next ...`, `next_task`), for when the task went to the engineer. */
  next: string
}

/** A `completed` report refused with 422 CHECKS_FAILED: what failed and what to do now. */
export function formatChecksFailure (f: ChecksFailure, commands: ChecksFailureCommands): string {
  const of = `${f.failed.length} of ${f.checks.length} checks`
  const lines: string[] = []
  if (f.escalated) {
    lines.push(`Report refused (422 CHECKS_FAILED): ${of} still failed, and that was rejected report ${f.rejections} of ${f.maxRejections}:`,
      ...formatCheckResults(f.failed),
      `Task ${f.taskId} went to the engineer (input-required): it is no longer yours and your lease has ended. Poll for your next task:`,
      `  ${commands.next}`)
  } else {
    const left = f.maxRejections - f.rejections
    const inS = f.lease === undefined ? 0 : Math.round((Date.parse(f.lease.expiresAt) - Date.now()) / 1000)
    const expiry = f.lease === undefined ? '' : `: it now expires ${f.lease.expiresAt} (in ${inS} s)`
    lines.push(`Report refused (422 CHECKS_FAILED): ${of} failed (rejected report ${f.rejections} of ${f.maxRejections}):`,
      ...formatCheckResults(f.failed),
      `Your lease on task ${f.taskId} is kept and extended${expiry}. Fix the output, then report again the same way:`,
      `  ${commands.again}`,
      `After ${left} more rejected report(s) the task goes to the engineer.`)
  }
  return lines.join('\n')
}

/** The engineer's queue, oldest first; `commands(e)` gives the commands that act on one item. */
export function formatEscalations (list: Escalation[], commands: (e: Escalation) => string[]): string {
  if (list.length === 0) return 'Nothing needs you: no escalations.'
  const lines = [`${list.length} escalation(s), oldest first:`]
  for (const e of list) {
    const head = e.taskId === null
      ? `${e.questionId ?? '?'} [${e.kind}] project ${e.project}, the coordinator's question, since ${e.since}`
      : `${e.taskId} [${e.kind}] project ${e.project}, ${e.state}, type ${e.type}${e.worker === null ? '' : `, worker ${e.worker}`}, ` +
        `since ${e.since}, attempts ${e.attempts}`
    lines.push(head, indent(e.message, '    '), ...commands(e).map((c) => `    → ${c}`))
  }
  return lines.join('\n')
}

/** The task after `coord review`. */
export function formatReviewed (t: Task, decision: 'accept' | 'changes'): string {
  if (decision === 'accept') return `Task ${t.id} accepted: it is now ${t.state}.`
  return `Task ${t.id} sent back with your feedback (in its notes): it is ${t.state}${reservation(t)}.`
}

/** The task after `coord answer`. */
export function formatAnswered (t: Task): string {
  if (t.state === 'submitted') return `Answer added to task ${t.id}'s notes: it is back in the queue${reservation(t)}.`
  const reader = t.worker === null ? '' : ` (worker ${t.worker} reads the notes when it polls again)`
  return `Answer added to task ${t.id}'s notes; the task stays ${t.state}${reader}.`
}

/** The task after `coord amend`. */
export function formatAmended (t: Task, fields: string[]): string {
  return `Task ${t.id} amended (${fields.join(', ')}); it is ${t.state}, and whoever takes it next gets the new version.`
}

/** The question after `coord ask`; `wait` is the command that wakes with its answer. */
export function formatAsked (q: Question, wait: string): string {
  return `Asked the engineer: ${q.id} (project ${q.project}) is in the escalation queue. Its answer wakes \`${wait}\` (exit 5) ` +
    'and shows in its output.'
}

/** The question after the engineer answered it. */
export function formatQuestionAnswered (q: Question): string {
  return `Answered ${q.id}; the coordinator's wait wakes with it.\n  question: ${q.message}\n  answer: ${q.answer ?? ''}`
}

function reservation (t: Task): string {
  return t.reservedFor !== null && t.availableAt !== null ? `, offered first to ${t.reservedFor} until ${t.availableAt}` : ''
}

/** Workflow facts of a task for `coord show`: dependencies, review, workspace, why it waits, notes. */
export function formatTaskWorkflow (t: Task): string[] {
  const lines: string[] = []
  if (t.dependsOn.length > 0) lines.push(`  depends on: ${t.dependsOn.join(', ')}`)
  if (t.workspace !== null) lines.push(`  workspace: ${t.workspace}`)
  if (t.checks.length > 0 || t.review) {
    lines.push(`  ${t.checks.length} check(s), ${t.checkRejections} report(s) refused by them; review: ${t.review ? 'yes' : 'no'}`)
  }
  if (t.hold !== undefined && t.hold !== null) lines.push(`  held (${t.hold.kind}): ${t.hold.message}`)
  if (t.attention !== null) lines.push(`  needs attention (${t.attention.kind}):`, indent(t.attention.message, '    '))
  if (t.notes.length > 0) lines.push(indent(formatNotes(t.notes)))
  return lines
}

/** Milliseconds for people: `850 ms`, `61.0 s`, `14.5 min`, `2.3 h`. */
export function duration (ms: number): string {
  if (ms < 1000) return `${ms} ms`
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}

const percent = (x: number): string => `${Math.round(x * 100)}%`

/**
 * A project's metrics in a few lines: automation rate, prompts per task, context score, parallel
 * speedup, failure detection, check rejections and review round trips. `full` adds the task counts,
 * report counts and one line per worker (`coord metrics`).
 */
export function formatMetrics (m: ProjectMetrics, full = false): string {
  const helped = `${m.completedWithoutHelp} completed without help, ${m.completedWithHelp} with help`
  const cs = m.contextScore
  const t = m.time
  const fd = m.failureDetection
  const lines = [
    `Metrics of project ${m.project} (computed ${m.computedAt}):`,
    `  automation rate ${m.automationRate === null ? 'n/a (no task that is not canceled)' : percent(m.automationRate)} (${helped}); ` +
      `prompts per task ${m.promptsPerTask.toFixed(2)} (${m.interventions} engineer answer(s))`,
    cs.mean === null ? '  context score: none reported yet' : `  context score mean ${cs.mean.toFixed(1)}, min ${cs.min ?? '?'} (${cs.reports} report(s))`,
    t.parallelSpeedup === null || t.wallMs === null
      ? '  parallel speedup: n/a (no task completed yet)'
      : `  parallel speedup ${t.parallelSpeedup.toFixed(2)} (${duration(t.workMs)} of work in ${duration(t.wallMs)} wall clock)`,
    fd.meanSilentToReofferMs === null
      ? '  failure detection: no lease expired'
      : `  failure detection: ${fd.expired} expired lease(s), silent → re-offered mean ${duration(fd.meanSilentToReofferMs)} ` +
        `(max ${duration(fd.maxSilentToReofferMs ?? 0)})` +
        (fd.meanReofferToReclaimMs === null ? '' : `, re-offered → re-claimed mean ${duration(fd.meanReofferToReclaimMs)}`),
    `  check rejections ${m.checks.rejections} (${m.checks.tasksRejectedOnce} task(s)); review round-trips ${m.review.roundTrips} ` +
      `(${m.review.accepted} accepted, ${m.review.tasksReviewed} task(s) reviewed)`,
  ]
  if (full) {
    const states = Object.entries(m.tasks.byState).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(', ')
    lines.push(`  tasks ${m.tasks.total}${states === '' ? '' : ` (${states})`}; failed reports ${m.failedReports}, blocked reports ${m.blockedReports}`)
    lines.push(m.workers.length === 0 ? 'Workers: none yet' : 'Workers:', ...m.workers.map((w) => `  ${w.worker}: completed ${w.tasksCompleted}, ` +
      `failed ${w.tasksFailed}, leases ${w.leases}, busy ${duration(w.busyMs)}, idle ${duration(w.idleMs)}`))
  }
  return lines.join('\n')
}
