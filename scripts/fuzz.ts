/**
 * The long fuzz run: `npm run fuzz -- 20000` (or FUZZ_RUNS=20000 npm run fuzz; FUZZ_SEED to replay a
 * failure). Builds the app in memory and runs the property of scripts/fuzz-requests.ts.
 */
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { prepareFuzzApp, runFuzz } from './fuzz-requests.js'

const runs = Number(process.argv[2] ?? process.env.FUZZ_RUNS ?? 5000)
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)
const app = await buildApp(loadConfig({ COORD_DB: ':memory:', LOG_LEVEL: 'silent' }, false))
const start = Date.now()
try {
  await prepareFuzzApp(app)
  await runFuzz(app, runs, seed)
  console.log(`fuzz: ${runs} runs passed in ${Math.round((Date.now() - start) / 1000)} s`)
} catch (err) {
  console.error((err as Error).message)
  process.exitCode = 1
} finally {
  await app.close()
}
