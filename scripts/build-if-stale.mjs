// `npm start` runs this first: build only when a source is newer than the last build, so a start with
// dist/ current is a plain `node dist/src/server.js` (a full build took 20-40 s on a loaded machine).
// The last build is dist/clients/cli-bundle.js, the file `npm run build` writes last: a failed build
// leaves it older than the sources, and the next start builds again.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const SOURCE_DIRS = ['src', 'routes', 'clients', 'scripts', 'bench']
const SOURCE_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json']
const LAST_OUTPUT = join(root, 'dist', 'clients', 'cli-bundle.js')

/** Modification time in ms, or -1 when the file does not exist. */
function mtime (file) {
  try { return statSync(file).mtimeMs } catch { return -1 }
}

/** The newest modification time of the compiled sources under `dir`. */
function newest (dir) {
  let latest = -1
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.(ts|mjs|json)$/.test(entry.name)) latest = Math.max(latest, mtime(join(entry.parentPath ?? entry.path, entry.name)))
  }
  return latest
}

const sources = Math.max(...SOURCE_DIRS.map((d) => newest(join(root, d))), ...SOURCE_FILES.map((f) => mtime(join(root, f))))
const built = mtime(LAST_OUTPUT)
if (built >= sources) {
  process.stdout.write('dist/ is up to date with the sources: not rebuilding (`npm run build` forces a build).\n')
} else {
  process.stdout.write(built < 0 ? 'dist/ is not built yet: building.\n' : 'A source changed since the last build: building.\n')
  const run = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  process.exitCode = run.status ?? 1
}
