/** Human-readable text for the CLI's default output (`--json` prints the API answers instead). */
import type { Event } from '../src/schemas/events.js'
import type { Assignment, CreateTasksResult, Lease, ReportResult, Task, TaskDetail } from '../src/schemas/tasks.js'
import type { ProjectSummary, Status, Worker } from '../src/schemas/workers.js'
import { formatAnswer, formatCheckResults, formatCheckRules, formatDependencies, formatNotes, formatNotices, formatTaskWorkflow } from './format-workflow.js'

const indent = (text: string, pad = '  '): string => text.split('\n').map((l) => pad + l).join('\n')

/** Seconds from now until an ISO timestamp, rounded. */
function secondsUntil (iso: string): number {
  return Math.round((Date.parse(iso) - Date.now()) / 1000)
}

/** Seconds between heartbeats that keep a lease alive with room to spare: half the lease, at least 1. */
export function heartbeatEveryS (lease: Pick<Lease, 'leaseSeconds'>): number {
  return Math.max(1, Math.floor(lease.leaseSeconds / 2))
}

/** A lease on one line, with how long it has left. */
export function formatLease (lease: Lease): string {
  const left = secondsUntil(lease.expiresAt)
  return `lease ${lease.leaseId} (attempt ${lease.attempt}) expires ${lease.expiresAt} (in ${left} s of a ${lease.leaseSeconds} s lease)`
}

/** When to heartbeat this lease, and the exact command. */
export function formatHeartbeatHint (lease: Lease, heartbeatCommand: string): string {
  return `Heartbeat at least every ${heartbeatEveryS(lease)} s while you work (between steps, and before any step that may take longer): ${heartbeatCommand}`
}

/** The commands an assignment's text shows, rendered with the flags the user gave. */
export interface AssignmentCommands {
  /** `coord report <id> ... --status completed --summary "..." [--next ...]` */
  report: string
  /** `coord heartbeat --worker <id> ...` */
  heartbeat: string
}

/**
 * A task handed to this worker: everything needed to do it, and the commands to heartbeat and report
 * it. The checks are shown with their exact rules (`formatCheckRules`, shared with the MCP tools).
 */
export function formatAssignment (a: Assignment, commands: AssignmentCommands): string {
  const t = a.task
  const lines = [
    `${a.resumed ? 'Resumed' : 'Task'} ${t.id} (project ${t.project}, type ${t.type}, attempt ${a.lease.attempt} of ${t.maxAttempts})`,
    formatLease(a.lease),
    formatHeartbeatHint(a.lease, commands.heartbeat),
  ]
  // A resumed task the poll's --project / --type did not ask for: say so before anything else.
  if (a.note !== undefined) lines.splice(1, 0, `Note: ${a.note}`)
  if (t.workspace !== null) lines.push(`Workspace: ${t.workspace} (file paths and checks are relative to it)`)
  if (a.notices !== undefined && a.notices.length > 0) lines.push('', formatNotices(a.notices))
  // The answer first: the description may still say to ask the engineer.
  if (a.answer !== undefined) lines.push('', formatAnswer(a.answer))
  // Notes next: an answer or review feedback changes what the description asks for.
  if (t.notes.length > 0) lines.push('', formatNotes(t.notes))
  lines.push('', 'Description:', indent(t.description))
  if (a.dependencies.length > 0) lines.push('', formatDependencies(a.dependencies))
  if (t.acceptance.length > 0) lines.push('', 'Acceptance criteria (not machine-checked: judge them yourself):', ...t.acceptance.map((c) => `  - ${c}`))
  if (t.checks.length > 0) lines.push('', ...formatCheckRules(t.checks, t.checkRejections))
  if (t.files.read.length > 0 || t.files.write.length > 0) {
    lines.push('', 'Files:')
    if (t.files.read.length > 0) lines.push(`  read:  ${t.files.read.join(', ')}`)
    if (t.files.write.length > 0) lines.push(`  write: ${t.files.write.join(', ')}`)
  }
  if (Object.keys(t.context).length > 0) lines.push('', 'Context:', indent(JSON.stringify(t.context, null, 2)))
  lines.push('', `When done: ${commands.report}`,
    '(add --deliverable PATH per file you wrote; or --status failed / --status blocked --question "..."; the lease is saved, no --lease needed)')
  return lines.join('\n')
}

/**
 * The answer to an accepted report: the task's new state, the checks it passed, deliverables outside
 * the declared writes (`undeclared`) and deliverables another working task declared (`conflicts`).
 */
export function formatReport (r: ReportResult): string {
  const note = r.duplicate ? ' (duplicate: this report had already been accepted)' : ''
  const retry = r.task.willRetry ? ` It will be retried (${r.task.attempts} of ${r.task.maxAttempts} attempts used).` : ''
  const lines = [`Report accepted: task ${r.task.id} is now ${r.task.state}${note}.${retry}`]
  if (r.notices !== undefined && r.notices.length > 0) lines.push(formatNotices(r.notices))
  if (r.checks !== undefined && r.checks.length > 0) lines.push(`All ${r.checks.length} checks passed.`)
  if (r.task.state === 'review-required') {
    lines.push('It waits for the coordinator\'s review; if changes are asked, the task comes back to you first with the feedback in its notes.')
  }
  if (r.undeclared !== undefined && r.undeclared.length > 0) {
    lines.push(`Undeclared: ${r.undeclared.join(', ')} (not in the task's files.write): say why in your summary, or ask the coordinator to declare them.`)
  }
  if (r.conflicts !== undefined && r.conflicts.length > 0) {
    lines.push('Conflicts: your report is kept, but the task waits for the engineer (input-required) because another working task declared these files:',
      ...r.conflicts.map((c) => `  - ${c.file}: task ${c.task} writes ${c.pattern}`))
  }
  return lines.join('\n')
}

/** The answer to `POST /tasks`. */
export function formatCreated (r: CreateTasksResult): string {
  const closed = r.closed ? '; project closed (no more tasks coming)' : ''
  const lines = [`Project ${r.project}: ${r.created.length} created, ${r.existing.length} already existed${closed}.`]
  if (r.created.length > 0) lines.push(`  created:  ${r.created.join(', ')}`)
  if (r.existing.length > 0) lines.push(`  existing: ${r.existing.join(', ')}`)
  if (r.overlaps.length > 0) {
    lines.push('  overlapping writes (never leased at the same time):',
      ...r.overlaps.map((o) => `    ${o.tasks[0] ?? '?'} (${o.patterns[0] ?? '?'}) and ${o.tasks[1] ?? '?'} (${o.patterns[1] ?? '?'})` +
        (o.ordered ? ', ordered by dependsOn anyway' : '')))
  }
  return lines.join('\n')
}

function counts (c: ProjectSummary['counts']): string {
  return `submitted ${c.submitted}, working ${c.working}, input-required ${c['input-required']}, review-required ${c['review-required']}, ` +
    `completed ${c.completed}, failed ${c.failed}, canceled ${c.canceled}`
}

/** `GET /status`: totals, workers, then one line per project. */
export function formatStatus (s: Status): string {
  const lines = [
    `${s.project === null ? 'All projects' : `Project ${s.project}`}: ${s.total} tasks${s.done ? ', DONE' : s.closed ? ', closed' : ''}`,
    `  ${counts(s.counts)}`,
    `  queued ${s.queued}, active leases ${s.activeLeases}`,
    `Workers: working ${s.workers.working}, waiting in a poll ${s.workers.waiting}, idle ${s.workers.idle}, offline ${s.workers.offline}`,
  ]
  if (s.held.length > 0) lines.push(`Held (queued, not offered now): ${s.held.length}`, ...s.held.map((h) => `  ${h.taskId} [${h.kind}] ${h.message}`))
  if (s.projects.length > 0) lines.push('Projects:')
  for (const p of s.projects) {
    lines.push(`  ${p.name}: ${p.total} tasks${p.done ? ', done' : p.closed ? ', closed' : ', open'} (${counts(p.counts)})`)
  }
  return lines.join('\n')
}

/** One event on one line: `#seq time type project task worker {data}`. */
export function formatEvent (e: Event): string {
  const parts = [`#${e.seq}`, e.at, e.type]
  if (e.project !== null) parts.push(`project=${e.project}`)
  if (e.taskId !== null) parts.push(`task=${e.taskId}`)
  if (e.worker !== null) parts.push(`worker=${e.worker}`)
  if (Object.keys(e.data).length > 0) parts.push(JSON.stringify(e.data))
  return parts.join(' ')
}

/** One task on one line. */
export function formatTaskLine (t: Task): string {
  return `${t.id} [${t.state}] ${t.worker !== null ? `worker=${t.worker} ` : ''}${t.description.split('\n')[0]?.slice(0, 80) ?? ''}`
}

/** `GET /tasks/{id}`: the task, its result and its history. */
export function formatHistory (h: TaskDetail): string {
  const t = h.task
  const lines = [
    `Task ${t.id} [${t.state}] project ${t.project}, type ${t.type}, priority ${t.priority}, attempts ${t.attempts}/${t.maxAttempts}`,
    t.worker !== null ? `  held by ${t.worker} until ${t.leaseExpiresAt ?? '?'}` : '',
    'Description:', indent(t.description),
  ].filter((l) => l !== '')
  lines.push(...formatTaskWorkflow(t))
  if (t.result !== null) {
    const r = t.result
    const score = r.contextScore !== null ? `, context score ${r.contextScore}` : ''
    lines.push(`Result: ${r.status} by ${r.worker} (attempt ${r.attempt}) at ${r.reportedAt}${score}`, indent(r.summary))
    if (r.deliverables.length > 0) lines.push(`  deliverables: ${r.deliverables.join(', ')}`)
    if (r.question !== undefined) lines.push(`  question: ${r.question}`)
  }
  if (h.leases.length > 0) {
    const end = (l: TaskDetail['leases'][number]): string => l.endReason ?? `live until ${l.expiresAt}`
    lines.push('Leases:', ...h.leases.map((l) => `  ${l.leaseId} ${l.worker} attempt ${l.attempt} ${l.grantedAt} → ${end(l)}`))
  }
  if (h.reports.length > 0) {
    const verdict = (r: TaskDetail['reports'][number]): string => (r.accepted ? 'accepted' : `refused (${r.rejection ?? '?'})`)
    lines.push('Reports:')
    for (const r of h.reports) {
      lines.push(`  ${r.reportedAt} ${r.worker} ${r.status} ${verdict(r)}`)
      if (!r.accepted && r.checks !== undefined) lines.push(...formatCheckResults(r.checks.filter((c) => !c.passed)).map((l) => `  ${l}`))
    }
  }
  if (h.events.length > 0) lines.push('Events:', ...h.events.map((e) => `  ${formatEvent(e)}`))
  return lines.join('\n')
}

/** `GET /workers`: one line per worker. */
export function formatWorkers (workers: Worker[]): string {
  if (workers.length === 0) return 'No workers yet (a worker registers with its first `coord next`).'
  return workers.map((w) => `${w.id} [${w.state}] task=${w.currentTask ?? '-'}` +
    `${w.leaseSecondsLeft === null ? '' : ` (lease ${w.leaseSecondsLeft} s left)`}${w.lostTask === null ? '' : ` lost=${w.lostTask}`} ` +
    `completed=${w.tasksCompleted} failed=${w.tasksFailed} last seen ${w.lastSeenAt}`).join('\n')
}
