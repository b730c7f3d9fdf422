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
 * The index of the first character of `text` where JSON syntax (RFC 8259) breaks, or `text.length`
 * when the text ends too early; -1 when it is valid. Only called after `JSON.parse` failed without
 * giving a position. Recursive, which is safe: `scanJson` already capped nesting at `MAX_JSON_DEPTH`.
 */
export function syntaxErrorAt (text: string): number {
  let i = 0
  const ws = (): void => { while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++ }
  const fail = (): never => { throw i }
  const literal = (word: string): void => { if (text.startsWith(word, i)) i += word.length; else fail() }
  const digits = (): void => { const start = i; while (/[0-9]/.test(text.charAt(i))) i++; if (i === start) fail() }
  const string = (): void => {
    i++ // the opening quote
    for (;;) {
      const c = text.charCodeAt(i)
      if (Number.isNaN(c) || c < 0x20) fail()
      if (c === QUOTE) { i++; return }
      if (c === BACKSLASH) {
        i++
        if (text.charAt(i) === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail()
          i += 5
        } else if ('"\\/bfnrt'.includes(text.charAt(i)) && i < text.length) i++
        else fail()
      } else i++
    }
  }
  const value = (): void => {
    ws()
    const c = text.charAt(i)
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']'
      i++
      ws()
      if (text.charAt(i) === close) { i++; return }
      for (;;) {
        if (close === '}') {
          ws()
          if (text.charAt(i) !== '"') fail()
          string()
          ws()
          if (text.charAt(i) !== ':') fail()
          i++
        }
        value()
        ws()
        if (text.charAt(i) === ',') { i++; continue }
        if (text.charAt(i) === close) { i++; return }
        fail()
      }
    }
    if (c === '"') return string()
    if (c === 't') return literal('true')
    if (c === 'f') return literal('false')
    if (c === 'n') return literal('null')
    if (c === '-') i++
    if (text.charAt(i) === '0') i++; else digits()
    if (text.charAt(i) === '.') { i++; digits() }
    if (text.charAt(i) === 'e' || text.charAt(i) === 'E') {
      i++
      if (text.charAt(i) === '+' || text.charAt(i) === '-') i++
      digits()
    }
  }
  try {
    value()
    ws()
    return i < text.length ? i : -1
  } catch (at) {
    return Math.min(at as number, text.length)
  }
}

/**
 * What `JSON.parse`'s message says is wrong, without the excerpt of the body V8 quotes back
 * (`Unexpected token 'S', "SECRET" is not valid JSON`) and without its position (given apart).
 */
function syntaxReason (message: string): string {
  if (message.startsWith('Unexpected end')) return 'it ends too early'
  if (message.startsWith('Unexpected token')) return 'unexpected character'
  return message.replace(/ (in|after) JSON at position \d+.*$/s, (_m, where: string) => (where === 'after' ? ' after the JSON value' : ''))
    .replace(/'.'/g, 'character').slice(0, 80)
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
    // secure-json-parse's own errors (prototype keys) quote nothing; V8's syntax errors quote the body.
    if (!(err instanceof SyntaxError)) throw new CoordError('INVALID_JSON', `The body is not valid JSON: ${(err as Error).message}`)
    const given = /at position (\d+)/.exec(err.message)?.[1]
    const position = given !== undefined ? Number(given) : syntaxErrorAt(text)
    const at = position >= 0 ? ` at character ${position}` : ''
    throw new CoordError('INVALID_JSON', `The body is not valid JSON: ${syntaxReason(err.message)}${at}. Fix the JSON and send it again.`,
      position >= 0 ? { position } : undefined)
  }
}
