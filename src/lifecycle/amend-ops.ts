/**
 * Amending a posted task: the coordinator changes what a task asks for (description, acceptance, checks,
 * priority, context) while no worker holds it. The same validation as `POST /tasks` (checks, paths inside
 * the workspace); a compare-and-set on the state in the same transaction as the task.amended event, so an
 * amendment never lands under a worker that has just claimed the task. Times are epoch ms.
 */
import { CoordError } from '../errors.js'
import type { Task } from '../schemas/tasks.js'
import type { AmendBody } from '../schemas/workflow.js'
import type { StoreTx, TaskAmendment } from '../store/store.js'
import { prepareBatch } from './batch-input.js'
import { event } from './events.js'
import type { WorkflowConfig } from './lifecycle-config.js'
import { requireTask } from './operations.js'

/** The fields an amendment may replace, in the order events list them. */
export const AMENDABLE_FIELDS = ['description', 'acceptance', 'checks', 'priority', 'context'] as const

/** States in which a task may be amended: queued, waiting for the engineer, or waiting for review. */
export const AMENDABLE_STATES = ['submitted', 'input-required', 'review-required'] as const

/**
 * The amendment as stored: check paths inside the task's workspace made relative and every check
 * validated, as a posted batch is (`prepareBatch`).
 * @throws CoordError INVALID_TASK listing every problem
 */
export function prepareAmendment (body: AmendBody, workspace: string | null, workflow: WorkflowConfig): TaskAmendment {
  const { by: _by, ...fields } = body
  if (fields.checks === undefined) return fields
  try {
    const { tasks } = prepareBatch({ tasks: [{ description: 'amended', checks: fields.checks }], ...(workspace === null ? {} : { workspace }) }, workflow)
    return { ...fields, checks: tasks[0]?.checks ?? [] }
  } catch (err) {
    if (!(err instanceof CoordError) || err.code !== 'INVALID_TASK') throw err
    const problems = ((err.details as { problems?: string[] } | undefined)?.problems ?? []).map((p) => p.replace(/^tasks\[0\]: /, ''))
    throw new CoordError('INVALID_TASK', `${problems.length} problem(s) in the amendment; fix them and send it again (the task was not changed):\n- ` +
      problems.join('\n- '), { problems })
  }
}

/**
 * `PATCH /tasks/{id}`: replace the given fields of a task no worker holds. The task as first posted stays
 * its identity: re-posting it answers `existing`, not a conflict.
 * @throws CoordError TASK_NOT_FOUND, TASK_BEING_WORKED (working), TASK_FINISHED (completed, failed, canceled), INVALID_TASK
 */
export async function amend (tx: StoreTx, taskId: string, body: AmendBody, now: number, workflow: WorkflowConfig): Promise<Task> {
  const t = await requireTask(tx, taskId)
  if (t.state === 'working') {
    const l = t.leaseId === null ? null : await tx.lease(t.leaseId)
    throw new CoordError('TASK_BEING_WORKED', `Task ${taskId} is being worked on${l === null ? '' : ` by ${l.worker}`}: it cannot change under the ` +
      'worker. Amend it once it is reported (or cancel it and post a new task).', { taskId, state: t.state, worker: l?.worker ?? null })
  }
  if (!(AMENDABLE_STATES as readonly string[]).includes(t.state)) {
    throw new CoordError('TASK_FINISHED', `Task ${taskId} is ${t.state}: a finished task cannot be amended. Post a new task instead.`,
      { taskId, state: t.state })
  }
  const fields = prepareAmendment(body, t.workspace, workflow)
  const names = AMENDABLE_FIELDS.filter((k) => fields[k] !== undefined)
  if (!(await tx.amendTask(taskId, t.state, fields, now))) throw new Error(`task ${taskId} changed state inside its transaction`)
  await tx.appendEvent(event('task.amended', now, { project: t.project, taskId }, { fields: names, by: body.by ?? null, state: t.state }))
  return tx.taskView(taskId)
}
