/**
 * Where a JSON document goes wrong. Node 20's JSON.parse names no position for its most common error
 * ("Unexpected token"), and a worker fixing a file needs a line number. A scanner of the JSON grammar
 * with an explicit stack, so `[[[[…` two million deep costs no call stack.
 */

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const ESCAPE = /["\\/bfnrt]|u[0-9a-fA-F]{4}/y

/**
 * The offset of the first character where `text` stops being valid JSON (`text.length` when it ends
 * too early), or -1 when it is valid.
 */
export function jsonErrorOffset (text: string): number {
  const n = text.length
  let i = 0
  const stack: Array<'{' | '['> = []
  let state: 'value' | 'key' | 'after' = 'value'
  const skipSpace = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++
  }
  const string = (): boolean => {
    i++
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === 0x22) { i++; return true }
      if (c < 0x20) return false
      if (c === 0x5c) {
        ESCAPE.lastIndex = i + 1
        if (!ESCAPE.test(text)) { i++; return false }
        i = ESCAPE.lastIndex
      } else i++
    }
    return false
  }
  for (;;) {
    skipSpace()
    if (state === 'value') {
      const c = text[i]
      if (c === '{' || c === '[') {
        i++
        skipSpace()
        if (text[i] === (c === '{' ? '}' : ']')) { i++; state = 'after'; continue }
        stack.push(c)
        state = c === '{' ? 'key' : 'value'
        continue
      }
      if (c === '"') { if (!string()) return i; state = 'after'; continue }
      NUMBER.lastIndex = i
      if (NUMBER.test(text)) { i = NUMBER.lastIndex; state = 'after'; continue }
      const literal = ['true', 'false', 'null'].find((l) => text.startsWith(l, i))
      if (literal === undefined) return i
      i += literal.length
      state = 'after'
    } else if (state === 'key') {
      if (text[i] !== '"' || !string()) return i
      skipSpace()
      if (text[i] !== ':') return i
      i++
      state = 'value'
    } else {
      const top = stack.at(-1)
      if (top === undefined) return i < n ? i : -1
      if (text[i] === ',') { i++; state = top === '{' ? 'key' : 'value'; continue }
      if (text[i] !== (top === '{' ? '}' : ']')) return i
      i++
      stack.pop()
    }
  }
}

/** Line and column (both from 1) of `offset` in `text`. */
export function lineColumn (text: string, offset: number): { line: number, column: number } {
  const before = text.slice(0, offset).split('\n')
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 }
}
