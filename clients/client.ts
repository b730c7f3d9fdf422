/**
 * A typed HTTP client for the coordination server, on `node:http` (`http-call.ts`). One method per
 * operation; request and answer types come from the TypeBox schemas in `src/schemas/`, so the client
 * cannot drift from the API.
 *
 * Calls the server treats as safe to repeat are retried with exponential backoff (see `RetryOptions`);
 * the others are sent once.
 *
 * Times: `wait` values are seconds (as in the API); timeouts and delays given to the constructor are
 * milliseconds.
 */
import { randomUUID } from 'node:crypto'
import { Agent } from 'node:http'
import type { ErrorBody } from '../src/schemas/common.js'
import { checksFailure, CoordApiError, CoordConnectionError, type ChecksFailure } from './client-errors.js'
import { httpCall, type RetryPolicy } from './http-call.js'
import type { EventPage, EventsQuery } from '../src/schemas/events.js'
import type {
  CreateTasksBody, CreateTasksResult, HeartbeatBody, Lease, ListTasksQuery, NextOutcome, NextQuery,
  ReportBody, ReportQuery, ReportResult, Task, TaskDetail, TaskPage,
} from '../src/schemas/tasks.js'
import type { ProjectSummary, Status, Worker } from '../src/schemas/workers.js'
import type { ProjectMetrics } from '../src/schemas/metrics.js'
import type { AmendBody, AnswerBody, Escalation, Question, QuestionBody, ReviewBody } from '../src/schemas/workflow.js'

export { checksFailure, CoordApiError, CoordConnectionError, type ChecksFailure }

/** Default server address, also the CLI's `--url` default. */
export const DEFAULT_URL = 'http://127.0.0.1:3100'

/** Added to a long poll's `wait` for the client-side timeout, so the server always answers first. */
const LONG_POLL_SLACK_MS = 30_000
/** `wait` assumed when a long poll gives none: the largest the server accepts (it caps it lower). */
const UNKNOWN_WAIT_S = 3600

/**
 * How the client retries calls that are safe to repeat: every GET (reads and long polls), heartbeat
 * and report (the server answers an identical repeated report 200 `duplicate: true`), cancel and
 * project close (a repeat is a no-op), and `POST /tasks` when every task carries an id (a repeat
 * answers 200 with the ids in `existing`). A batch with server-made ids is sent once: a repeat
 * would create the tasks twice. Retried: connection refused / reset / closed, and 503.
 * Never retried: any other status (a 409 is an answer), timeouts.
 *
 * Pause before retry n (1-based): `minDelayMs * 2^(n-1)`, at most `maxDelayMs`; a `Retry-After`
 * header, when the server sends one, replaces it (still capped). Defaults: 4 retries, 250 ms, 2000 ms,
 * i.e. pauses of 0.25, 0.5, 1 and 2 s: a server restarting within about 4 s is not noticed.
 */
export interface RetryOptions {
  /** Retries after the first attempt; 0 = never retry. Default 4. */
  retries?: number
  /** Pause before the first retry, in ms. Default 250. */
  minDelayMs?: number
  /** Longest pause between attempts, in ms. Default 2000. */
  maxDelayMs?: number
}

/** Constructor options. */
export interface ClientOptions {
  /** Timeout in ms for requests that do not long-poll. Default 30 000. */
  timeoutMs?: number
  /** Retries of calls that are safe to repeat (see `RetryOptions`). */
  retry?: RetryOptions
}

/** Per-call options of the long-polling methods. */
export interface CallOptions {
  /** Abort the call (and any pending retry); the promise then rejects with the signal's reason. */
  signal?: AbortSignal
}

type Query = Record<string, string | number | boolean | undefined>

/**
 * One server's API. Each method resolves to the answer's JSON body and throws `CoordApiError` on an
 * error answer or `CoordConnectionError` when no answer came (after the retries of `RetryOptions`,
 * for calls that are safe to repeat). Long polls (`next`, `report` with `next`, `events` with
 * `wait`) get a client timeout of `wait` + 30 s per attempt, so the server always answers first;
 * other calls time out after `timeoutMs`.
 */
export class CoordClient {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:3100`. */
  readonly url: string
  /** Keep-alive connections, reused between calls; idle ones do not keep the process alive. */
  private readonly agent = new Agent({ keepAlive: true })
  private readonly retry: RetryPolicy
  private readonly timeoutMs: number

  /** @param url server base URL; default `http://127.0.0.1:3100` */
  constructor (url: string = DEFAULT_URL, opts: ClientOptions = {}) {
    this.url = url.replace(/\/+$/, '')
    this.timeoutMs = opts.timeoutMs ?? 30_000
    this.retry = { retries: opts.retry?.retries ?? 4, minDelayMs: opts.retry?.minDelayMs ?? 250, maxDelayMs: opts.retry?.maxDelayMs ?? 2000 }
  }

  /**
   * Post a batch (all or none). Retried (see `RetryOptions`) only when every task has an `id`.
   * @throws CoordApiError 400 invalid / duplicate id, 409 TASK_CONFLICT or PROJECT_CLOSED
   */
  createTasks (body: CreateTasksBody): Promise<CreateTasksResult> {
    return this.call('POST', '/tasks', { body, retry: body.tasks.every((t) => t.id !== undefined) })
  }

  /**
   * Long-poll for this worker's task: its current lease if it holds one, else a new one, waiting up
   * to `wait` seconds. 200 → `assigned`, 204 → `empty` (poll again), 410 → `finished` (stop).
   * @throws CoordApiError on 4xx other than 410 (e.g. 400 bad worker id)
   */
  async next (q: NextQuery, call: CallOptions = {}): Promise<NextOutcome> {
    const res = await this.send('GET', '/tasks/next', { query: { ...q }, waitS: q.wait ?? UNKNOWN_WAIT_S, accept: [204, 410], signal: call.signal })
    if (res.statusCode === 204) return { status: 'empty', message: 'No task became available while waiting. Poll again.' }
    if (res.statusCode === 410) return { status: 'finished', message: (res.body as ErrorBody).message }
    return { status: 'assigned', assignment: res.body as Extract<NextOutcome, { status: 'assigned' }>['assignment'] }
  }

  /** Extend a lease by its `leaseSeconds` from now. @throws CoordApiError 404, 409 (not yours any more: see `code`) */
  heartbeat (taskId: string, body: HeartbeatBody): Promise<Lease> {
    return this.call('POST', `/tasks/${enc(taskId)}/heartbeat`, { body })
  }

  /**
   * Report completed / failed / blocked. A repeat of an accepted report answers `duplicate: true`.
   * With `opts.next`, `result.next` is the outcome of a long poll of `opts.wait` seconds.
   * @throws CoordApiError 404 TASK_NOT_FOUND, 409 LEASE_SUPERSEDED / LEASE_ENDED / TASK_CANCELED / ...,
   *   422 CHECKS_FAILED (the task's checks failed: read it with `checksFailure(err)`; the lease is kept unless escalated)
   */
  report (taskId: string, body: ReportBody, opts: ReportQuery = {}, call: CallOptions = {}): Promise<ReportResult> {
    const waitS = opts.next === true ? opts.wait ?? UNKNOWN_WAIT_S : 0
    // One key per report call, the same on each retry: a retry the checks refuse again is not another rejection.
    const headers = { 'idempotency-key': randomUUID() }
    return this.call('POST', `/tasks/${enc(taskId)}/report`, { body, query: { ...opts }, waitS, signal: call.signal, headers })
  }

  /** Cancel an unfinished task (a repeat is a no-op). @throws CoordApiError 404, 409 TASK_FINISHED */
  cancel (taskId: string, reason?: string): Promise<Task> {
    return this.call('POST', `/tasks/${enc(taskId)}/cancel`, { body: reason === undefined ? {} : { reason } })
  }

  /** Say no more tasks are coming for `project` (a repeat is a no-op). */
  closeProject (project: string): Promise<ProjectSummary> {
    return this.call('POST', `/projects/${enc(project)}/close`, {})
  }

  /**
   * Review a task waiting in `review-required`: `accept` completes it; `changes` (with `feedback`)
   * queues it again, offered first to the worker that did it, the feedback in its `notes`. Sent once:
   * a repeat after a lost answer would be refused 409 NOT_IN_REVIEW although the first one counted.
   * @returns the task after the decision
   * @throws CoordApiError 400 FEEDBACK_REQUIRED, 404 TASK_NOT_FOUND, 409 NOT_IN_REVIEW
   */
  review (taskId: string, body: ReviewBody): Promise<Task> {
    return this.call('POST', `/tasks/${enc(taskId)}/review`, { body, retry: false })
  }

  /**
   * Answer a task that needs the engineer (a question, repeated check failures, a conflict, failed for
   * good): the message goes to its `notes` and the task back to the queue, offered first to the worker
   * that asked; a submitted or working task just gets the note. Sent once: each answer is a note and
   * an intervention in the metrics, so a repeat would count twice.
   * @returns the task after the answer
   * @throws CoordApiError 404 TASK_NOT_FOUND, 409 NOTHING_TO_ANSWER (completed, canceled, review-required, or failed in a finished project)
   */
  answer (taskId: string, body: AnswerBody): Promise<Task> {
    return this.call('POST', `/tasks/${enc(taskId)}/answer`, { body, retry: false })
  }

  /**
   * Change what a task asks for (description, acceptance, checks, priority, context) while no worker holds it.
   * Sent once (a repeat is harmless, but a 409 after a lost answer would mislead).
   * @returns the task as amended
   * @throws CoordApiError 400 INVALID_TASK (bad checks), 404 TASK_NOT_FOUND, 409 TASK_BEING_WORKED (a worker holds it) / TASK_FINISHED
   */
  amend (taskId: string, body: AmendBody): Promise<Task> {
    return this.call('PATCH', `/tasks/${enc(taskId)}`, { body, retry: false })
  }

  /**
   * Ask the engineer a question that is not tied to a worker's task; it joins the escalation queue until
   * answered (`answerQuestion`). Sent once: a repeat would ask twice.
   * @throws CoordApiError 404 TASK_NOT_FOUND (the named task)
   */
  ask (body: QuestionBody): Promise<Question> {
    return this.call('POST', '/questions', { body, retry: false })
  }

  /** A question and its answer (null while open). @throws CoordApiError 404 QUESTION_NOT_FOUND */
  question (id: string): Promise<Question> {
    return this.call('GET', `/questions/${enc(id)}`, {})
  }

  /** Answer the coordinator's question, once. @throws CoordApiError 404 QUESTION_NOT_FOUND, 409 ALREADY_ANSWERED */
  answerQuestion (id: string, body: AnswerBody): Promise<Question> {
    return this.call('POST', `/questions/${enc(id)}/answer`, { body, retry: false })
  }

  /** What needs a human, oldest first (every project, or one). @throws CoordApiError 400 bad project name */
  async escalations (project?: string): Promise<Escalation[]> {
    return (await this.call<{ escalations: Escalation[] }>('GET', '/escalations', { query: { project } })).escalations
  }

  /** A project's metrics, computed from its history at the time of the call. @throws CoordApiError 404 PROJECT_NOT_FOUND */
  metrics (project: string): Promise<ProjectMetrics> {
    return this.call('GET', `/projects/${enc(project)}/metrics`, {})
  }

  /** One task with its leases, reports and events. @throws CoordApiError 404 TASK_NOT_FOUND */
  getTask (id: string): Promise<TaskDetail> {
    return this.call('GET', `/tasks/${enc(id)}`, {})
  }

  /** Tasks oldest first, filtered, one page (`limit` default 100). */
  listTasks (query: ListTasksQuery = {}): Promise<TaskPage> {
    return this.call('GET', '/tasks', { query: { ...query } })
  }

  /** Projects with their task counts. */
  listProjects (): Promise<{ projects: ProjectSummary[] }> {
    return this.call('GET', '/projects', {})
  }

  /** Workers with their derived state (working / waiting / idle / offline). */
  listWorkers (): Promise<{ workers: Worker[] }> {
    return this.call('GET', '/workers', {})
  }

  /** Counts by state, queue, leases, workers, done flag; for one project or all. */
  status (project?: string): Promise<Status> {
    return this.call('GET', '/status', { query: { project } })
  }

  /** Events after `after`, waiting up to `wait` seconds when there are none (empty page = nothing new). */
  events (q: EventsQuery = {}, call: CallOptions = {}): Promise<EventPage> {
    return this.call('GET', '/events', { query: { ...q }, waitS: q.wait ?? 0, signal: call.signal })
  }

  /** Liveness probe. */
  health (): Promise<{ status: 'ok', store: { ok: boolean, message: string }, uptimeSeconds: number }> {
    return this.call('GET', '/health', {})
  }

  /** Close the connection pool (idle sockets do not keep the process alive anyway). */
  async close (): Promise<void> {
    this.agent.destroy()
  }

  private async call<T> (method: string, path: string, opts: SendOptions): Promise<T> {
    return (await this.send(method, path, { ...opts, accept: [] })).body as T
  }

  /**
   * One call (retried unless `retry: false`): 2xx and the `accept`ed statuses are returned, other
   * statuses thrown as CoordApiError.
   */
  private async send (method: string, path: string, opts: SendOptions & { accept: number[] }): Promise<{ statusCode: number, body: unknown }> {
    const target = new URL(this.url + path + queryString(opts.query))
    const timeout = opts.waitS !== undefined && opts.waitS > 0 ? opts.waitS * 1000 + LONG_POLL_SLACK_MS : this.timeoutMs
    let res
    try {
      res = await httpCall(this.agent, {
        url: target,
        method: method as 'GET' | 'POST' | 'PATCH',
        headers: {
          accept: 'application/json', ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers,
        },
        body: opts.body === undefined ? null : JSON.stringify(opts.body),
        timeoutMs: timeout,
        retry: opts.retry === false ? null : this.retry,
        signal: opts.signal,
      })
    } catch (err) {
      if (opts.signal?.aborted === true) throw err
      throw new CoordConnectionError(this.url, err as Error)
    }
    const text = res.text
    let body: unknown = null
    if (text !== '') {
      try { body = JSON.parse(text) } catch { body = { message: text } }
    }
    if ((res.statusCode >= 200 && res.statusCode < 300) || opts.accept.includes(res.statusCode)) return { statusCode: res.statusCode, body }
    throw new CoordApiError(res.statusCode, typeof body === 'object' && body !== null ? body as Partial<ErrorBody> : {})
  }
}

interface SendOptions {
  query?: Query
  body?: unknown
  /** Long poll: the `wait` in seconds; the timeout becomes `wait` + 30 s. */
  waitS?: number
  /** false = send once: a repeat could do the work twice. Default true. */
  retry?: boolean
  signal?: AbortSignal
  /** Extra request headers, sent with every retry unchanged. */
  headers?: Record<string, string>
}

function enc (s: string): string {
  return encodeURIComponent(s)
}

function queryString (q: Query | undefined): string {
  if (q === undefined) return ''
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v))
  const s = params.toString()
  return s === '' ? '' : `?${s}`
}
