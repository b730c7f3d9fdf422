/**
 * A check in words: the short label results carry, and the exact rule a worker reads with its claim.
 * Workers shown only a label ("has no skip / only / todo") reworded harmless comments to be safe; the
 * rule names every field the server applies (path, pattern and flags, bounds, command and time
 * limit), so a worker changes only what the check matches. No dependencies: the CLI and the MCP
 * server load this at every claim.
 */
import type { Check } from '../schemas/checks.js'

/** `/source/flags`, as a pattern reads in messages. */
export function showPattern (pattern: string, flags: string | undefined): string {
  return `/${pattern}/${flags ?? ''}`
}

/** `150–250`, `at least 150`, `at most 250`, `exactly 200` (en dash, as the messages use). */
export function wordRange (min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return min === max ? `exactly ${min}` : `${min}–${max}`
  if (min !== undefined) return `at least ${min}`
  if (max !== undefined) return `at most ${max}`
  return 'any number of'
}

/**
 * The check in words, e.g. `out/summary.md has 150–250 words`, `out/a.json is valid JSON matching its
 * schema`, `` `npm test` exits 0 ``. `check.label` wins when set.
 */
export function describeCheck (check: Check): string {
  if (check.label !== undefined) return check.label
  switch (check.kind) {
    case 'file-exists': return `${check.path} exists`
    case 'file-nonempty': return `${check.path} is not empty`
    case 'word-count': return `${check.path} has ${wordRange(check.min, check.max)} words`
    case 'contains': return `${check.path} contains ${showPattern(check.pattern, check.flags)}`
    case 'lacks': return `${check.path} has no match of ${showPattern(check.pattern, check.flags)}`
    case 'json': return `${check.path} is valid JSON${check.schema === undefined ? '' : ' matching its schema'}`
    case 'headings': return `${check.path} has the headings ${check.headings.map((h) => JSON.stringify(h)).join(', ')}`
    case 'deliverables': return 'the report\'s deliverables name every file in files.write'
    case 'command': return `\`${check.run}\` exits 0`
  }
}

/** Longest JSON Schema shown inside a rule, in characters; the claim's `checks` carries it whole. */
export const RULE_SCHEMA_CHARS = 1000

function flagsInWords (flags: string | undefined): string {
  return flags === undefined || flags === '' ? 'no flags' : `flags ${flags}`
}

function schemaText (schema: Record<string, unknown>): string {
  const text = JSON.stringify(schema)
  return text.length > RULE_SCHEMA_CHARS ? `${text.slice(0, RULE_SCHEMA_CHARS)}… (whole schema in the task's checks)` : text
}

/**
 * The exact rule the server applies, starting with the kind and naming every field, e.g.
 * `lacks: test/a.test.ts has no match of /\.(skip|only)\(/ (JavaScript regular expression, no flags)
 * anywhere in the file, comments and strings included; text it does not match passes`. Unlike
 * `describeCheck`, a `label` does not replace it.
 */
export function describeRule (check: Check): string {
  switch (check.kind) {
    case 'file-exists': return `file-exists: ${check.path} exists (path relative to the workspace root)`
    case 'file-nonempty': return `file-nonempty: ${check.path} exists and holds at least one non-whitespace character`
    case 'word-count': {
      const bounds = [check.min === undefined ? '' : `min ${check.min}`, check.max === undefined ? '' : `max ${check.max}`].filter((b) => b !== '')
      return `word-count: ${check.path} has ${wordRange(check.min, check.max)} words (${bounds.join(', ')}, inclusive; ` +
        'a word is a run of non-whitespace characters, Markdown syntax included)'
    }
    case 'contains':
      return `contains: ${check.path} has at least one match of ${showPattern(check.pattern, check.flags)} ` +
        `(JavaScript regular expression, ${flagsInWords(check.flags)}) anywhere in the file`
    case 'lacks':
      return `lacks: ${check.path} has no match of ${showPattern(check.pattern, check.flags)} ` +
        `(JavaScript regular expression, ${flagsInWords(check.flags)}) anywhere in the file, comments and strings included; ` +
        'text it does not match passes'
    case 'json':
      return `json: ${check.path} parses as JSON` + (check.schema === undefined ? '' : ` and satisfies the JSON Schema ${schemaText(check.schema)}`)
    case 'headings':
      return `headings: ${check.path} has a Markdown heading (any level, compared trimmed and case-insensitively) for each of ` +
        check.headings.map((h) => JSON.stringify(h)).join(', ')
    case 'deliverables':
      return 'deliverables: the report\'s deliverables name every files.write entry of the task (a glob: at least one file it matches)'
    case 'command': {
      const limit = check.timeoutSeconds === undefined
        ? 'the server\'s time limit (COORD_COMMAND_TIMEOUT_SECONDS)'
        : `${check.timeoutSeconds} s (or the server's limit, COORD_COMMAND_TIMEOUT_SECONDS, if lower)`
      return `command: \`${check.run}\` run by sh -c in the workspace root exits 0 within ${limit}`
    }
  }
}
