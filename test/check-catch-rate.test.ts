// How many typical defects in a worker's output the checks of one realistic task catch: a summary of
// 150–250 words with the headings Summary and Sources and no TODO, a meta.json with a title, and
// deliverables naming both files. Each bad output has one defect; it must be caught by the check meant
// for it, with a message that says what is wrong, while the other checks still pass.
import t from 'tap'
import picomatch from 'picomatch'
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Check } from '../src/schemas/checks.js'
import { runChecks } from '../src/checks/run-checks.js'
import { checkProblems } from '../src/checks/validate-checks.js'
import { build, claim, post, report } from './helper.js'

const checks: Check[] = [
  { kind: 'word-count', path: 'out/summary.md', min: 150, max: 250 },
  { kind: 'headings', path: 'out/summary.md', headings: ['Summary', 'Sources'] },
  { kind: 'lacks', path: 'out/summary.md', pattern: 'TODO' },
  { kind: 'json', path: 'out/meta.json', schema: { type: 'object', required: ['title'], properties: { title: { type: 'string', minLength: 1 } } } },
  { kind: 'deliverables' },
]
const WORDS = 0
const HEADINGS = 1
const LACKS_TODO = 2
const JSON_CHECK = 3
const DELIVERABLES = 4
const declaredWrites = ['out/summary.md', 'out/meta.json']

const prose = (n: number): string => Array.from({ length: n }, (_, i) => ['the', 'study', 'found', 'that', 'rates', 'rose'][i % 6]).join(' ')
const markdown = (summaryWords: number, sourcesWords = 20): string =>
  `# Summary\n\n${prose(summaryWords)}\n\n## Sources\n\n${prose(sourcesWords)}\n`

type Output = { summary?: string, meta?: string, deliverables?: string[] }
const good: Required<Output> = { summary: markdown(150), meta: '{ "title": "Rates in 2024" }', deliverables: [...declaredWrites] }

/** One defect each; `check` is the check meant to catch it and `says` what its message must say. */
const defects: Array<{ name: string, output: Output, check: number, says: RegExp, alsoFails?: number[] }> = [
  { name: 'missing file', output: { summary: undefined }, check: WORDS, says: /^out\/summary\.md does not exist/, alsoFails: [HEADINGS, LACKS_TODO] },
  { name: 'too short', output: { summary: markdown(60) }, check: WORDS, says: /has 84 words; needs 150–250/ },
  { name: 'too long', output: { summary: markdown(400) }, check: WORDS, says: /has 424 words; needs 150–250/ },
  { name: 'wrong format (not Markdown headings)', output: { summary: `**Summary**\n\n${prose(150)}\n\nSources:\n\n${prose(20)}\n` }, check: HEADINGS, says: /found no Markdown headings/ },
  { name: 'undeclared output', output: { deliverables: ['out/summary.md'] }, check: DELIVERABLES, says: /deliverables omit out\/meta\.json/ },
  { name: 'invalid JSON', output: { meta: "{ 'title': 'Rates' }" }, check: JSON_CHECK, says: /is not valid JSON at line 1, column 3/ },
  { name: 'JSON against schema', output: { meta: '{ "name": "Rates" }' }, check: JSON_CHECK, says: /must have required property 'title'/ },
  { name: 'missing heading', output: { summary: `# Summary\n\n${prose(170)}\n` }, check: HEADINGS, says: /lacks the heading "Sources"; found "Summary"/ },
  { name: 'contains TODO', output: { summary: markdown(150).replace('## Sources\n\n', '## Sources\n\nTODO: cite the survey\n') }, check: LACKS_TODO, says: /line 7 matches \/TODO\// },
]

t.test('the checks catch each defect with the check meant for it', async (t) => {
  const base = realpathSync(t.testdir())
  t.same(checkProblems(checks, { root: base, commandsEnabled: false }), [], 'the fixture task is accepted at creation')
  const run = async (name: string, output: Output) => {
    const root = join(base, name.replace(/\W+/g, '-'))
    mkdirSync(join(root, 'out'), { recursive: true })
    const { summary, meta, deliverables } = { ...good, ...output }
    if (summary !== undefined) writeFileSync(join(root, 'out/summary.md'), summary)
    if (meta !== undefined) writeFileSync(join(root, 'out/meta.json'), meta)
    return runChecks(checks, {
      root,
      deliverables: deliverables ?? [],
      declaredWrites,
      globMatches: (path, pattern) => path === pattern || picomatch.isMatch(path, pattern),
      commands: { enabled: false, timeoutMs: 1000 },
    })
  }

  const clean = await run('good', {})
  t.same(clean.filter((r) => !r.passed), [], 'a good output passes every check')

  let caught = 0
  for (const defect of defects) {
    const results = await run(defect.name, defect.output)
    const meant = results[defect.check]
    const hit = meant !== undefined && !meant.passed && defect.says.test(meant.message)
    if (hit) caught++
    t.ok(hit, `${defect.name}: caught by "${meant?.label}": ${meant?.message}`)
    const expectedFailing = [defect.check, ...(defect.alsoFails ?? [])].sort()
    t.same(results.filter((r) => !r.passed).map((r) => r.index).sort(), expectedFailing, `${defect.name}: no other check fails`)
  }
  const rate = Math.round((caught / defects.length) * 100)
  t.comment(`catch rate: ${caught}/${defects.length} = ${rate} %`)
  t.ok(rate >= 80, 'at least 80 % of the defects are caught')
})

t.test('through the API: each deliberately bad report is answered 422 naming the defect; the good one is accepted', async (t) => {
  const base = realpathSync(t.testdir())
  const app = await build(t)
  let caught = 0
  const cases: Array<{ name: string, output: Output, says?: RegExp }> = [...defects, { name: 'good', output: {} }]
  for (const [i, c] of cases.entries()) {
    const root = join(base, `case-${i}`)
    mkdirSync(join(root, 'out'), { recursive: true })
    const { summary, meta, deliverables } = { ...good, ...c.output }
    const created = await post(app, '/tasks', {
      project: `catch-${i}`, workspace: root, tasks: [{ id: `t${i}`, description: c.name, files: { write: declaredWrites }, checks }],
    })
    t.equal(created.statusCode, 201, `${c.name}: posted`)
    const a = await claim(app, `w${i}`)
    if (summary !== undefined) writeFileSync(join(root, 'out/summary.md'), summary)
    if (meta !== undefined) writeFileSync(join(root, 'out/meta.json'), meta)
    const res = await report(app, a, 'completed', { deliverables })
    if (c.says === undefined) {
      t.equal(res.statusCode, 200, 'the good output is accepted')
      continue
    }
    const hit = res.statusCode === 422 && res.json().details.failed.some((f: { message: string }) => (c.says as RegExp).test(f.message))
    if (hit) caught++
    t.ok(hit, `${c.name}: ${res.statusCode} ${res.statusCode === 422 ? res.json().message.split('\n')[1] : res.body}`)
  }
  const rate = Math.round((caught / defects.length) * 100)
  t.comment(`catch rate through the API: ${caught}/${defects.length} = ${rate} %`)
  t.ok(rate >= 80, 'at least 80 % of the bad reports are caught')
})
