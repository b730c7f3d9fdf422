// Requests refused before any route runs (malformed HTTP, bad URLs, oversized headers, slow clients)
// still get the API's JSON error { code, message }, never an echo of the URL; slow clients are cut
// off while the server stays reachable. Raw sockets: inject cannot send malformed HTTP or trickle.
import t, { type Test } from 'tap'
import { connect } from 'node:net'
import { listen, sleep } from './helper.js'

interface RawAnswer { status: number, headers: string, body: string, ms: number }

/** Open a socket to `url`, let `send` write to it, and read until the server closes it. */
function raw (url: string, send: (write: (s: string) => boolean) => void, timeoutMs = 10_000): Promise<RawAnswer> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const start = Date.now()
    const socket = connect(Number(port), '127.0.0.1')
    let data = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no close within ${timeoutMs} ms; got ${JSON.stringify(data.slice(0, 200))}`))
    }, timeoutMs)
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => { data += d })
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      const [head = '', body = ''] = data.split('\r\n\r\n')
      resolve({ status: Number(head.split(' ')[1]), headers: head, body, ms: Date.now() - start })
    })
    socket.on('connect', () => send((s) => !socket.destroyed && socket.write(s)))
  })
}

/** A raw request and its answer; the connection is closed after the answer. */
const request = (url: string, text: string): Promise<RawAnswer> => raw(url, (write) => write(text))

function assertJsonError (t: Test, a: RawAnswer, status: number, code: string, label: string): void {
  t.equal(a.status, status, `${label}: status`)
  t.match(a.headers, /content-type: application\/json/i, `${label}: JSON`)
  const body = JSON.parse(a.body)
  t.equal(body.code, code, `${label}: code`)
  t.type(body.message, 'string', `${label}: message`)
}

t.test('malformed requests and bad URLs get JSON errors that do not echo the URL', async (t) => {
  const { url } = await listen(t)
  const cases: Array<[string, string, number, string]> = [
    ['raw space in the path', 'GET /tasks/a bSECRET HTTP/1.1\r\nHost: localhost\r\n\r\n', 400, 'BAD_REQUEST'],
    ['malformed request line', 'HELLO SECRET\r\n\r\n', 400, 'BAD_REQUEST'],
    ['bad percent-escape in the path', 'GET /tasks/%ffSECRET HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', 400, 'BAD_URL'],
    ['path parameter over maxParamLength', `GET /tasks/SECRET${'a'.repeat(300)} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
      400, 'VALIDATION_FAILED'],
    ['URL over 16 KB', `GET /tasks?project=SECRET${'a'.repeat(17_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 414, 'URL_TOO_LONG'],
    ['two Host headers', 'GET /health?SECRET HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n', 400, 'BAD_REQUEST'],
    ['no Host header', 'GET /health?SECRET HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'BAD_REQUEST'],
    ['headers over 16 KB', `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: SECRET${'a'.repeat(17_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
  ]
  for (const [label, text, status, code] of cases) {
    const a = await request(url, text)
    assertJsonError(t, a, status, code, label)
    t.notMatch(a.body, /SECRET|%ff/, `${label}: the URL is not echoed`)
  }
})

t.test('a client that sends its headers too slowly gets 408 and is disconnected', async (t) => {
  const { url } = await listen(t, { COORD_HEADERS_TIMEOUT_SECONDS: 1, COORD_REQUEST_TIMEOUT_SECONDS: 2 })
  const a = await raw(url, (write) => {
    write('GET /health HTTP/1.1\r\n')
    const timer = setInterval(() => { if (!write('X-Slow: a\r\n')) clearInterval(timer) }, 100)
  })
  assertJsonError(t, a, 408, 'REQUEST_TIMEOUT', 'slow headers')
  t.ok(a.ms >= 900 && a.ms < 3000, `cut off after about 1 s (${a.ms} ms)`)
})

t.test('a body sent one byte at a time is cut off at the request timeout; /health stays fast', async (t) => {
  const { url } = await listen(t, { COORD_HEADERS_TIMEOUT_SECONDS: 1, COORD_REQUEST_TIMEOUT_SECONDS: 2 })
  const slow = Array.from({ length: 20 }, () => raw(url, (write) => {
    write('POST /tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{')
    const timer = setInterval(() => { if (!write(' ')) clearInterval(timer) }, 200)
  }))
  await sleep(300)
  const start = Date.now()
  const health = await fetch(`${url}/health`)
  t.equal(health.status, 200)
  t.ok(Date.now() - start < 1000, 'the server answers others while slow clients trickle')
  for (const a of await Promise.all(slow)) {
    assertJsonError(t, a, 408, 'REQUEST_TIMEOUT', 'slow body')
    t.ok(a.ms >= 1900 && a.ms < 4000, `cut off after about 2 s (${a.ms} ms)`)
  }
})

t.test('the request timeout does not cut a long poll whose request was fully received', async (t) => {
  const { url } = await listen(t, { COORD_HEADERS_TIMEOUT_SECONDS: 1, COORD_REQUEST_TIMEOUT_SECONDS: 1 })
  const start = Date.now()
  const res = await fetch(`${url}/tasks/next?worker=w1&wait=3`)
  t.equal(res.status, 204, 'the long poll ran its full wait')
  t.ok(Date.now() - start >= 2900, 'it waited 3 s, longer than the 1 s request timeout')
})
