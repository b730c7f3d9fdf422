// The committed openapi/openapi.json passes the two linters an engineer or a client generator is likely
// to run: Redocly's `recommended` rules and Spectral's `spectral:oas`, with no error and no warning.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { createConfig, lintFromString } from '@redocly/openapi-core'
// CommonJS packages: the default import is the module object.
import spectralCore from '@stoplight/spectral-core'
import spectralParsers from '@stoplight/spectral-parsers'
import spectralRulesets from '@stoplight/spectral-rulesets'
import { OPENAPI_FILE } from '../src/write-openapi.js'

const source = readFileSync(OPENAPI_FILE, 'utf8')

t.test('Redocly recommended: 0 errors, 0 warnings', async (t) => {
  const config = await createConfig({ extends: ['recommended'] })
  const problems = await lintFromString({ source, absoluteRef: OPENAPI_FILE, config })
  const found = problems.filter((p) => p.severity === 'error' || p.severity === 'warn')
    .map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`)
  t.same(found, [], found.join('\n'))
})

t.test('Spectral spectral:oas: 0 errors, 0 warnings', async (t) => {
  const spectral = new spectralCore.Spectral()
  spectral.setRuleset({ extends: [[spectralRulesets.oas as never, 'recommended']] })
  const results = await spectral.run(new spectralCore.Document(source, spectralParsers.Json, OPENAPI_FILE))
  // Severity 0 = error, 1 = warning (2 info, 3 hint).
  const found = results.filter((r) => r.severity <= 1)
    .map((r) => `${r.severity === 0 ? 'error' : 'warn'} ${String(r.code)}: ${r.message} at ${r.path.join('.')}`)
  t.same(found, [], found.join('\n'))
})

t.test('every event payload is reachable from the event feed: Event is a union discriminated by type', async (t) => {
  const doc = JSON.parse(source)
  const schemas = doc.components.schemas
  const event = schemas.Event
  const types = Object.keys(schemas).filter((k) => k.startsWith('EventData.')).map((k) => k.slice('EventData.'.length))
  t.ok(types.length >= 19, 'one payload schema per event type')
  t.equal(event.discriminator.propertyName, 'type')
  for (const type of types) {
    const ref = `#/components/schemas/Event.${type}`
    t.ok(event.oneOf.some((m: { $ref: string }) => m.$ref === ref), `${type} is a member`)
    t.equal(event.discriminator.mapping[type], ref)
    t.equal(schemas[`Event.${type}`].properties.data.$ref, `#/components/schemas/EventData.${type}`, `${type}: data is its payload`)
  }
  t.equal(doc.paths['/events'].get.responses['200'].content['application/json'].schema.properties.events.items.$ref, '#/components/schemas/Event')
})
