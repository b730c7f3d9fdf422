/**
 * A posted batch made ready for its transaction: the workspace resolved against the allowed roots,
 * absolute paths inside it made relative, and every files.write pattern and check validated, so a bad
 * batch is refused with all its problems at once before anything is written.
 */
import { isAbsolute, resolve } from 'node:path'
import { CoordError } from '../errors.js'
import type { CreateTasksBody, TaskInput } from '../schemas/tasks.js'
import { checkPathInside, resolveWorkspaceRoot, WorkspaceError } from '../checks/workspace.js'
import { checkProblems } from '../checks/validate-checks.js'
import { validateWritePattern } from './file-globs.js'
import type { WorkflowConfig } from './task-lifecycle.js'

/**
 * The batch's workspace (realpath, or null) and its tasks with paths inside the workspace made relative.
 * @throws CoordError INVALID_WORKSPACE, INVALID_TASK (listing every problem)
 */
export function prepareBatch (body: CreateTasksBody, workflow: WorkflowConfig): { workspace: string | null, tasks: TaskInput[] } {
  const workspace = workspaceOf(body.workspace, workflow)
  const tasks = body.tasks.map((t) => insideWorkspace(t, workspace, body.workspace))
  validateTasks({ ...body, tasks }, workspace, workflow)
  return { workspace, tasks }
}

/** The realpath of a batch's workspace, checked against the allowed roots. @throws CoordError INVALID_WORKSPACE */
function workspaceOf (root: string | undefined, workflow: WorkflowConfig): string | null {
  if (root === undefined) return null
  try {
    return resolveWorkspaceRoot(root, workflow.workspaceRoots)
  } catch (err) {
    if (!(err instanceof WorkspaceError)) throw err
    throw new CoordError('INVALID_WORKSPACE', `workspace: ${err.message}`, { workspace: root, allowedRoots: workflow.workspaceRoots })
  }
}

/** Every problem of the batch's files.write and checks, at once. @throws CoordError INVALID_TASK listing them; nothing is created */
function validateTasks (body: CreateTasksBody, workspace: string | null, workflow: WorkflowConfig): void {
  const problems: string[] = []
  body.tasks.forEach((t, i) => {
    const name = `tasks[${i}]${t.id === undefined ? '' : ` (${t.id})`}`
    for (const w of t.files?.write ?? []) {
      // Without a workspace, files.write only declares what may conflict: an absolute path is fine there.
      const bad = validateWritePattern(workspace === null && isAbsolute(w) ? w.replace(/^\/+/, '') : w)
      if (bad !== null) problems.push(`${name}: ${bad}`)
      else if (workspace !== null) {
        try {
          checkPathInside(workspace, w)
        } catch (err) {
          if (!(err instanceof WorkspaceError)) throw err
          problems.push(`${name}: files.write: ${err.message}`)
        }
      }
    }
    for (const p of checkProblems(t.checks ?? [], { root: workspace, commandsEnabled: workflow.commandChecks })) problems.push(`${name}: ${p}`)
  })
  if (problems.length > 0) {
    const list = problems.join('\n- ')
    throw new CoordError('INVALID_TASK', `${problems.length} problem(s); fix them and post the batch again (nothing was created):\n- ${list}`,
      { problems })
  }
}

/**
 * The task with absolute `files.write` and check paths inside its workspace made relative (the issue's
 * rule refuses absolute paths *elsewhere*); other paths are left for validation to judge.
 * @param real the workspace's realpath; @param given the workspace as posted (may differ through a symlinked prefix)
 */
function insideWorkspace (t: TaskInput, real: string | null, given: string | undefined): TaskInput {
  if (real === null) return t
  const prefixes = [...new Set([real, given === undefined ? real : resolve(given)])].map((p) => p.replace(/\/+$/, '') + '/')
  const rel = (p: string): string => {
    const hit = isAbsolute(p) ? prefixes.find((x) => p.startsWith(x)) : undefined
    return hit === undefined ? p : p.slice(hit.length)
  }
  const write = t.files?.write
  const out: TaskInput = { ...t }
  if (write !== undefined) out.files = { ...t.files, write: write.map(rel) }
  if (t.checks !== undefined) out.checks = t.checks.map((c) => ('path' in c ? { ...c, path: rel(c.path) } : c))
  return out
}
