/**
 * Test helpers: build the real app (same Fastify options as production) with an in-memory or file
 * store, optionally listening on a real socket, and close it when the test ends.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { listenLocal } from '../src/server.js'
import { behaviourStore } from './stores.js'
import type { Store } from '../src/store/store.js'

type Test = { teardown: (fn: () => unknown) => void }

/**
 * Build the app with test defaults (silent) on a fresh store from the behaviour-test factory
 * (COORD_TEST_STORE, see test/stores.ts); `env` overrides config variables, and an explicit
 * `COORD_DB` opens that file instead.
 */
export async function build (t: Test, env: Record<string, unknown> = {}, wrap?: (store: Store) => Store): Promise<FastifyInstance> {
  // Failed attempts retry at once unless a test sets a backoff (the default 5 s would slow every retry test).
  const config = loadConfig({ COORD_DB: ':memory:', LOG_LEVEL: 'silent', COORD_RETRY_BACKOFF_SECONDS: 0, ...env }, false)
  let store = env.COORD_DB === undefined ? await behaviourStore()() : undefined
  if (store !== undefined && wrap !== undefined) store = wrap(store)
  const app = await buildApp(config, store === undefined ? {} : { store })
  t.teardown(() => app.close())
  return app
}

/** Build and listen on 127.0.0.1 with a free port; returns the app and its base URL. */
export async function listen (t: Test, env: Record<string, unknown> = {}, wrap?: (store: Store) => Store): Promise<{ app: FastifyInstance, url: string }> {
  const app = await build(t, env, wrap)
  return { app, url: await listenLocal(app) }
}

/** A fresh temporary directory. */
export function tempDir (prefix = 'coord-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** POST JSON through inject. */
export function post (app: FastifyInstance, url: string, payload?: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, ...(payload === undefined ? {} : { payload: payload as object }) })
}

/** Post a batch of simple tasks `ids` to `project`; returns the parsed answer. */
export async function postTasks (
  app: FastifyInstance, ids: string[], extra: Record<string, unknown> = {}, project = 'p1'
): Promise<{ created: string[], existing: string[] }> {
  const res = await post(app, '/tasks', { project, tasks: ids.map((id) => ({ id, description: `do ${id}`, ...extra })) })
  if (res.statusCode >= 300) throw new Error(`postTasks: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** Claim with wait=0 through inject; returns the parsed assignment or the status code. */
export async function claim (app: FastifyInstance, worker: string, query = ''): Promise<any> {
  const res = await app.inject({ method: 'GET', url: `/tasks/next?worker=${worker}&wait=0${query}` })
  return res.statusCode === 200 ? res.json() : res.statusCode
}

/** Report through inject. */
export function report (
  app: FastifyInstance, a: { task: { id: string }, lease: { leaseId: string, worker: string } },
  status = 'completed', extra: Record<string, unknown> = {}, query = ''
): Promise<LightMyRequestResponse> {
  return post(app, `/tasks/${a.task.id}/report${query}`,
    { worker: a.lease.worker, leaseId: a.lease.leaseId, status, summary: `${status} by ${a.lease.worker}`, ...extra })
}

/** Resolve after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Poll `check` every 20 ms until it returns true or `ms` pass; false on timeout. */
export async function eventually (check: () => Promise<boolean> | boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return true
    await sleep(20)
  }
  return false
}
