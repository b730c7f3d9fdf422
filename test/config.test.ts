// Configuration: defaults, overrides, and start-up refused with a message that names the variable.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { ConfigSchema, flagName, loadConfig } from '../src/config.js'

t.test('defaults', async (t) => {
  const c = loadConfig({}, false)
  t.match(c, { PORT: 3100, HOST: '127.0.0.1', COORD_DB: '.coordination/coord.db', LOG_LEVEL: 'info', COORD_LEASE_SECONDS: 120, COORD_MAX_WAIT_SECONDS: 540 })
})

t.test('values come as environment strings', async (t) => {
  t.equal(loadConfig({ PORT: '8080', COORD_LEASE_SECONDS: '30' }, false).COORD_LEASE_SECONDS, 30)
})

t.test('invalid values name the variable', async (t) => {
  t.throws(() => loadConfig({ PORT: 'abc' }, false), /PORT/)
  t.throws(() => loadConfig({ COORD_LEASE_SECONDS: '0' }, false), /COORD_LEASE_SECONDS/)
  t.throws(() => loadConfig({ LOG_LEVEL: 'loud' }, false), /LOG_LEVEL/)
  t.throws(() => loadConfig({ COORD_DEFAULT_WAIT_SECONDS: '600' }, false), /COORD_DEFAULT_WAIT_SECONDS must not exceed COORD_MAX_WAIT_SECONDS/)
  t.throws(() => loadConfig({ COORD_IDLE_TIMEOUT_SECONDS: '60' }, false), /COORD_IDLE_TIMEOUT_SECONDS must exceed COORD_MAX_WAIT_SECONDS/)
  t.throws(() => loadConfig({ COORD_REQUEST_TIMEOUT_SECONDS: '5', COORD_HEADERS_TIMEOUT_SECONDS: '10' }, false), /COORD_REQUEST_TIMEOUT_SECONDS must be at least COORD_HEADERS_TIMEOUT_SECONDS/)
  t.throws(() => loadConfig({ COORD_HEADERS_TIMEOUT_SECONDS: '0' }, false), /COORD_HEADERS_TIMEOUT_SECONDS/)
})

t.test('a curl wait may be as long as the CLI\'s; the offline threshold may be shorter (a worker in a long poll is present)', async (t) => {
  const c = loadConfig({}, false)
  t.match(c, { COORD_MAX_WAIT_SECONDS: 540, COORD_OFFLINE_SECONDS: 90 })
  t.ok(c.COORD_MAX_WAIT_SECONDS + 30 <= 600, 'one curl call with --max-time 570 fits a 10-minute chat command limit')
  t.equal(loadConfig({ COORD_OFFLINE_SECONDS: '30', COORD_MAX_WAIT_SECONDS: '60', COORD_IDLE_TIMEOUT_SECONDS: '120' }, false).COORD_OFFLINE_SECONDS, 30)
})

t.test('connection timeouts: defaults allow the longest default long poll', async (t) => {
  const c = loadConfig({}, false)
  t.match(c, { COORD_HEADERS_TIMEOUT_SECONDS: 10, COORD_REQUEST_TIMEOUT_SECONDS: 30, COORD_IDLE_TIMEOUT_SECONDS: 600, COORD_KEEP_ALIVE_SECONDS: 10 })
  t.ok(c.COORD_IDLE_TIMEOUT_SECONDS > c.COORD_MAX_WAIT_SECONDS)
  const longWait = loadConfig({ COORD_MAX_WAIT_SECONDS: '3600', COORD_OFFLINE_SECONDS: '3700', COORD_IDLE_TIMEOUT_SECONDS: '3601' }, false)
  t.equal(longWait.COORD_IDLE_TIMEOUT_SECONDS, 3601, 'the maximum wait fits under the idle timeout range')
})

t.test('flag names', async (t) => {
  t.equal(flagName('COORD_LEASE_SECONDS'), 'lease-seconds')
  t.equal(flagName('PORT'), 'port')
  t.equal(flagName('COORD_DB'), 'db')
  t.equal(flagName('LOG_LEVEL'), 'log-level')
})

t.test('the README configuration table lists every variable with its flag and default', async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  for (const [name, schema] of Object.entries(ConfigSchema.properties)) {
    const def = (schema as unknown as { default: unknown }).default
    const cell = def === '' ? '\\*\\(empty\\)\\*' : `\`${String(def)}\``
    t.match(readme, new RegExp(`\\| \`${name}\` \\| \`--${flagName(name)}\` \\| ${cell} \\|`), `${name} is documented`)
  }
})
