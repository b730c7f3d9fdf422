/** Locations inside the installed package, the same whether running from `src/` (tests) or `dist/`. */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot (start: string): string {
  let dir = start
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no package.json above ${start}`)
    dir = parent
  }
  return dir
}

/** Absolute path of the directory holding this package's package.json. */
export const packageRoot = findRoot(dirname(fileURLToPath(import.meta.url)))
