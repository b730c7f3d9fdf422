/**
 * Creating a batch of tasks in one store transaction: idempotent re-posts, the project's open/finished
 * rule, dependencies (known ids of the same project, no cycles) and the write overlaps the answer lists.
 * Times are epoch ms.
 */
import { CoordError } from '../errors.js'
import type { TaskInput, WriteOverlap } from '../schemas/tasks.js'
import type { StoreTx } from '../store/store.js'
import { event, iso } from './events.js'
import { writeOverlaps } from './file-globs.js'
import { closeProject } from './operations.js'
import { differingFields, type TaskSpec } from './task-spec.js'

/** Result of a batch create. */
export interface CreateOutcome {
  created: string[]
  existing: string[]
  closed: boolean
  overlaps: WriteOverlap[]
}

/**
 * The batch's tasks in an order where each comes after the batch tasks it depends on (a topological
 * order, by depth-first search).
 * @throws CoordError DEPENDENCY_CYCLE naming the ids on the cycle
 */
export function dependencyOrder (specs: readonly TaskSpec[]): TaskSpec[] {
  const byId = new Map(specs.map((s) => [s.id, s]))
  const done = new Set<string>()
  const onPath: string[] = []
  const out: TaskSpec[] = []
  const visit = (s: TaskSpec): void => {
    if (done.has(s.id)) return
    const at = onPath.indexOf(s.id)
    if (at >= 0) {
      const cycle = [...onPath.slice(at), s.id]
      throw new CoordError('DEPENDENCY_CYCLE', `dependsOn forms a cycle: ${cycle.join(' → ')}. Remove one of these dependencies; nothing was created.`,
        { cycle })
    }
    onPath.push(s.id)
    for (const dep of s.dependsOn) {
      const d = byId.get(dep)
      if (d !== undefined) visit(d)
    }
    onPath.pop()
    done.add(s.id)
    out.push(s)
  }
  for (const s of specs) visit(s)
  return out
}

/** Pairs of the batch's tasks whose writes overlap, each marked `ordered` when dependsOn (transitively, within the batch) orders them. */
export function batchOverlaps (specs: readonly TaskSpec[]): WriteOverlap[] {
  const writers = specs.filter((s) => s.files.write.length > 0)
  if (writers.length < 2) return []
  const byId = new Map(specs.map((s) => [s.id, s]))
  const ancestors = new Map<string, Set<string>>()
  const ancestorsOf = (id: string): Set<string> => {
    let set = ancestors.get(id)
    if (set !== undefined) return set
    set = new Set()
    ancestors.set(id, set)
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      set.add(dep)
      for (const a of ancestorsOf(dep)) set.add(a)
    }
    return set
  }
  const out: WriteOverlap[] = []
  for (let i = 0; i < writers.length; i++) {
    for (let j = i + 1; j < writers.length; j++) {
      const a = writers[i] as TaskSpec
      const b = writers[j] as TaskSpec
      const pair = writeOverlaps(a.files.write, b.files.write)[0]
      if (pair === undefined) continue
      out.push({ tasks: [a.id, b.id], patterns: [pair.a, pair.b], ordered: ancestorsOf(a.id).has(b.id) || ancestorsOf(b.id).has(a.id) })
    }
  }
  return out
}

/**
 * Create a batch atomically. Ids that exist with the same content hash are `existing`. A project
 * takes new tasks until it has finished (closed and no task open): closing stops workers' polls only
 * once everything is done, so follow-up work can still be posted while tasks run or wait for review.
 * @throws CoordError TASK_CONFLICT (same id, other content), PROJECT_CLOSED (the project has finished),
 *   UNKNOWN_DEPENDENCY, DEPENDENCY_CYCLE, DEPENDENCY_FAILED — nothing is created on any of them
 */
export async function createTasks (tx: StoreTx, project: string, inputs: TaskInput[], specs: TaskSpec[], close: boolean, now: number): Promise<CreateOutcome> {
  await tx.ensureProject(project, now)
  const stored = await tx.existingTasks(specs.map((s) => s.id))
  const created: string[] = []
  const existing: string[] = []
  const conflicts: Array<{ id: string, fields: string[] }> = []
  const fresh: Array<[TaskSpec, TaskInput]> = []
  specs.forEach((spec, i) => {
    const input = inputs[i] as TaskInput
    const old = stored.get(spec.id)
    if (old === undefined) fresh.push([spec, input])
    else if (old.specHash === spec.hash) existing.push(spec.id)
    else conflicts.push({ id: spec.id, fields: differingFields(old.input, old.project, input, project) })
  })
  if (conflicts.length > 0) {
    const fields = [...new Set(conflicts.flatMap((c) => c.fields))].join(', ')
    throw new CoordError('TASK_CONFLICT', `Task ${conflicts.map((c) => c.id).join(', ')} already exists with different content (${fields}). ` +
      'Use a new id, or re-post the identical task. Nothing in this batch was created.', { conflicts })
  }
  const p = await tx.project(project)
  if (p?.finishedAt != null && fresh.length > 0) {
    throw new CoordError('PROJECT_CLOSED',
      `Project ${project} was closed and finished at ${iso(p.finishedAt)}: no more tasks can be added. Post them to a new project.`, { project })
  }
  const inBatch = new Set(specs.map((s) => s.id))
  const pending = new Map<string, number>()
  const unknown: string[] = []
  const dead: Array<{ id: string, state: string }> = []
  for (const [spec] of fresh) {
    let open = 0
    for (const dep of spec.dependsOn) {
      if (inBatch.has(dep) && !stored.has(dep)) {
        open++
        continue
      }
      const d = await tx.task(dep)
      if (d === null || d.project !== project) unknown.push(dep)
      else if (d.state === 'failed' || d.state === 'canceled') dead.push({ id: dep, state: d.state })
      else if (d.state !== 'completed') open++
    }
    pending.set(spec.id, open)
  }
  if (unknown.length > 0) {
    const ids = [...new Set(unknown)]
    throw new CoordError('UNKNOWN_DEPENDENCY', `dependsOn names ${ids.join(', ')}, which ${ids.length === 1 ? 'is' : 'are'} not a task of project ${project} ` +
      'or of this batch. Post the dependency first (or in the same batch); nothing was created.', { unknown: ids })
  }
  if (dead.length > 0) {
    throw new CoordError('DEPENDENCY_FAILED', `dependsOn names ${dead.map((d) => `${d.id} (${d.state})`).join(', ')}: a task that ended ` +
      'failed or canceled can never complete. Depend on a new task instead; nothing was created.', { dependencies: dead })
  }
  const freshSpecs = fresh.map(([s]) => s)
  dependencyOrder(freshSpecs)
  // Posting order is claim order (ties of priority); dependency rows follow once every task exists.
  for (const [spec, input] of fresh) {
    await tx.insertTask(spec, input, now, pending.get(spec.id) ?? 0)
    await tx.appendEvent(event('task.created', now, { project, taskId: spec.id }, { type: spec.type, priority: spec.priority }))
    created.push(spec.id)
  }
  for (const spec of freshSpecs) for (const dep of spec.dependsOn) await tx.insertDependency(dep, spec.id)
  if (close) await closeProject(tx, project, now)
  const closedAt = (await tx.project(project))?.closedAt ?? null
  return { created, existing, closed: closedAt !== null, overlaps: batchOverlaps(freshSpecs) }
}
