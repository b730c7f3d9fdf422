// Property-based fuzzing of every route (scripts/fuzz-requests.ts): arbitrary and near-valid-but-wrong
// bodies and query strings never get a 5xx, always get a JSON { code, message } 4xx, and change
// nothing. A short run here; `npm run fuzz -- <runs>` runs longer.
import t from 'tap'
import { prepareFuzzApp, runFuzz } from '../scripts/fuzz-requests.js'
import { build } from './helper.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 300)

t.test(`${RUNS} generated bad requests: no 5xx, JSON 4xx, no state change`, async (t) => {
  const app = await build(t)
  await prepareFuzzApp(app)
  await t.resolves(runFuzz(app, RUNS))
})
