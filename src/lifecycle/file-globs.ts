/**
 * Paths and globs of `files.write`, the files a task declares it will write: validated when the task is
 * created, compared between tasks (two tasks whose write lists can touch a common file are never leased
 * at the same time), and matched against the files a worker reports.
 *
 * The syntax is deliberately small, so that overlap can be decided exactly:
 * - POSIX-style paths relative to the workspace root, `/` between segments, case-sensitive.
 * - `*` matches any run of characters, possibly none, within one segment; `?` exactly one character.
 *   Neither matches `/`. A character is a Unicode code point. Dot files are not special: `*` matches `.env`.
 * - `**` as a whole segment matches zero or more segments: `src/**` matches `src`, `src/a` and `src/a/b.ts`.
 * - A trailing `/` means the folder and everything in it: `dir/` is `dir/**`.
 * - `.` segments and repeated `/` are dropped: `./a//b` is `a/b`.
 * - Nothing else is special. What other glob engines treat specially is refused rather than matched
 *   literally, so nobody is surprised: `[` `]`, `{` `}`, a leading `!`, and `\`.
 * - Also refused: empty, absolute (`/x`, `C:\x`), a `..` segment, `**` inside a segment (`a**b`), NUL,
 *   more than 1024 characters, and a pattern naming only the workspace root (`.`).
 *
 * A concrete path is what normalization leaves: one or more segments, none empty, `.` or `..`. Overlap
 * asks for a common concrete path, so `?.` and `.?` do not overlap (the only string both match is `..`).
 */

/** Longest pattern accepted, in characters (UTF-16 code units, as `String.length` counts). */
export const MAX_PATTERN_LENGTH = 1024

// A segment pattern is a list of code points, with these two below zero for the wildcards.
const ANY = -1
const STAR = -2
const DOT = 0x2e
// The character a witness uses where any character would do: not `.`, so it never makes `.` or `..`.
const FREE = 0x78
const GLOBSTAR = 'globstar'
type Segment = number[]
type Item = Segment | typeof GLOBSTAR

/**
 * Check one `files.write` entry.
 * @returns null if valid, else a message naming the entry, what is wrong and what to write instead
 */
export function validateWritePattern (p: string): string | null {
  const problem = patternProblem(p)
  return problem === null ? null : `files.write ${quote(p)}: ${problem}`
}

/**
 * The canonical form of a valid pattern: no `.` or empty segments, `dir/` as `dir/**`, no `**` twice in
 * a row. Equal canonical forms match the same paths.
 * @throws TypeError with the validation message if the pattern is invalid
 */
export function normalizePattern (p: string): string {
  return canonicalSegments(checked(p)).join('/')
}

/**
 * Whether a concrete workspace-relative path matches a pattern. The path is normalized like a pattern
 * (`./a//b` is `a/b`, a trailing `/` is dropped) but its characters are all literal. A path that is not
 * inside the workspace (empty, absolute, or with a `..` segment) matches nothing.
 * @throws TypeError with the validation message if the pattern is invalid
 */
export function globMatches (path: string, pattern: string): boolean {
  const items = parsePattern(pattern)
  const segments = concreteSegments(path)
  if (segments === null) return false
  return greedyMatch(segments.map(codePoints), items, (item) => item === GLOBSTAR,
    (item, text) => item !== GLOBSTAR && greedyMatch(text, item, (c) => c === STAR, (c, ch) => c === ANY || c === ch))
}

/**
 * Whether some concrete path matches both patterns. Exact, not merely conservative.
 * @throws TypeError with the validation message if either pattern is invalid
 */
export function patternsOverlap (a: string, b: string): boolean {
  return overlapWitness(a, b) !== null
}

/**
 * A concrete path (normalized, as `globMatches` takes it) that matches both patterns, or null if none does.
 * Where any character would do, the witness uses `x`.
 * @throws TypeError with the validation message if either pattern is invalid
 */
export function overlapWitness (a: string, b: string): string | null {
  return itemsWitness(parsePattern(a), parsePattern(b))
}

/**
 * Every pair of entries, one from each write list, that can touch a common file; entries as given, in
 * the order of `a` then `b`. Empty if the lists are disjoint.
 * @throws TypeError with the validation message if any entry is invalid
 */
export function writeOverlaps (a: readonly string[], b: readonly string[]): Array<{ a: string, b: string }> {
  const parsedB = b.map(parsePattern)
  const pairs: Array<{ a: string, b: string }> = []
  for (const pa of a) {
    const items = parsePattern(pa)
    parsedB.forEach((itemsB, k) => {
      if (itemsWitness(items, itemsB) !== null) pairs.push({ a: pa, b: b[k] as string })
    })
  }
  return pairs
}

function patternProblem (p: string): string | null {
  if (p.includes('\0')) return 'contains a NUL character; remove it'
  if (p.length > MAX_PATTERN_LENGTH) {
    return `is ${p.length} characters long, over the limit of ${MAX_PATTERN_LENGTH}; name its folder ("dir/") or use a glob instead`
  }
  if (p === '') return 'is empty; give a path relative to the workspace root, such as "src/app.ts" or "src/"'
  if (isAbsolute(p)) return 'absolute paths are not allowed; paths are relative to the workspace root, such as "src/app.ts"'
  if (p.includes('\\')) return '`\\` is not allowed: separate folders with `/`; there are no escapes (`*` and `?` are always wildcards)'
  if (/[[\]]/.test(p)) return 'character classes (`[...]`) are not supported; use `?` for any one character, or list the files separately'
  if (/[{}]/.test(p)) return 'braces (`{a,b}`) are not supported; list each alternative as its own files.write entry'
  if (p.startsWith('!')) return 'negation (a leading `!`) is not supported; list only the files the task writes'
  const segments = p.split('/')
  if (segments.includes('..')) return '`..` is not allowed; paths are relative to the workspace root'
  const mixed = segments.find((s) => s.includes('**') && s !== '**')
  if (mixed !== undefined) return `\`**\` must be a whole segment (as in "src/**/x.ts"), not part of ${quote(mixed)}; use \`*\` within a segment`
  if (segments.every((s) => s === '' || s === '.') && !p.endsWith('/')) return 'names the workspace root, not a file; use "**" for everything in it'
  return null
}

function quote (p: string): string {
  return JSON.stringify(p.length > 80 ? `${p.slice(0, 60)}…` : p)
}

function isAbsolute (p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p)
}

function checked (p: string): string {
  const problem = validateWritePattern(p)
  if (problem !== null) throw new TypeError(problem)
  return p
}

function canonicalSegments (p: string): string[] {
  const out: string[] = []
  for (const s of p.split('/')) {
    // `**/**` matches exactly what `**` matches; one of them keeps the overlap search small.
    if (s === '' || s === '.' || (s === '**' && out.at(-1) === '**')) continue
    out.push(s)
  }
  if (p.endsWith('/') && out.at(-1) !== '**') out.push('**')
  return out
}

function parsePattern (p: string): Item[] {
  return canonicalSegments(checked(p)).map((s) => s === '**'
    ? GLOBSTAR
    : Array.from(s, (ch) => ch === '*' ? STAR : ch === '?' ? ANY : (ch.codePointAt(0) ?? 0)))
}

function concreteSegments (path: string): string[] | null {
  if (isAbsolute(path)) return null
  const segments = path.split('/').filter((s) => s !== '' && s !== '.')
  return segments.length === 0 || segments.includes('..') ? null : segments
}

function codePoints (s: string): number[] {
  return Array.from(s, (ch) => ch.codePointAt(0) ?? 0)
}

/**
 * Wildcard matching where a star token matches any run of text items and every other token one item that
 * `one` accepts: greedy, going back only to the latest star, which is enough because a later star can
 * absorb whatever an earlier one could. O(text × pattern) at worst, no recursion, no allocation.
 */
function greedyMatch<T, P> (text: readonly T[], pat: readonly P[], isStar: (p: P) => boolean, one: (p: P, t: T) => boolean): boolean {
  let t = 0
  let p = 0
  let star = -1
  let resume = 0
  while (t < text.length) {
    const tok = pat[p]
    if (tok !== undefined && isStar(tok)) {
      star = p++
      resume = t
    } else if (tok !== undefined && one(tok, text[t] as T)) {
      p++
      t++
    } else if (star >= 0) {
      p = star + 1
      t = ++resume
    } else {
      return false
    }
  }
  while (p < pat.length && isStar(pat[p] as P)) p++
  return p === pat.length
}

/** A move of the search below: the next positions in both patterns, the next state, what it adds to the witness. */
type Visit<E> = (i: number, j: number, state: number, emit: E | undefined) => boolean
type Moves<E> = (i: number, j: number, state: number, visit: Visit<E>) => boolean

/**
 * Walk two patterns (lengths n and m) side by side, as the product automaton would, from state 0 at
 * (0, 0) to an accepting state at (n, m); return what the moves emitted on the first such path, or null.
 * Each move advances i or j or raises the state, so there are no cycles and memoization over
 * (i, j, state) bounds the work by (n + 1) × (m + 1) × states.
 */
function search<E> (n: number, m: number, states: number, accept: number, moves: Moves<E>): E[] | null {
  const memo = new Uint8Array((n + 1) * (m + 1) * states) // 0 unknown, 1 reachable, 2 not
  const solve = (i: number, j: number, state: number): boolean => {
    if (i === n && j === m) return state === accept
    const k = (i * (m + 1) + j) * states + state
    if (memo[k] === 0) memo[k] = moves(i, j, state, solve) ? 1 : 2
    return memo[k] === 1
  }
  if (!solve(0, 0, 0)) return null
  const out: E[] = []
  let at = [0, 0, 0] as [number, number, number]
  while (at[0] !== n || at[1] !== m) {
    moves(at[0], at[1], at[2], (i, j, state, emit) => {
      if (!solve(i, j, state)) return false
      if (emit !== undefined) out.push(emit)
      at = [i, j, state]
      return true
    })
  }
  return out
}

// States of the segment search, from the characters emitted so far: none, ".", "..", anything else
// (the only kind that is a concrete segment). Free characters always go to VALID, the best state.
const VALID = 3
const afterChar = (state: number, c: number): number => c === DOT && state < 2 ? state + 1 : VALID

/** A concrete segment (non-empty, not `.` or `..`) both segment patterns match, or null. */
function segmentWitness (p: Segment, q: Segment): string | null {
  const chars = search<number>(p.length, q.length, 4, VALID, (i, j, s, visit) => {
    const a = p[i]
    const b = q[j]
    if (a === STAR && visit(i + 1, j, s, undefined)) return true
    if (b === STAR && visit(i, j + 1, s, undefined)) return true
    if (a === STAR && b !== undefined && b !== STAR) {
      const c = b === ANY ? FREE : b
      if (visit(i, j + 1, afterChar(s, c), c)) return true
    }
    if (b === STAR && a !== undefined && a !== STAR) {
      const c = a === ANY ? FREE : a
      if (visit(i + 1, j, afterChar(s, c), c)) return true
    }
    // Two stars can emit any character together; one is enough to reach VALID, more would loop.
    if (a === STAR && b === STAR && s !== VALID && visit(i, j, VALID, FREE)) return true
    if (a === undefined || b === undefined || a === STAR || b === STAR) return false
    if (a !== b && a !== ANY && b !== ANY) return false
    const c = a === ANY ? (b === ANY ? FREE : b) : a
    return visit(i + 1, j + 1, afterChar(s, c), c)
  })
  return chars === null ? null : String.fromCodePoint(...chars)
}

/** Any concrete segment a segment pattern matches; there always is one, since validation refuses `..`. */
function sample (p: Segment): string {
  return String.fromCodePoint(...p.map((c) => c < 0 ? FREE : c))
}

/** A concrete path both patterns match, or null. States: 0 before the first segment, 1 after (a path is not empty). */
function itemsWitness (a: Item[], b: Item[]): string | null {
  const pairs = new Map<number, string | null>()
  const pair = (i: number, j: number, p: Segment, q: Segment): string | null => {
    const k = i * (b.length + 1) + j
    if (!pairs.has(k)) pairs.set(k, segmentWitness(p, q))
    return pairs.get(k) ?? null
  }
  const segments = search<string>(a.length, b.length, 2, 1, (i, j, s, visit) => {
    const x = a[i]
    const y = b[j]
    if (x === GLOBSTAR && visit(i + 1, j, s, undefined)) return true
    if (y === GLOBSTAR && visit(i, j + 1, s, undefined)) return true
    if (x === GLOBSTAR && y !== undefined && y !== GLOBSTAR && visit(i, j + 1, 1, sample(y))) return true
    if (y === GLOBSTAR && x !== undefined && x !== GLOBSTAR && visit(i + 1, j, 1, sample(x))) return true
    if (x === GLOBSTAR && y === GLOBSTAR && s === 0 && visit(i, j, 1, String.fromCodePoint(FREE))) return true
    if (x === undefined || y === undefined || x === GLOBSTAR || y === GLOBSTAR) return false
    const w = pair(i, j, x, y)
    return w !== null && visit(i + 1, j + 1, 1, w)
  })
  return segments === null ? null : segments.join('/')
}

/**
 * `globMatches` that never throws: a stored pattern this version would refuse (posted before patterns
 * were validated) matches only the identical path.
 */
export function matchesStored (path: string, pattern: string): boolean {
  try {
    return globMatches(path, pattern)
  } catch {
    return path === pattern
  }
}

/** `writeOverlaps` that never throws: a stored pattern this version would refuse overlaps only an identical entry. */
export function storedOverlaps (a: readonly string[], b: readonly string[]): Array<{ a: string, b: string }> {
  const out: Array<{ a: string, b: string }> = []
  for (const x of a) {
    for (const y of b) {
      let hit: boolean
      try {
        hit = patternsOverlap(x, y)
      } catch {
        hit = x === y
      }
      if (hit) out.push({ a: x, b: y })
    }
  }
  return out
}
