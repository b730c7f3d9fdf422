// Where a fresh chat starts: the exact worker command (root executable by absolute path, server URL)
// in the start-up log, in `GET /` and in `/health`.
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { listen } from './helper.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const COORD = join(ROOT, 'coord')

t.test('GET / names the worker and coordinator commands for this server, the docs and the rules', async (t) => {
  const { url } = await listen(t)
  const res = await request(`${url}/`)
  t.equal(res.statusCode, 200)
  const body = await res.body.json() as any
  t.same(body, {
    url,
    docs: `${url}/docs`,
    openapi: `${url}/openapi.json`,
    cli: COORD,
    worker: { command: `${COORD} next --worker <worker-id> --url ${url} --wait 540`, rules: join(ROOT, '.cursor', 'rules', 'worker-chat.mdc') },
    coordinator: { command: `${COORD} status --url ${url}`, rules: join(ROOT, '.cursor', 'rules', 'coordinator-chat.mdc') },
    curl: join(ROOT, 'clients', 'curl.md'),
  })
  const health = await (await request(`${url}/health`)).body.json() as any
  t.equal(health.workerCommand, body.worker.command, '/health carries the worker command too')
  const fromPage = await request(`${url}/`, { headers: { origin: 'http://evil.example' } })
  t.equal(fromPage.statusCode, 403, 'the same cross-origin refusal as every route')
  await fromPage.body.dump()
})

t.test('the server logs the worker command at start-up', async (t) => {
  const env = { ...process.env, PORT: '0', COORD_DB: ':memory:', LOG_LEVEL: 'info' }
  const child = spawn(process.execPath, [...process.execArgv, join(ROOT, 'src', 'server.ts')], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /^.*workers start with.*$/m.exec(out)
      if (m !== null) resolve(m[0])
    })
    child.on('close', (code) => reject(new Error(`server exited ${String(code)}: ${out}`)))
  })
  const log = JSON.parse(line) as { msg: string, worker: string }
  t.match(log.msg, new RegExp(`^workers start with: ${COORD.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} next --worker <worker-id> --url http://127\\.0\\.0\\.1:\\d+ --wait 540$`))
  t.equal(log.worker, log.msg.replace('workers start with: ', ''))
})
