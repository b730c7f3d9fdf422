// A browsing engineer's other tabs cannot use the server: other origins and foreign Host names are refused.
import t from 'tap'
import { build, postTasks } from './helper.js'

const batch = { project: 'p1', tasks: [{ id: 'a', description: 'x' }] }

t.test('a request from a web page on another origin is refused and changes nothing', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/tasks', headers: { origin: 'https://evil.example' }, payload: batch })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'CROSS_ORIGIN_REFUSED')
  t.equal((await app.inject('/tasks/a')).statusCode, 404)
  await postTasks(app, ['b'])
  const claim = await app.inject({ url: '/tasks/next?worker=tab&wait=0', headers: { 'sec-fetch-site': 'cross-site' } })
  t.equal(claim.statusCode, 403, 'a cross-site fetch cannot claim a task')
  t.equal((await app.inject('/tasks/b')).json().task.state, 'submitted')
  const sameSite = await app.inject({ url: '/status', headers: { 'sec-fetch-site': 'same-site' } })
  t.equal(sameSite.statusCode, 403, 'another port on localhost is another origin')
  const nullOrigin = await app.inject({ url: '/status', headers: { origin: 'null' } })
  t.equal(nullOrigin.statusCode, 403)
  const https = await app.inject({ url: '/tasks/next?worker=tab&wait=0', headers: { host: '127.0.0.1:3100', origin: 'https://127.0.0.1:3100' } })
  t.equal(https.statusCode, 403, 'another scheme on the same host and port is another origin')
  t.equal(https.json().code, 'CROSS_ORIGIN_REFUSED')
  t.equal((await app.inject('/tasks/b')).json().task.state, 'submitted')
  // An <img> GET from a browser without Fetch Metadata: no Origin, no Sec-Fetch-Site, only a Referer.
  const img = await app.inject({ url: '/tasks/next?worker=tab&wait=0', headers: { host: '127.0.0.1:3100', referer: 'http://evil.example/page?SECRET' } })
  t.equal(img.statusCode, 403, 'a GET from another site, known by its Referer, cannot claim a task')
  t.equal(img.json().code, 'CROSS_ORIGIN_REFUSED')
  t.notMatch(img.body, /SECRET/, 'the Referer is not echoed')
  t.equal((await app.inject('/tasks/b')).json().task.state, 'submitted')
})

t.test('same-origin requests (Swagger UI) and plain clients are allowed', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/tasks', headers: { host: '127.0.0.1:3100', origin: 'http://127.0.0.1:3100', 'sec-fetch-site': 'same-origin' }, payload: batch })
  t.equal(res.statusCode, 201)
  t.equal((await app.inject({ url: '/status', headers: { 'sec-fetch-site': 'none' } })).statusCode, 200)
  const fromDocs = await app.inject({ url: '/status', headers: { host: '127.0.0.1:3100', referer: 'http://127.0.0.1:3100/docs/static/index.html' } })
  t.equal(fromDocs.statusCode, 200, 'a Referer from this server (Swagger UI) is fine')
})

t.test('the Host header must be a loopback name unless allowed', async (t) => {
  const app = await build(t)
  for (const host of ['localhost:3100', '127.0.0.1:3100', '[::1]:3100', 'app.localhost']) {
    t.equal((await app.inject({ url: '/health', headers: { host } })).statusCode, 200, host)
  }
  const rebind = await app.inject({ url: '/health', headers: { host: 'attacker.example:3100' } })
  t.equal(rebind.statusCode, 403)
  t.equal(rebind.json().code, 'HOST_NOT_ALLOWED')
  const allowed = await build(t, { COORD_ALLOWED_HOSTS: 'coord.lan, other' })
  t.equal((await allowed.inject({ url: '/health', headers: { host: 'coord.lan:3100' } })).statusCode, 200)
})

t.test('HEAD changes nothing: it cannot claim a task or park a long poll', async (t) => {
  const app = await build(t)
  await postTasks(app, ['h'])
  const head = await app.inject({ method: 'HEAD', url: '/tasks/next?worker=curl-i&wait=0' })
  t.equal(head.statusCode, 405, 'HEAD is not allowed on the claiming long poll')
  t.equal(head.headers.allow, 'GET')
  const task = (await app.inject('/tasks/h')).json().task
  t.equal(task.state, 'submitted', 'the task is still queued')
  t.equal(task.attempts, 0, 'no attempt was burnt')
  t.equal((await app.inject({ method: 'HEAD', url: '/events?wait=5' })).statusCode, 405, 'nor park on the event feed')
  t.equal((await app.inject({ method: 'HEAD', url: '/health' })).statusCode, 200, 'read-only routes keep HEAD')
})
