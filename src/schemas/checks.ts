/**
 * Machine-checkable acceptance checks: what a coordinator may attach to a task beside its free-text
 * `acceptance`, and what the server answers when a `completed` report fails them. Paths are relative
 * to the task's workspace root (see `workspace` on `POST /tasks`).
 */
import { Type, type Static } from 'typebox'
import { ANSWER_OUTPUT_BYTES, ANSWER_OUTPUT_LINES } from '../checks/answer-results.js'

const CheckPath = Type.String({
  minLength: 1,
  maxLength: 1024,
  description: 'File path relative to the workspace root; must stay inside it (no `..` out, no absolute path elsewhere, no symlink out).',
  examples: ['out/summary.md'],
})
const Pattern = Type.String({ minLength: 1, maxLength: 500, description: 'JavaScript regular expression source (without slashes).', examples: ['^# '] })
const Flags = Type.Optional(Type.String({ pattern: '^[imsu]{0,4}$', description: 'Regular expression flags among i, m, s, u.' }))
const Label = Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Name shown in results instead of the generated one.' }))

/** One acceptance check. `kind` selects the rule; every kind is documented by its schema. */
export const Check = Type.Union([
  Type.Object({ kind: Type.Literal('file-exists'), path: CheckPath, label: Label }, {
    additionalProperties: false, description: 'The file exists.',
  }),
  Type.Object({ kind: Type.Literal('file-nonempty'), path: CheckPath, label: Label }, {
    additionalProperties: false, description: 'The file exists and holds at least one non-whitespace character.',
  }),
  Type.Object({
    kind: Type.Literal('word-count'),
    path: CheckPath,
    min: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
    max: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
    label: Label,
  }, { additionalProperties: false, description: 'Words (runs of non-space characters) in the file are within [min, max]; give min, max or both.' }),
  Type.Object({ kind: Type.Literal('contains'), path: CheckPath, pattern: Pattern, flags: Flags, label: Label }, {
    additionalProperties: false, description: 'The file contains a match of the regular expression.',
  }),
  Type.Object({ kind: Type.Literal('lacks'), path: CheckPath, pattern: Pattern, flags: Flags, label: Label }, {
    additionalProperties: false, description: 'The file contains no match of the regular expression (e.g. `TODO`).',
  }),
  Type.Object({
    kind: Type.Literal('json'),
    path: CheckPath,
    schema: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema (draft 2020-12 or 07) the document must satisfy.' })),
    label: Label,
  }, { additionalProperties: false, description: 'The file is valid JSON, and matches `schema` when given.' }),
  Type.Object({
    kind: Type.Literal('headings'),
    path: CheckPath,
    headings: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 100 }),
    label: Label,
  }, { additionalProperties: false, description: 'The Markdown file has each of these headings (any level, compared case-insensitively, trimmed).' }),
  Type.Object({ kind: Type.Literal('deliverables'), label: Label }, {
    additionalProperties: false,
    description: 'The report\'s `deliverables` name every file of the task\'s `files.write` (a glob needs at least one deliverable it matches).',
  }),
  Type.Object({
    kind: Type.Literal('command'),
    run: Type.String({
      minLength: 1, maxLength: 2000, description: 'Shell command run in the workspace root; passes when it exits 0.', examples: ['npm test'],
    }),
    timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600, description: 'Default and cap: COORD_COMMAND_TIMEOUT_SECONDS.' })),
    label: Label,
  }, { additionalProperties: false, description: 'Opt-in: only accepted when the server runs with COORD_COMMAND_CHECKS=true.' }),
], { description: 'A machine-checkable acceptance check, run by the server when the worker reports completed.' })
export type Check = Static<typeof Check>

/** Every check kind. */
export const CHECK_KINDS = ['file-exists', 'file-nonempty', 'word-count', 'contains', 'lacks', 'json', 'headings', 'deliverables', 'command'] as const
export type CheckKind = (typeof CHECK_KINDS)[number]

/** The outcome of one check. */
export const CheckResult = Type.Object({
  index: Type.Integer({ minimum: 0, description: 'Position of the check in the task\'s `checks`.' }),
  kind: Type.Enum(CHECK_KINDS),
  label: Type.String({ description: 'The check in words, e.g. "out/summary.md has 150–250 words".' }),
  passed: Type.Boolean(),
  message: Type.String({ description: 'What was found, in words a worker can act on, e.g. "out/summary.md has 87 words; needs 150–250".' }),
  output: Type.Optional(Type.String({
    description: 'Command checks: the end of stdout and stderr. The task\'s history (GET /tasks/{id}, `reports[].checks`) keeps the last 4 KB; ' +
      `a report's answer carries it only for a failed check (200 \`checks\`: none; 422 \`details.failed\`), its last ${ANSWER_OUTPUT_LINES} lines ` +
      `and at most ${ANSWER_OUTPUT_BYTES} bytes.`,
  })),
})
export type CheckResult = Static<typeof CheckResult>
