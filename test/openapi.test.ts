// The committed openapi/openapi.json is what the app generates, and a valid OpenAPI 3 document.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Validator } from '@seriousme/openapi-schema-validator'
import { generateOpenApi, OPENAPI_FILE } from '../src/write-openapi.js'
import { build } from './helper.js'

t.test('the committed document matches the code (run `npm run openapi` after changing a route)', async (t) => {
  const generated = await generateOpenApi()
  t.equal(readFileSync(OPENAPI_FILE, 'utf8'), generated, 'openapi/openapi.json is stale: run `npm run build && npm run openapi`')
})

t.test('it is a valid OpenAPI 3 document and every operation is documented', async (t) => {
  const doc = JSON.parse(await generateOpenApi())
  const result = await new Validator().validate(doc)
  t.ok(result.valid, JSON.stringify(result.errors ?? '').slice(0, 2000))
  const ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods as object).map(([m, op]) => ({ path, m, op })))
  t.ok(ops.length >= 13)
  for (const { path, m, op } of ops) {
    t.ok(op.operationId, `${m} ${path} has an operationId`)
    t.ok(op.summary, `${m} ${path} has a summary`)
    t.ok(op.tags?.length > 0, `${m} ${path} has tags`)
  }
})

t.test('served at /openapi.json, Swagger UI at /docs', async (t) => {
  const app = await build(t)
  const doc = await app.inject('/openapi.json')
  t.equal(doc.statusCode, 200)
  t.equal(doc.json().openapi, '3.1.0')
  const ui = await app.inject('/docs/')
  t.equal(ui.statusCode, 200)
  t.match(ui.body, /swagger-ui/)
})
