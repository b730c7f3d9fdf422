/**
 * UUIDv7 (RFC 9562 §5.7): the first 48 bits are the Unix time in ms, then the version (7), 74 random
 * bits and the RFC variant. Time-ordered ids land on the right edge of a B-tree primary key instead of a
 * random page, so an insert dirties fewer pages per commit. Built from `crypto.randomUUID()` (a v4, whose
 * random bits and variant are kept): Node serves those from a pooled buffer, where a per-call
 * `getRandomValues` (the `uuid` package's v7) cost ~11 µs a claim under load. Ids made in the same ms
 * are not ordered among themselves (RFC 9562 §6.2 makes that optional).
 */
import { randomUUID } from 'node:crypto'

/** A UUIDv7 for the time `ms` (epoch ms, 0 ≤ ms < 2^48), lower-case hex, 36 characters. */
export function uuid7 (ms: number): string {
  const time = Math.trunc(ms).toString(16).padStart(12, '0')
  // v4 layout: xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx; keep from the first random digit after the version.
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`
}
