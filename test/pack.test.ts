/**
 * The package as a user without a checkout installs it: `npm pack` of a build, `npm install -g` of
 * the tarball into a temporary prefix (from npm's cache, `--prefer-offline`), then the installed
 * `coord`: `--version`, `serve` (its database in the user's folder, Swagger UI's assets found in the
 * package), `next` against that server, `mcp` (an initialize round trip over stdio) and `init`.
 *
 * The build goes to a scratch checkout (the repository's dist/ is never touched). The install skips
 * install scripts: better-sqlite3's compiles SQLite from source, 2-5 minutes here; its compiled
 * module is taken from this checkout's node_modules instead (same version), or built by
 * `npm rebuild` when the versions differ. Everything else is what `npm install -g <tarball>` does.
 */
import t, { type Test } from 'tap'
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from './helper.js'
import { freePort } from '../scripts/free-port.js'

// A tsc build, a pack and an install from the cache: 1-2 minutes on a loaded 2-core machine.
t.setTimeout(600_000)

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
const WORK = tempDir('coord-pack-')
const CHECKOUT = join(WORK, 'checkout')
const PREFIX = join(WORK, 'prefix')
const PACKAGE = join(PREFIX, 'lib', 'node_modules', 'coordination-server')
const COORD = join(PREFIX, 'bin', 'coord')
t.teardown(() => rmSync(WORK, { recursive: true, force: true }))

/** The environment of every child: no tap loader, no settings of an outer `npm run`. */
function childEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || (/^npm_/i.test(k) && !/^npm_config_(cache|userconfig)$/i.test(k))) continue
    env[k] = v
  }
  return { ...env, ...extra }
}

/** Run to the end. @throws with its output when it fails */
function run (file: string, args: string[], cwd: string, env = childEnv()): SpawnSyncReturns<string> {
  const r = spawnSync(file, args, { cwd, env, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${String(r.status)}: ${r.stdout}${r.stderr}${r.error?.message ?? ''}`)
  return r
}

const npmMissing = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status !== 0

t.before(() => {
  if (npmMissing) return
  // A checkout with the files the package lists, built as `npm run build` does.
  mkdirSync(CHECKOUT)
  for (const name of ['package.json', 'coord', 'README.md', 'AGENTS.md', 'openapi', '.cursor', join('src', 'store', 'migrations')]) {
    cpSync(join(ROOT, name), join(CHECKOUT, name), { recursive: true })
  }
  mkdirSync(join(CHECKOUT, 'clients'))
  for (const doc of readdirSync(join(ROOT, 'clients')).filter((f) => f.endsWith('.md'))) {
    copyFileSync(join(ROOT, 'clients', doc), join(CHECKOUT, 'clients', doc))
  }
  symlinkSync(join(ROOT, 'node_modules'), join(CHECKOUT, 'node_modules'))
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  run(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(CHECKOUT, 'dist')], ROOT)
  run(process.execPath, [join(ROOT, 'scripts', 'bundle-cli.mjs'), join(CHECKOUT, 'dist')], ROOT)

  run('npm', ['pack', '--ignore-scripts', '--pack-destination', WORK], CHECKOUT)
  const tarball = join(WORK, `coordination-server-${version}.tgz`)
  run('npm', ['install', '--global', '--prefix', PREFIX, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], WORK)

  const sqlite = (root: string): string => join(root, 'node_modules', 'better-sqlite3')
  const versionOf = (dir: string): string => (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version
  const built = join(sqlite(ROOT), 'build', 'Release', 'better_sqlite3.node')
  if (existsSync(built) && versionOf(sqlite(ROOT)) === versionOf(sqlite(PACKAGE))) {
    mkdirSync(join(sqlite(PACKAGE), 'build', 'Release'), { recursive: true })
    copyFileSync(built, join(sqlite(PACKAGE), 'build', 'Release', 'better_sqlite3.node'))
  } else {
    run('npm', ['rebuild', 'better-sqlite3'], PACKAGE)
  }
})

/** Start `coord serve` from the install in `cwd`; resolves with its URL once /health answers. */
async function serve (t: Test, cwd: string): Promise<string> {
  const port = await freePort()
  const child: ChildProcess = spawn(COORD, ['serve', '--port', String(port), '--log-level', 'warn'],
    { cwd, env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  t.teardown(() => { child.kill('SIGKILL') })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 1200; i++) {
    if (child.exitCode !== null) throw new Error(`coord serve exited ${child.exitCode}: ${stderr}`)
    try {
      if ((await fetch(`${url}/health`)).ok) return url
    } catch { /* not up yet */ }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`coord serve did not answer /health: ${stderr}`)
}

/** One JSON-RPC exchange with `coord mcp`: send `message`, resolve with the first line it answers. */
function mcpExchange (message: unknown, env: NodeJS.ProcessEnv): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const child = spawn(COORD, ['mcp'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n')[0] as string
      if (out.includes('\n')) {
        child.stdin.end()
        try { resolve(JSON.parse(line) as Record<string, any>) } catch (e) { reject(e) }
      }
    })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('exit', (code) => { if (!out.includes('\n')) reject(new Error(`coord mcp exited ${String(code)} without answering: ${err}`)) })
    child.stdin.write(JSON.stringify(message) + '\n')
  })
}

const title = 'the packed tarball installs globally and its coord serves, hands out a task, speaks MCP and sets up a project'
t.test(title, { skip: npmMissing && 'npm is not on PATH' }, async (t) => {
  const version_ = run(COORD, ['--version'], WORK)
  t.equal(version_.stdout.trim(), version, 'coord --version from the install')

  const project = tempDir('coord-user-')
  const url = await serve(t, project)
  t.ok(existsSync(join(project, '.coordination', 'coord.db')), 'the default database is in the folder the server started in')
  t.equal((await fetch(`${url}/docs/static/swagger-ui.css`)).status, 200, 'Swagger UI\'s assets are found in the installed package')

  const posted = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ project: 'installed', tasks: [{ id: 'i1', description: 'from the installed CLI' }] }),
  })
  t.equal(posted.status, 201)
  const next = run(COORD, ['next', '--worker', 'w1', '--wait', '5', '--url', url, '--state-dir', join(WORK, 'state')], project)
  t.match(next.stdout, /Task i1 \(project installed/, 'coord next got the task')

  const initialized = await mcpExchange({
    jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'pack-test', version: '1' } },
  }, childEnv({ COORD_URL: url }))
  t.match(initialized, { id: 1, result: { serverInfo: { name: 'coord', version } } }, 'coord mcp answers initialize')

  // Installed globally, coord is on PATH: the files init writes name it `coord`.
  const target = tempDir('coord-init-')
  const init = run(COORD, ['init', target], WORK, childEnv({ PATH: `${join(PREFIX, 'bin')}${delimiter}${process.env.PATH ?? ''}` }))
  t.match(init.stdout, /wrote\s+\.cursor\/rules\/worker-chat\.mdc/)
  t.match(readFileSync(join(target, '.cursor', 'rules', 'worker-chat.mdc'), 'utf8'), '`coord next --worker worker-a --wait 540`',
    'the rules shipped in the package, pointing at `coord`')
  t.same((JSON.parse(readFileSync(join(target, '.cursor', 'mcp.json'), 'utf8')) as Record<string, any>).mcpServers.coord.command, 'coord')
})
