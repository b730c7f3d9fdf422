/**
 * Extractive summary of a Markdown document: the highest-scoring sentences, in their original order,
 * 100 to 200 words. Scoring is Luhn's (1958): a sentence scores the summed frequency of its content
 * words, normalised by length, so sentences dense in the document's key terms win.
 */

/** The length an extract must have, in words (the demo's acceptance criterion). */
export const SUMMARY_WORDS = { min: 100, max: 200 } as const

const STOP = new Set(('a an and are as at be by can for from has have if in into is it its of on or that the this to was ' +
  'were will with you your we our not but they their which when what how also use used using may more than then there these ' +
  'so such all any each one two do does just only other own same some very should would could').split(' '))

/** Strip code, HTML, images, link targets, badges, tables and heading marks; keep prose. */
export function plainText (markdown: string): string {
  return markdown
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/~~~[\s\S]*?~~~/g, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/!\[[^\]]*\]\([^)]*\)/g, ' ')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\[[^\]]*\]/g, '$1')
    .split('\n')
    .filter((line) => !/^\s*(\||#|[-*_]{3,}\s*$|\[[^\]]+\]:)/.test(line))
    .map((line) => line.replace(/^\s*([-*+]|\d+\.)\s+/, '').replace(/`([^`]*)`/g, '$1').replace(/[*_]{1,2}([^*_]+)[*_]{1,2}/g, '$1'))
    .join('\n')
}

/** Split prose into sentences (paragraph breaks end sentences too). */
export function sentences (text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .flatMap((para) => para.replace(/\s+/g, ' ').trim().split(/(?<=[.!?])\s+(?=[A-Z0-9"'(])/))
    .map((s) => s.trim())
    .filter((s) => /[.!?]$/.test(s) && countWords(s) >= 5 && countWords(s) <= 60)
}

/** Words in `s`, counted as runs of non-space characters. */
export function countWords (s: string): number {
  return s.split(/\s+/).filter(Boolean).length
}

const terms = (s: string): string[] => (s.toLowerCase().match(/[a-z][a-z0-9-]+/g) ?? []).filter((w) => !STOP.has(w))

/**
 * Pick sentences by score until the summary has at least `minWords`, never exceeding `maxWords`.
 * Returns the chosen sentences in document order; fewer words than `minWords` only when the document
 * itself has fewer.
 */
export function summarize (markdown: string, minWords: number = SUMMARY_WORDS.min, maxWords: number = SUMMARY_WORDS.max): string {
  const all = sentences(plainText(markdown))
  const freq = new Map<string, number>()
  for (const s of all) for (const w of terms(s)) freq.set(w, (freq.get(w) ?? 0) + 1)
  const scored = all.map((s, i) => {
    const ts = terms(s)
    return { i, s, score: ts.reduce((n, w) => n + (freq.get(w) ?? 0), 0) / Math.sqrt(ts.length + 1) }
  })
  const chosen: typeof scored = []
  let words = 0
  for (const c of [...scored].sort((a, b) => b.score - a.score || a.i - b.i)) {
    if (words >= minWords) break
    const n = countWords(c.s)
    if (words + n > maxWords) continue
    chosen.push(c)
    words += n
  }
  return chosen.sort((a, b) => a.i - b.i).map((c) => c.s).join(' ')
}
