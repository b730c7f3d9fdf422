/**
 * The `application/json` body parser. Before parsing, one linear scan of the text refuses what
 * `JSON.parse` would accept but the API must not:
 * - nesting deeper than `MAX_JSON_DEPTH` (64) objects/arrays: 400 NESTING_TOO_DEEP, before any work
 *   (deep values would otherwise overflow the stack when hashed or serialized);
 * - a number outside the range of a double (`1e400`, a 400-digit integer), which `JSON.parse` turns
 *   into Infinity: 400 INVALID_JSON;
 * - a key repeated in one object (`{"reason":"r","reason":1}`): `JSON.parse` keeps the last, so what
 *   a reader of the text sees and what is validated could differ. RFC 8259 §4 says names SHOULD be
 *   unique and I-JSON (RFC 7493 §2.3) says MUST: 400 INVALID_JSON.
 * Then secure-json-parse parses it, refusing `__proto__` and `constructor.prototype` keys as fastify's
 * own JSON parser does (prototype-poisoning protection).
 */
import sjson from 'secure-json-parse'
import { CoordError } from './errors.js'

/** Deepest nesting of objects and arrays a body may have; `{"a":[1]}` has depth 2. */
export const MAX_JSON_DEPTH = 64

const QUOTE = 0x22
const BACKSLASH = 0x5c

/** A short, printable excerpt of the body for an error message. */
const excerpt = (s: string): string => (s.length > 24 ? `${s.slice(0, 24)}…` : s)

/** Characters a JSON number token may contain: 0-9 e E + - . */
const isNumberChar = (c: number): boolean => (c >= 0x30 && c <= 0x39) || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d || c === 0x2e

/** The end index (exclusive) of the number token starting at `i`. */
function numberEnd (text: string, i: number): number {
  let j = i
  while (j < text.length && isNumberChar(text.charCodeAt(j))) j++
  return j
}

/**
 * Check nesting depth, number range and duplicate keys of JSON `text` in one pass. Malformed JSON is
 * left for `JSON.parse` to report.
 * @throws CoordError NESTING_TOO_DEEP or INVALID_JSON
 */
export function scanJson (text: string): void {
  const containers: Array<Set<string> | null> = [] // an object's keys so far, or null for an array
  let expectKey = false
  let i = 0
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      let j = i + 1
      let escaped = false
      while (j < text.length && text.charCodeAt(j) !== QUOTE) {
        if (text.charCodeAt(j) === BACKSLASH) { escaped = true; j++ }
        j++
      }
      if (expectKey) {
        const keys = containers[containers.length - 1]
        let key = text.slice(i + 1, j)
        if (escaped) {
          try { key = JSON.parse(text.slice(i, j + 1)) as string } catch { /* JSON.parse reports it below */ }
        }
        if (keys != null) {
          if (keys.has(key)) {
            throw new CoordError('INVALID_JSON',
              `The body repeats the key "${excerpt(key)}" in one object (at character ${i}). Send each key once.`, { position: i })
          }
          keys.add(key)
        }
        expectKey = false
      }
      i = j + 1
      continue
    }
    if (c === 0x7b || c === 0x5b) { // { [
      containers.push(c === 0x7b ? new Set() : null)
      if (containers.length > MAX_JSON_DEPTH) {
        throw new CoordError('NESTING_TOO_DEEP',
          `The body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels (at character ${i}). Flatten it.`,
          { maxDepth: MAX_JSON_DEPTH, position: i })
      }
      expectKey = c === 0x7b
    } else if (c === 0x7d || c === 0x5d) { // } ]
      containers.pop()
      expectKey = false
    } else if (c === 0x2c) { // ,
      expectKey = containers[containers.length - 1] != null
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) { // - 0..9
      const end = numberEnd(text, i)
      const token = text.slice(i, end)
      // NaN means a malformed token, which JSON.parse reports; ±Infinity means out of range.
      if (Math.abs(Number(token)) === Infinity) {
        throw new CoordError('INVALID_JSON',
          `The body has the number ${excerpt(token)} (at character ${i}), which is too large to represent. Numbers must be finite doubles.`,
          { position: i })
      }
      i = end
      continue
    }
    i++
  }
}

/**
 * Parse a JSON request body after `scanJson`.
 * @throws CoordError INVALID_JSON (empty, malformed, prototype keys, see `scanJson`) or NESTING_TOO_DEEP
 */
export function parseJsonBody (text: string): unknown {
  if (text.length === 0) throw new CoordError('INVALID_JSON', 'The body is empty but Content-Type is application/json. Send a JSON object, or no Content-Type.')
  scanJson(text)
  try {
    return sjson.parse(text, { protoAction: 'error', constructorAction: 'error' })
  } catch (err) {
    throw new CoordError('INVALID_JSON', `The body is not valid JSON: ${(err as Error).message}`)
  }
}
