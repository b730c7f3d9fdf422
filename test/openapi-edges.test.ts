// Where a proxy that checks traffic against the document (Prism) or a reader of Swagger UI found the
// document and the server apart: optional bodies, the /status 404, the examples.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { errorCodes } from '../src/errors.js'
import { packageRoot } from '../src/paths.js'
import { OPENAPI_FILE } from '../src/write-openapi.js'
import { CoordClient } from '../clients/client.js'
import { waitUntil } from '../clients/wait-until.js'
import { build, claim, listen, post, postTasks, report } from './helper.js'

const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'))

t.test('cancel: the body is optional in the document and on the wire', async (t) => {
  t.equal(doc.paths['/tasks/{id}/cancel'].post.requestBody.required, false)
  const app = await build(t)
  await postTasks(app, ['a', 'b'])
  const bare = await app.inject({ method: 'POST', url: '/tasks/a/cancel' })
  t.equal(bare.statusCode, 200, 'no body at all')
  t.equal(bare.json().state, 'canceled')
  const withReason = await post(app, '/tasks/b/cancel', { reason: 'not needed' })
  t.equal(withReason.statusCode, 200, 'a body with a reason')
})

t.test('close: the document declares the optional body the server takes', async (t) => {
  const body = doc.paths['/projects/{project}/close'].post.requestBody
  t.equal(body.required, false)
  t.same(body.content['application/json'].schema.properties, {})
  t.equal(body.content['application/json'].schema.additionalProperties, false)
  const app = await build(t)
  t.equal((await app.inject({ method: 'POST', url: '/projects/p1/close' })).statusCode, 200, 'no body')
  t.equal((await post(app, '/projects/p2/close', {})).statusCode, 200, 'an empty object')
  const extra = await post(app, '/projects/p3/close', { reason: 'done' })
  t.equal(extra.statusCode, 400, 'a field the route does not read is refused, like on every other route')
  t.equal(extra.json().code, 'VALIDATION_FAILED')
  t.equal((await app.inject('/projects')).json().projects.length, 2, 'the refused close created nothing')
})

t.test('GET /status?project= a name no task or close ever used is 404 PROJECT_NOT_FOUND, like metrics', async (t) => {
  t.ok(doc.paths['/status'].get.responses['404'], 'documented')
  const app = await build(t)
  const missing = await app.inject('/status?project=no-such')
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'PROJECT_NOT_FOUND')
  t.match(missing.json().message, /GET \/projects/)
  t.equal((await app.inject('/status')).statusCode, 200, 'all projects on a new server: 200 with zeros')
  await post(app, '/projects/empty/close')
  const closed = (await app.inject('/status?project=empty')).json()
  t.match(closed, { project: 'empty', total: 0, closed: true, done: true }, 'a project closed before any task exists (GET /projects lists it)')
  await postTasks(app, ['x'], {}, 'real')
  t.equal((await app.inject('/status?project=real')).json().total, 1)
})

t.test('waiting for a project before its first task (coord wait, MCP wait_for) is not ended by that 404', async (t) => {
  const { app, url } = await listen(t)
  const client = new CoordClient(url)
  t.teardown(() => client.close())
  const pending = waitUntil(client, { project: 'later', after: 0 }, { waitS: 30 })
  await postTasks(app, ['only'], {}, 'later')
  await post(app, '/projects/later/close')
  await report(app, await claim(app, 'w1'))
  const result = await pending
  t.equal(result.outcome, 'done')
  t.same(result.finished, [{ taskId: 'only', state: 'completed' }])
})

t.test('every error answer in the document has examples of its own codes, with that status', async (t) => {
  const seen = new Set<string>()
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(item)) {
      for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
        if (Number(status) < 400 || status === '410') continue
        const media = response.content?.['application/json']
        const examples = media?.examples ?? (media?.example === undefined ? undefined : { one: { value: media.example } })
        t.ok(examples !== undefined && Object.keys(examples).length > 0, `${method} ${path} ${status} has examples`)
        for (const { value } of Object.values(examples ?? {}) as Array<{ value: { code: keyof typeof errorCodes } }>) {
          t.equal(errorCodes[value.code]?.status, Number(status), `${method} ${path} ${status}: ${value.code} is a ${status} code`)
          seen.add(value.code)
        }
      }
    }
  }
  t.ok(seen.has('TASK_NOT_FOUND') && seen.has('LEASE_SUPERSEDED') && seen.has('PROJECT_NOT_FOUND') && seen.has('CHECKS_FAILED'), 'not one body for all')
})

t.test('Swagger UI examples: their own task ids, and no project prefilled in a filter', async (t) => {
  const docs = ['README.md', 'clients/curl.md'].map((f) => readFileSync(join(packageRoot, f), 'utf8')).join('\n')
  const examples = doc.paths['/tasks'].post.requestBody.content['application/json'].examples as Record<string, { value: any }>
  for (const { value } of Object.values(examples)) {
    for (const task of value.tasks) t.notOk(docs.includes(`"${task.id}"`), `example task id ${task.id} is not one the walkthroughs post`)
    t.notOk(docs.includes(`"project": "${value.project}"`), `example project ${value.project} is not one the walkthroughs use`)
  }
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(item)) {
      for (const p of op.parameters ?? []) {
        if (p.in === 'query' && (p.name === 'project' || (p.name === 'worker' && !p.required))) {
          t.equal(p.example, undefined, `${method} ${path}: the ${p.name} filter has no prefilled example`)
        }
      }
    }
  }
})
