/**
 * What a worker must remember between `coord` invocations, each a fresh process: which leases it
 * holds. The state directory is the user's (`defaultStateDir(url)`: XDG state home, one folder per
 * server), never the current folder, and is shared by every chat on the machine; so there is no
 * "last worker used here" pointer: a command names its worker (`--worker`), or `report <taskId>` /
 * `heartbeat` find the one worker here holding the lease. Files:
 *
 * - `worker-<id>.json`: `{ worker, url, leases: { [taskId]: Lease }, recent: [...], updatedAt }`:
 *   `leases` are the live leases from `coord next`; `recent` keeps the last reported leases so that
 *   an identical retry of a report can still name its lease (the server answers `duplicate: true`).
 *
 * Every write is atomic (write-file-atomic: a fsync'd temporary file renamed over the target), so a
 * reader never sees a half-written file and a crash leaves the old or the new content.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import type { Lease, NextOutcome } from '../src/schemas/tasks.js'
import type { CoordClient } from './client.js'

/**
 * The default state directory for a server: `$XDG_STATE_HOME/coord/<server>` (XDG Base Directory
 * Specification: `$XDG_STATE_HOME` defaults to `~/.local/state`; a relative value is ignored, as the
 * specification asks), where `<server>` is the URL's host and port, e.g. `127.0.0.1_3100`. Never
 * the current folder: a worker chat must write only the files its task names.
 * @param url server base URL, e.g. `http://127.0.0.1:3100`
 * @param env the environment to read `XDG_STATE_HOME` and `HOME` from
 */
export function defaultStateDir (url: string, env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(env.HOME ?? homedir(), '.local', 'state')
  return join(base, 'coord', serverKey(url))
}

/** A file-name-safe key for a server URL: `host_port` (`http://127.0.0.1:3100` → `127.0.0.1_3100`). */
export function serverKey (url: string): string {
  let host: string
  try {
    const u = new URL(url)
    host = `${u.hostname}_${u.port === '' ? (u.protocol === 'https:' ? '443' : '80') : u.port}${u.pathname.replace(/\/+$/, '')}`
  } catch {
    host = url
  }
  return host.replace(/[^A-Za-z0-9._-]+/g, '_')
}

/** Ended leases kept for retries of a report. */
const RECENT_MAX = 20

/** A lease that was reported: enough to repeat the report. */
export interface EndedLease {
  taskId: string
  leaseId: string
  status: string
  reportedAt: string
}

/** The content of `worker-<id>.json`. */
export interface WorkerState {
  worker: string
  /** Server the leases came from, for information. */
  url: string | null
  /** Live leases by task id. */
  leases: Record<string, Lease>
  /** Last reported leases, newest first. */
  recent: EndedLease[]
  updatedAt: string
}

/** Where the state lives; `dir` is resolved against the current directory. */
export class StateStore {
  readonly dir: string

  constructor (dir: string) {
    this.dir = resolve(dir)
  }

  /** Path of one worker's state file. */
  workerFile (worker: string): string {
    return join(this.dir, `worker-${worker}.json`)
  }

  /** Ids of every worker with a state file here (several chats may share one directory). */
  workers (): string[] {
    let names: string[]
    try {
      names = readdirSync(this.dir)
    } catch {
      return []
    }
    return names.map((n) => /^worker-(.+)\.json$/.exec(n)?.[1]).filter((id): id is string => id !== undefined).sort()
  }

  /** Workers here whose state names a lease (live or recently reported) for `taskId`. */
  holders (taskId: string): string[] {
    return this.workers().filter((w) => leaseFor(this.load(w), taskId) !== null)
  }

  /** Workers here holding a live lease (on any task). */
  liveHolders (): string[] {
    return this.workers().filter((w) => Object.keys(this.load(w).leases).length > 0)
  }

  /** A worker's state; an empty one when the file does not exist. */
  load (worker: string): WorkerState {
    const data = readJson(this.workerFile(worker)) as Partial<WorkerState> | null
    return {
      worker,
      url: data?.url ?? null,
      leases: data?.leases ?? {},
      recent: data?.recent ?? [],
      updatedAt: data?.updatedAt ?? new Date(0).toISOString(),
    }
  }

  /** Read, change and write back one worker's state. */
  update (worker: string, change: (s: WorkerState) => void): WorkerState {
    const state = this.load(worker)
    change(state)
    state.updatedAt = new Date().toISOString()
    writeAtomic(this.workerFile(worker), state)
    return state
  }
}

/** Save a lease just granted by `GET /tasks/next`. */
export function saveLease (state: WorkerState, lease: Lease): void {
  state.leases[lease.taskId] = lease
}

/** Forget a task's live lease after an accepted report, keeping it in `recent` for retries. */
export function endLease (state: WorkerState, taskId: string, leaseId: string, status: string): void {
  delete state.leases[taskId]
  state.recent = [{ taskId, leaseId, status, reportedAt: new Date().toISOString() },
    ...state.recent.filter((r) => r.leaseId !== leaseId)].slice(0, RECENT_MAX)
}

/** Forget a lease the server refused (409): it is of no use any more. */
export function dropLease (state: WorkerState, taskId: string, leaseId: string): void {
  if (state.leases[taskId]?.leaseId === leaseId) delete state.leases[taskId]
  state.recent = state.recent.filter((r) => r.leaseId !== leaseId)
}

/** The lease id to report `taskId` with: the live lease, else the last reported one (a retry). */
export function leaseFor (state: WorkerState, taskId: string): string | null {
  return state.leases[taskId]?.leaseId ?? state.recent.find((r) => r.taskId === taskId)?.leaseId ?? null
}

/** The most recently granted live lease, for commands that default to "my task". */
export function latestLease (state: WorkerState): Lease | null {
  const all = Object.values(state.leases).sort((a, b) => b.grantedAt.localeCompare(a.grantedAt))
  return all[0] ?? null
}

function readJson (file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`State file ${file} is not valid JSON; delete it (you lose the saved lease) or fix it.`)
  }
}

function writeAtomic (file: string, data: unknown): void {
  mkdirSync(dirname(file), { recursive: true })
  writeFileAtomic.sync(file, JSON.stringify(data, null, 2) + '\n')
}

/**
 * Remember a poll's outcome in the worker's state: the server it came from and, when a task was
 * assigned, its lease (for `report` and `heartbeat` in a later process).
 */
export function saveOutcome (store: StateStore, worker: string, url: string, outcome: NextOutcome): void {
  store.update(worker, (s) => {
    s.url = url
    if (outcome.status === 'assigned') saveLease(s, outcome.assignment.lease)
  })
}

/**
 * The lease id to report or heartbeat `taskId` with: the one saved in `store` (live, or recently
 * reported for a retry), else the worker's latest lease on the task as the server's history shows it
 * (the lease came from curl or another state directory). Null when the worker never held one.
 * @throws what `CoordClient.getTask` throws (CoordApiError 404 for an unknown task)
 */
export async function savedOrServerLease (store: StateStore, client: CoordClient, worker: string, taskId: string): Promise<string | null> {
  const saved = leaseFor(store.load(worker), taskId)
  if (saved !== null) return saved
  return (await client.getTask(taskId)).leases.filter((l) => l.worker === worker).at(-1)?.leaseId ?? null
}
