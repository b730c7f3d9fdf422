/**
 * Turning a posted task into its stored form, and the content hash that makes re-posting idempotent.
 */
import { createHash, randomUUID } from 'node:crypto'
import stringify from 'safe-stable-stringify'
import type { TaskInput } from '../schemas/tasks.js'
import type { Check } from '../schemas/checks.js'

/** A task as stored: every optional field resolved. `leaseMs` is in milliseconds. */
export interface TaskSpec {
  id: string
  project: string
  type: string
  description: string
  context: Record<string, unknown>
  acceptance: string[]
  files: { read: string[], write: string[] }
  priority: number
  leaseMs: number
  maxAttempts: number
  dependsOn: string[]
  checks: Check[]
  review: boolean
  /** Realpath of the workspace root, or null when the batch named none. */
  workspace: string | null
  /** sha256 of the content as posted (defaults not applied), to tell a repeat from a conflict. */
  hash: string
}

/** Defaults applied to fields a task leaves out. `leaseMs` in milliseconds. */
export interface SpecDefaults {
  leaseMs: number
  maxAttempts: number
}

/** What a task takes from its batch: the batch's `review` default and its resolved workspace. */
export interface BatchDefaults {
  review: boolean
  workspace: string | null
}

/** The project tasks belong to when a batch names none. */
export const DEFAULT_PROJECT = 'default'

/** The fields that make up a task's identity for idempotency, as posted. */
function identity (input: TaskInput, project: string, batch: BatchDefaults = { review: false, workspace: null }) {
  const review = input.review ?? batch.review
  return {
    // Workflow fields join the identity only when set, so tasks stored before they existed keep their hash.
    ...(input.dependsOn === undefined || input.dependsOn.length === 0 ? {} : { dependsOn: input.dependsOn }),
    ...(input.checks === undefined || input.checks.length === 0 ? {} : { checks: input.checks }),
    ...(review ? { review } : {}),
    ...(batch.workspace === null ? {} : { workspace: batch.workspace }),
    project,
    type: input.type ?? 'task',
    description: input.description,
    context: input.context ?? {},
    acceptance: input.acceptance ?? [],
    files: { read: input.files?.read ?? [], write: input.files?.write ?? [] },
    priority: input.priority ?? 0,
    leaseSeconds: input.leaseSeconds ?? null,
    maxAttempts: input.maxAttempts ?? null,
  }
}

/** Resolve a posted task into its stored form; generates `task-<uuid>` when the id is absent. */
export function toSpec (input: TaskInput, project: string, defaults: SpecDefaults, batch: BatchDefaults = { review: false, workspace: null }): TaskSpec {
  const id = identity(input, project, batch)
  const review = input.review ?? batch.review
  return {
    id: input.id ?? `task-${randomUUID()}`,
    project,
    type: id.type,
    description: id.description,
    context: id.context,
    acceptance: id.acceptance,
    files: id.files,
    priority: id.priority,
    leaseMs: (input.leaseSeconds ?? defaults.leaseMs / 1000) * 1000,
    maxAttempts: input.maxAttempts ?? defaults.maxAttempts,
    dependsOn: input.dependsOn ?? [],
    checks: input.checks ?? [],
    review,
    workspace: batch.workspace,
    hash: createHash('sha256').update(stringify(id) ?? '').digest('hex'),
  }
}

/** Names of the fields in which two posted versions of one task differ, for a 409's details. */
export function differingFields (a: TaskInput, aProject: string, b: TaskInput, bProject: string): string[] {
  const x = identity(a, aProject) as Record<string, unknown>
  const y = identity(b, bProject) as Record<string, unknown>
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => stringify(x[k]) !== stringify(y[k]))
}
