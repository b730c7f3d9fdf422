/**
 * The two text measures checks use: words and Markdown headings. Deliberately a small subset of
 * CommonMark (ATX and setext headings, fenced code), enough to judge a report a chat wrote.
 */

/** Words in `text`: runs of non-whitespace characters. */
export function countWords (text: string): number {
  return text.match(/\S+/g)?.length ?? 0
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/
const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$/
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/
// A list item or quote followed by `---` is that block and a rule, not a heading.
const NOT_PARAGRAPH = /^([-*+]|\d{1,9}[.)])([ \t]|$)|^>/

/**
 * The headings of a Markdown document, in order, trimmed: ATX lines (`## Sources`, trailing `#`s
 * stripped) and setext headings (a paragraph underlined by `===` or `---`). Lines inside fenced code
 * blocks (``` or ~~~) are not headings.
 */
export function markdownHeadings (text: string): string[] {
  const headings: string[] = []
  let fence: { char: string, length: number } | null = null
  let paragraph: string[] = []
  for (const line of text.split(/\r\n|\r|\n/)) {
    const fenceMatch = FENCE.exec(line)
    if (fence !== null) {
      // A closing fence uses the opening character, at least as many times, and nothing after it.
      if (fenceMatch?.[1] !== undefined && fenceMatch[1][0] === fence.char && fenceMatch[1].length >= fence.length && fenceMatch[2]?.trim() === '') fence = null
      continue
    }
    if (fenceMatch?.[1] !== undefined && !(fenceMatch[1][0] === '`' && fenceMatch[2]?.includes('`'))) {
      fence = { char: fenceMatch[1][0] ?? '`', length: fenceMatch[1].length }
      paragraph = []
      continue
    }
    const atx = ATX.exec(line)
    if (atx !== null) {
      headings.push((atx[2] ?? '').replace(/(^|[ \t]+)#+$/, '').trim())
      paragraph = []
    } else if (paragraph[0] !== undefined && !NOT_PARAGRAPH.test(paragraph[0]) && SETEXT.test(line)) {
      headings.push(paragraph.join(' '))
      paragraph = []
    } else if (line.trim() === '') {
      paragraph = []
    } else {
      paragraph.push(line.trim())
    }
  }
  return headings.filter((h) => h !== '')
}
