/**
 * The lifecycle's settings (`LifecycleConfig`) and the workflow settings inside them (`WorkflowConfig`,
 * defaults in `WORKFLOW_DEFAULTS`). `task-lifecycle.ts` re-exports all three, so importers keep using it.
 *
 * Times: every `*Ms` is milliseconds.
 */

/** Lifecycle settings, all in milliseconds except `defaultMaxAttempts`. */
export interface LifecycleConfig {
  defaultLeaseMs: number
  defaultMaxAttempts: number
  /** A worker with no request for this long is `offline` (and `worker.offline` is emitted). */
  offlineMs: number
  /** How often remembered last-seen times are written; default min(5 s, offlineMs / 4). */
  presenceFlushMs?: number
  /** Workflow settings; each one left out takes its default (`WORKFLOW_DEFAULTS`). */
  workflow?: Partial<WorkflowConfig>
}

/** Settings of dependencies, checks, review and escalation. Times in ms. */
export interface WorkflowConfig {
  /** Folders a batch's `workspace` must be inside (their realpaths). */
  workspaceRoots: string[]
  /** Whether `command` checks may be posted and run. */
  commandChecks: boolean
  /** Longest a command check may run, in ms (a check's own `timeoutSeconds` is capped by it). */
  commandTimeoutMs: number
  /** Completed reports refused by the checks after which the task goes to the engineer. */
  maxCheckRejections: number
  /** Retry backoff after a failed attempt: base · 2^(attempt−1), capped at max. */
  retryBaseMs: number
  retryMaxMs: number
  /** How long a task sent back (review or answer) is offered only to the worker that did it. */
  reserveMs: number
  /** A ready task no connected worker polls for is escalated after this long. */
  unclaimableMs: number
}

/** The workflow defaults (the server's COORD_* defaults; tests override single ones). */
export const WORKFLOW_DEFAULTS: WorkflowConfig = {
  workspaceRoots: [process.cwd()],
  commandChecks: false,
  commandTimeoutMs: 300_000,
  maxCheckRejections: 3,
  retryBaseMs: 5_000,
  retryMaxMs: 300_000,
  reserveMs: 30_000,
  unclaimableMs: 300_000,
}
