/**
 * The demo's coordinator, after it has posted the batch: it follows the event feed until the merge
 * task waits for review, reads the merged file and either sends it back with feedback
 * (`POST /tasks/{id}/review` decision `changes`) or accepts it, the loop a coordinator chat runs with
 * `coord review`. It also fetches the project's metrics at the end.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import type { CoordClient } from '../clients/client.js'
import type { ProjectMetrics } from '../src/schemas/metrics.js'
import type { ReviewBody } from '../src/schemas/workflow.js'
import { CONTENTS_PREFIX } from './demo-task.js'

/** What the review loop decided, in order: `changes` then `accept`, or just `accept`. */
export type ReviewDecision = ReviewBody['decision']

/** The feedback the demo coordinator gives a merged file without its contents line. */
export const REVIEW_FEEDBACK = `Start the file with a "${CONTENTS_PREFIX}" line naming every package, so a reader sees what is inside.`

/**
 * One JSON call to the server by plain HTTP (the routes the demo needs beyond the typed client).
 * @throws Error with the server's `code` and `message` on a status other than 200
 */
async function call<T> (url: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await request(url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  })
  const answer = await res.body.json() as T & { code?: string, message?: string }
  if (res.statusCode !== 200) throw new Error(`${method} ${path}: ${res.statusCode} ${answer.code ?? ''} ${answer.message ?? ''}`)
  return answer
}

/** What the review did: the decisions in order, and whether the accepted file had what the feedback asked for. */
export interface ReviewLog {
  decisions: ReviewDecision[]
  /** true = the file had the contents line when it was accepted. */
  satisfied: boolean
}

/**
 * Review `taskId` each time it reaches review-required: the first time its `file` (relative to
 * `workspace`) lacks the contents line, send it back with REVIEW_FEEDBACK; otherwise (or the second
 * time, so a worker that ignores feedback cannot keep the project open for ever) accept it. Returns
 * once it is accepted, or with what was decided so far once `stopped()` is true (the workers exited).
 * @param opts.waitS long-poll wait on the event feed, in seconds
 * @throws Error when a review call is refused
 */
export async function reviewMerge (client: CoordClient, opts: {
  project: string, taskId: string, workspace: string, file: string, waitS: number, stopped: () => boolean, log: (line: string) => void
}): Promise<ReviewLog> {
  const log: ReviewLog = { decisions: [], satisfied: false }
  let after = 0
  while (!opts.stopped()) {
    const page = await client.events({ after, project: opts.project, wait: opts.waitS })
    after = page.nextAfter
    for (const e of page.events) {
      if (e.type !== 'task.review_required' || e.taskId !== opts.taskId) continue
      log.satisfied = readFileSync(join(opts.workspace, opts.file), 'utf8').split('\n').some((l) => l.startsWith(CONTENTS_PREFIX))
      const body: ReviewBody = log.satisfied || log.decisions.includes('changes')
        ? { decision: 'accept', by: 'demo-coordinator' }
        : { decision: 'changes', feedback: REVIEW_FEEDBACK, by: 'demo-coordinator' }
      await call(client.url, 'POST', `/tasks/${encodeURIComponent(opts.taskId)}/review`, body)
      log.decisions.push(body.decision)
      opts.log(body.decision === 'accept' ? `review: ${opts.taskId} accepted` : `review: ${opts.taskId} sent back: ${REVIEW_FEEDBACK}`)
      if (body.decision === 'accept') return log
    }
  }
  return log
}

/** `GET /projects/{project}/metrics`. @throws Error on 404 (no such project) */
export function projectMetrics (url: string, project: string): Promise<ProjectMetrics> {
  return call(url, 'GET', `/projects/${encodeURIComponent(project)}/metrics`)
}

/** The metrics as a short block of aligned lines, for people (the JSON has every field and its definition). */
export function formatMetrics (m: ProjectMetrics): string[] {
  const pct = (x: number | null): string => (x === null ? 'n/a' : `${Math.round(x * 100)}%`)
  const s = (ms: number | null): string => (ms === null ? 'n/a' : `${(ms / 1000).toFixed(2)} s`)
  const c = m.contextScore
  const f = m.failureDetection
  const speedup = m.time.parallelSpeedup === null ? 'n/a' : `${m.time.parallelSpeedup.toFixed(2)}x`
  const reoffer = f.meanSilentToReofferMs === null ? '' : `, re-offered ${s(f.meanSilentToReofferMs)} after the worker's last sign of life`
  return [
    `metrics (GET /projects/${m.project}/metrics)`,
    `  automation rate    ${pct(m.automationRate)} (${m.completedWithoutHelp} of ${m.tasks.total} tasks completed without an engineer's answer)`,
    `  prompts per task   ${m.promptsPerTask.toFixed(2)} (${m.interventions} engineer answers)`,
    `  context score      ${c.mean === null ? 'n/a' : `mean ${c.mean.toFixed(1)}, min ${String(c.min)}`} (${c.reports} reports)`,
    `  parallel speedup   ${speedup} (time in leases / wall time of ${s(m.time.wallMs)})`,
    `  check rejections   ${m.checks.rejections} (tasks sent back by their checks: ${m.checks.tasksRejectedOnce})`,
    `  review             ${m.review.accepted} accepted, ${m.review.changesRequested} changes requested`,
    `  failure detection  ${f.expired} leases expired${reoffer}`,
  ]
}
