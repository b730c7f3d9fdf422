// Lease ids: UUIDv7 (RFC 9562 §5.7), time-ordered across milliseconds, unique, valid as UUIDs.
import t from 'tap'
import { uuid7 } from '../src/lifecycle/uuid7.js'

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('a UUIDv7 carries its time in the first 48 bits, version 7 and the RFC variant', async (t) => {
  const ms = Date.UTC(2026, 11, 2, 1, 50, 0, 123)
  const id = uuid7(ms)
  t.match(id, V7)
  t.equal(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16), ms, 'the timestamp reads back')
  t.equal(uuid7(0).slice(0, 13), '00000000-0000', 'zero-padded')
})

t.test('ids sort by time across milliseconds and never repeat', async (t) => {
  const ids = Array.from({ length: 2000 }, (_, i) => uuid7(1_800_000_000_000 + Math.floor(i / 10)))
  t.equal(new Set(ids).size, ids.length, 'unique')
  for (let i = 10; i < ids.length; i += 10) {
    if ((ids[i] as string) <= (ids[i - 1] as string)) t.fail(`${ids[i] as string} sorts before ${ids[i - 1] as string}`)
  }
  t.ok(ids.every((id) => V7.test(id)))
})
