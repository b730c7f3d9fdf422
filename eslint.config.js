// Lint: neostandard (what fastify itself uses) with TypeScript, plus a maximum line length so that
// a file's line count says how long it really is.
import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'openapi/**', 'coverage/**', '.tap/**'] }),
  {
    rules: {
      '@stylistic/max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true }],
      // A TypeBox schema and its static type share one name (`const Task` / `type Task`), by design.
      '@typescript-eslint/no-redeclare': 'off',
      // `void promise` marks a deliberate fire-and-forget whose errors are handled inside.
      'no-void': ['error', { allowAsStatement: true }],
    },
  },
]
