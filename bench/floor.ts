/**
 * The floor of `npm run bench`: a bare Fastify app answering the worker loop's two requests
 * (`GET /tasks/next`, `POST /tasks/{id}/report`) with fixed small JSON and no storage. It runs in its own
 * process on PORT, driven by the same load process as our server, so "our cycle ÷ its two-request
 * cycle" says what the storage and the rules cost on top of HTTP.
 */
import Fastify from 'fastify'

const app = Fastify({ logger: false })
let n = 0
app.get('/tasks/next', async () => {
  n++
  return { task: { id: `t${n}` }, lease: { leaseId: `l${n}` }, resumed: false }
})
app.post('/tasks/:id/report', async () => ({ accepted: true, duplicate: false }))
app.get('/health', async () => ({ ok: true }))
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) })
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
