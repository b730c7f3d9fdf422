// Placeholder until the globs branch lands (it replaces this file).
const re = (p: string): RegExp => new RegExp('^' + p.split('/').map((seg) => seg === '**' ? '(?:.*)' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('/').replace('(?:.*)/', '(?:.*/)?') + '$')
export function validateWritePattern (p: string): string | null { return p.includes('..') || p.startsWith('/') ? `files.write "${p}": must be relative, without ..` : null }
export function normalizePattern (p: string): string { return p.replace(/^\.\//, '').replace(/\/$/, '/**') }
export function globMatches (path: string, pattern: string): boolean { return re(normalizePattern(pattern)).test(normalizePattern(path)) }
export function patternsOverlap (a: string, b: string): boolean { return globMatches(a, b) || globMatches(b, a) || a === b }
export function writeOverlaps (a: readonly string[], b: readonly string[]): Array<{ a: string, b: string }> {
  const out: Array<{ a: string, b: string }> = []
  for (const x of a) for (const y of b) if (patternsOverlap(x, y)) out.push({ a: x, b: y })
  return out
}
