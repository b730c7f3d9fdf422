/**
 * Writes the OpenAPI document generated from the route schemas to `openapi/openapi.json`
 * (`npm run openapi`). `test/openapi.test.ts` fails when the committed file drifts from the code.
 */
import { writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { packageRoot } from './paths.js'

/** Where the committed document lives. */
export const OPENAPI_FILE = join(packageRoot, 'openapi', 'openapi.json')

/** The OpenAPI document as the app generates it, serialized as committed (2-space JSON, final newline). */
export async function generateOpenApi (): Promise<string> {
  const app = await buildApp(loadConfig({ COORD_DB: ':memory:', LOG_LEVEL: 'silent' }, false))
  try {
    return `${JSON.stringify(app.swagger(), null, 2)}\n`
  } finally {
    await app.close()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  mkdirSync(join(packageRoot, 'openapi'), { recursive: true })
  writeFileSync(OPENAPI_FILE, await generateOpenApi())
  console.log(`wrote ${OPENAPI_FILE}`)
}
