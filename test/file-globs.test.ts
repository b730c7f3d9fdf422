// files.write paths and globs: what is refused and why, how entries are normalized, which reported paths
// they cover, and which pairs of entries conflict. picomatch is the oracle for matching; overlap is checked
// both ways: a path matching both patterns means overlap, and every overlap comes with a path matching both.
import t from 'tap'
import fc from 'fast-check'
import picomatch from 'picomatch'
import {
  globMatches, normalizePattern, overlapWitness, patternsOverlap, validateWritePattern, writeOverlaps,
} from '../src/lifecycle/file-globs.js'

// picomatch with our semantics. `dot`: dot files are not special. `fastpaths: false`: its shortcut for `*.*`
// wants a character after the dot (`a.` does not match), unlike its own full parser. A trailing `/**` matches zero
// segments in picomatch only after a literal segment (`a/**` matches `a`, `*/**` does not match `a`: by design
// there, micromatch/micromatch#210); ours always can, since `dir/` means the folder too, so that case is asked apart.
const picomatchOptions = { dot: true, fastpaths: false }
function oracle (path: string, pattern: string): boolean {
  const p = normalizePattern(pattern)
  return picomatch.isMatch(path, p, picomatchOptions) || (p.endsWith('/**') && picomatch.isMatch(path, p.slice(0, -3), picomatchOptions))
}

/** The concrete path a reported one stands for (as the module documents it), or null if outside the workspace. */
function concrete (path: string): string | null {
  if (path.startsWith('/')) return null
  const segments = path.split('/').filter((s) => s !== '' && s !== '.')
  return segments.length === 0 || segments.includes('..') ? null : segments.join('/')
}

t.test('refused entries get a message naming the entry and what to write instead', async (t) => {
  const refused: Array<[string, string]> = [
    ['../x', '`..` is not allowed; paths are relative to the workspace root'],
    ['src/../../etc', '`..` is not allowed'],
    ['', 'is empty'],
    ['/etc/passwd', 'absolute paths are not allowed'],
    ['C:\\x', 'absolute paths are not allowed'],
    ['c:/x', 'absolute paths are not allowed'],
    ['src\\a.ts', 'separate folders with `/`'],
    ['a\\*', 'there are no escapes'],
    ['src/[ab].ts', 'character classes'],
    ['src/a].ts', 'character classes'],
    ['src/{a,b}.ts', 'braces'],
    ['src/}', 'braces'],
    ['!src/a.ts', 'negation'],
    ['a**b', '`**` must be a whole segment'],
    ['src/**.ts', 'not part of "**.ts"'],
    ['***', '`**` must be a whole segment'],
    ['a\0b', 'NUL'],
    ['a'.repeat(1025), 'over the limit of 1024'],
    ['.', 'names the workspace root'],
    ['./.', 'names the workspace root'],
  ]
  for (const [p, hint] of refused) {
    const message = validateWritePattern(p)
    t.ok(message?.startsWith(`files.write ${JSON.stringify(p.length > 80 ? `${p.slice(0, 60)}…` : p)}: `), `${JSON.stringify(p)} is named: ${message}`)
    t.ok(message?.includes(hint), `${JSON.stringify(p.slice(0, 20))}: says ${hint}`)
    t.throws(() => normalizePattern(p), { name: 'TypeError', message }, 'normalizing it throws the same message')
  }
  t.equal(validateWritePattern('../x'), 'files.write "../x": `..` is not allowed; paths are relative to the workspace root')
  for (const p of ['src/app.ts', 'src/**', 'dir/', './', '**', 'a!b', 'x/!y', 'a..b/..c', '.env', 'a:b', 'a'.repeat(1024), 'é/😀?']) {
    t.equal(validateWritePattern(p), null, `${JSON.stringify(p.slice(0, 20))} is accepted`)
  }
  t.equal(validateWritePattern('!'), 'files.write "!": negation (a leading `!`) is not supported; list only the files the task writes',
    'a leading `!` is refused even alone')
})

t.test('entries are normalized to one canonical form', async (t) => {
  const cases: Array<[string, string]> = [
    ['./a//b', 'a/b'], ['dir/', 'dir/**'], ['dir//', 'dir/**'], ['./', '**'], ['a/./b/.', 'a/b'],
    ['a/**/**/b', 'a/**/b'], ['a/**/', 'a/**'], ['**/**', '**'], ['src/*.ts', 'src/*.ts'],
  ]
  for (const [p, want] of cases) t.equal(normalizePattern(p), want, `${p} -> ${want}`)
})

t.test('reported paths are covered by what they match', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['src/a.ts', 'src/*.ts', true], ['src/a/b.ts', 'src/*.ts', false], ['src/.ts', 'src/*.ts', true],
    ['./src/a.ts', 'src/a.ts', true], ['src//a.ts', './src/a.ts', true], ['src/A.ts', 'src/a.ts', false],
    ['dir', 'dir/', true], ['dir/x/y', 'dir/', true], ['dirx', 'dir/', false], ['dir/', 'dir', true],
    ['a/b', 'a/**/b', true], ['a/x/y/b', 'a/**/b', true], ['a/x/b/c', 'a/**/b', false],
    ['.git/config', '**', true], ['abc', 'a?c', true], ['ac', 'a?c', false], ['a/c', 'a?c', false],
    ['😀x', '?x', true], ['a*b', 'a*b', true], ['a?b', 'a*', true], ['x*', 'x?', true],
    ['../a', '**', false], ['a/../b', '**', false], ['/a', '**', false], ['', '**', false], ['.', '**', false],
  ]
  for (const [path, pattern, want] of cases) t.equal(globMatches(path, pattern), want, `${path} ${want ? 'matches' : 'does not match'} ${pattern}`)
  t.throws(() => globMatches('a', '../a'), { name: 'TypeError', message: /`\.\.` is not allowed/ }, 'an invalid pattern throws')
})

t.test('two entries overlap exactly when some file matches both', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['src/*.ts', 'src/a*', true], ['src/**', 'src/x/y.md', true], ['docs/*.md', 'docs/a/b.md', false],
    ['a/**/b', 'a/b', true], ['*.md', '*.ts', false], ['a?c', 'abc', true], ['**', '**', true],
    ['src/', 'src', true], ['src/**', 'lib/**', false], ['a/**/b', 'a/**/c', false], ['*/b', 'a/*', true],
    ['a*', '*b', true], ['a', 'A', false], ['?.', '.?', false], ['.*', '*.', true], ['?', '*.', false],
    ['*', '**/x/**', true], ['*', '*/*', false], ['**/a/**/b', '**/b/**/a', false], ['**/a/**/b', '**/b/**/a/**', true], ['a/*/*', '**/b', true],
    ['??', '*.', true], ['a*b*c', '*c*b*', true], ['a*b*c', '*c*b', false], ['x/', './x', true],
  ]
  for (const [a, b, want] of cases) {
    t.equal(patternsOverlap(a, b), want, `${a} ${want ? 'overlaps' : 'does not overlap'} ${b}`)
    t.equal(patternsOverlap(b, a), want, `${b} ${want ? 'overlaps' : 'does not overlap'} ${a}`)
    const w = overlapWitness(a, b)
    if (want) t.ok(w !== null && globMatches(w, a) && globMatches(w, b), `witness ${w} matches both`)
    else t.equal(w, null)
  }
  t.throws(() => patternsOverlap('a', '{a,b}'), { name: 'TypeError' })
})

t.test('writeOverlaps lists every conflicting pair, entries as written', async (t) => {
  t.same(writeOverlaps(['out/**', 'src/a.ts', './docs/'], ['out/a.md', 'lib/', 'docs/x/y.md', 'src/*.ts']), [
    { a: 'out/**', b: 'out/a.md' },
    { a: 'src/a.ts', b: 'src/*.ts' },
    { a: './docs/', b: 'docs/x/y.md' },
  ])
  t.same(writeOverlaps(['src/*.ts'], ['src/a/*.ts', 'test/**']), [], 'disjoint lists')
  t.same(writeOverlaps([], ['**']), [])
  t.throws(() => writeOverlaps(['a'], ['b', '/c']), { message: /files\.write "\/c"/ }, 'an invalid entry throws, naming it')
})

t.test('the longest patterns are decided quickly', async (t) => {
  // Pairs that make a naive backtracking search explode; the memoized search bounds them by length × length.
  const started = Date.now()
  t.equal(patternsOverlap(`${'*a'.repeat(511)}*c`, `${'*b'.repeat(511)}*d`), false)
  t.equal(patternsOverlap(`${'**/*a/'.repeat(170)}c`, `${'**/*b/'.repeat(170)}c`), false)
  t.equal(patternsOverlap(`${'*a'.repeat(511)}*`, `${'*b'.repeat(511)}*`), true)
  t.equal(globMatches('a'.repeat(100_000), `${'*a'.repeat(511)}*b`), false)
  t.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`)
})

// Small alphabets, so that patterns and paths collide often.
const textChar = fc.constantFrom('a', 'b', '.')
const segmentPattern = fc.oneof(fc.constant('**'), fc.string({ unit: fc.constantFrom('a', 'b', '.', '*', '?'), minLength: 1, maxLength: 3 }))
const pattern = fc.oneof(
  fc.tuple(fc.constantFrom('', './'), fc.array(segmentPattern, { minLength: 1, maxLength: 4 }), fc.constantFrom('', '/'))
    .map(([head, segments, tail]) => head + segments.join('/') + tail),
  fc.string({ unit: fc.constantFrom('a', 'b', '/', '*', '?', '.'), minLength: 1, maxLength: 8 })
).filter((p) => validateWritePattern(p) === null)
const rawPath = fc.string({ unit: fc.constantFrom('a', 'b', '/', '.', '*'), minLength: 1, maxLength: 8 })

/** Paths a pattern is likely to match: wildcards filled in with short runs of the text alphabet. */
function instanceOf (p: string): fc.Arbitrary<string> {
  const parts = normalizePattern(p).split('/').map((segment) => segment === '**'
    ? fc.array(fc.string({ unit: textChar, minLength: 1, maxLength: 2 }), { maxLength: 2 }).map((xs) => xs.join('/'))
    : fc.tuple(...Array.from(segment, (ch) => ch === '*' ? fc.string({ unit: textChar, maxLength: 2 }) : ch === '?' ? textChar : fc.constant(ch)))
      .map((cs) => cs.join('')))
  return fc.tuple(...parts).map((xs) => xs.join('/'))
}

t.test('globMatches agrees with picomatch on generated patterns and paths', async (t) => {
  let matched = 0
  let total = 0
  fc.assert(fc.property(pattern.chain((p) => fc.tuple(fc.constant(p), fc.oneof(rawPath, instanceOf(p)))), ([p, path]) => {
    const ours = globMatches(path, p)
    const normal = concrete(path)
    if (normal === null) return !ours
    total++
    if (ours) matched++
    return ours === oracle(normal, p) && ours === globMatches(normal, p)
  }), { numRuns: 3000 })
  t.ok(matched > total / 5 && matched < total * 0.9, `both outcomes are exercised (${matched} of ${total} matched)`)
})

t.test('patternsOverlap is exact: any common path means overlap, and every overlap has a witness', async (t) => {
  let overlapping = 0
  let runs = 0
  const pairs = fc.tuple(pattern, pattern).chain(([a, b]) =>
    fc.tuple(fc.constant(a), fc.constant(b), fc.array(fc.oneof(instanceOf(a), instanceOf(b), rawPath), { maxLength: 4 })))
  fc.assert(fc.property(pairs, ([a, b, paths]) => {
    runs++
    const w = overlapWitness(a, b)
    if (patternsOverlap(b, a) !== (w !== null)) return false
    if (paths.some((path) => globMatches(path, a) && globMatches(path, b)) && w === null) return false
    if (w === null) return true
    overlapping++
    return concrete(w) === w && globMatches(w, a) && globMatches(w, b) && oracle(w, a) && oracle(w, b)
  }), { numRuns: 3000 })
  t.ok(overlapping > runs / 5 && overlapping < runs * 0.9, `both outcomes are exercised (${overlapping} of ${runs} overlapped)`)

  fc.assert(fc.property(pattern, (p) => {
    const w = overlapWitness(p, p)
    return w !== null && globMatches(w, p)
  }), { numRuns: 1000 })
  t.pass('every valid pattern overlaps itself')

  // A pattern without wildcards is one concrete path: overlap with it is matching it, an independent check.
  const literal = fc.string({ unit: fc.constantFrom('a', 'b', '/', '.'), minLength: 1, maxLength: 8 })
    .filter((p) => validateWritePattern(p) === null && !p.endsWith('/'))
  fc.assert(fc.property(literal, pattern, (path, p) => patternsOverlap(path, p) === globMatches(path, p)), { numRuns: 3000 })
  t.pass('overlap with a literal path is matching it')
})
