/**
 * A task's checks judged at creation, before any worker relies on them: every problem the coordinator
 * can fix now (a pattern that does not compile, a path outside the workspace, a disabled kind). The
 * label results show is `describeCheck` (describe-check.ts), re-exported here.
 */
import type { Check } from '../schemas/checks.js'
import { showPattern } from './describe-check.js'
import { compileSchema } from './json-schema.js'
import { checkPathInside, WorkspaceError } from './workspace.js'

export { describeCheck, showPattern, wordRange } from './describe-check.js'

type FileCheck = Extract<Check, { path: string }>

function kindProblems (check: Check): string[] {
  switch (check.kind) {
    case 'contains':
    case 'lacks':
      try {
        RegExp(check.pattern, check.flags)
        return []
      } catch (err) {
        return [`the pattern ${showPattern(check.pattern, check.flags)} does not compile (${(err as Error).message}); ` +
          'write a JavaScript regular expression without the slashes and flags among i, m, s, u, each once']
      }
    case 'word-count':
      if (check.min === undefined && check.max === undefined) return ['neither min nor max is given; give min, max or both']
      if (check.min !== undefined && check.max !== undefined && check.min > check.max) return [`min ${check.min} is greater than max ${check.max}; swap them`]
      return []
    case 'json':
      if (check.schema === undefined) return []
      try {
        compileSchema(check.schema)
        return []
      } catch (err) {
        return [`the schema does not compile (${(err as Error).message}); give a valid JSON Schema (draft-07, or 2020-12 via $schema) or leave schema out`]
      }
    case 'headings': {
      if (check.headings.length === 0) return ['the headings list is empty; name at least one heading']
      const problems: string[] = []
      const seen = new Set<string>()
      check.headings.forEach((h, i) => {
        const key = h.trim().toLowerCase()
        if (key === '') problems.push(`headings[${i}] is blank; name the heading's text`)
        else if (/[\r\n]/.test(h)) problems.push(`headings[${i}] spans lines, and a heading is one line; write it on one line`)
        else if (seen.has(key)) problems.push(`headings[${i}] ${JSON.stringify(h)} is listed twice (headings compare case-insensitively); list it once`)
        seen.add(key)
      })
      return problems
    }
    default:
      return []
  }
}

/**
 * Everything wrong with a task's checks at creation, each message naming the check by index and kind
 * and saying what to fix, e.g. `checks[2] (word-count): min 250 is greater than max 150; swap them`.
 *
 * @param opts.root the batch's workspace root (a realpath), or null when the batch names none
 * @param opts.commandsEnabled whether the server runs with COORD_COMMAND_CHECKS=true
 * @returns the problems; empty when the checks are fine
 */
export function checkProblems (checks: Check[], opts: { root: string | null, commandsEnabled: boolean }): string[] {
  const problems: string[] = []
  checks.forEach((check, i) => {
    const say = (what: string): void => { problems.push(`checks[${i}] (${check.kind}): ${what}`) }
    if ('path' in check) {
      const path = (check as FileCheck).path
      if (opts.root === null) {
        say(`reads ${path}, but the batch names no workspace; name a workspace on the batch`)
      } else {
        try {
          checkPathInside(opts.root, path)
        } catch (err) {
          if (!(err instanceof WorkspaceError)) throw err
          say(err.message)
        }
      }
    }
    if (check.kind === 'command') {
      if (!opts.commandsEnabled) say('command checks are disabled on this server; start the server with COORD_COMMAND_CHECKS=true, or drop this check')
      if (opts.root === null) say('a command runs in the workspace root, but the batch names no workspace; name a workspace on the batch')
    }
    for (const problem of kindProblems(check)) say(problem)
  })
  return problems
}
