// Bundle the built CLI (dist/clients/cli.js and everything it imports statically) into one file,
// dist/clients/cli-bundle.js, which the root `coord` runs. Every `coord` command is a fresh process:
// loading hundreds of module files (TypeBox alone is 370) cost about 0.5 s per command, one file costs
// a few ms (see bench/cli-start.ts). Modules the CLI loads with `await import()` (the server, the MCP
// server, the configuration schema) stay outside the bundle: they load from dist/ when a command
// needs them, next to the bundle, so their relative paths are unchanged. Run after `tsc` (npm run build).
// Usage: node scripts/bundle-cli.mjs [distDir]   (default: this checkout's dist/)
import { chmodSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const dist = process.argv[2] === undefined ? fileURLToPath(new URL('../dist', import.meta.url)) : resolve(process.argv[2])

/** Keep `await import(...)` as it is: loaded from dist/ on demand, not bundled. */
const dynamicImportsOutside = {
  name: 'dynamic-imports-outside',
  setup (b) {
    b.onResolve({ filter: /.*/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined))
  },
}

const outfile = join(dist, 'clients', 'cli-bundle.js')
await build({
  entryPoints: [join(dist, 'clients', 'cli.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  // CommonJS dependencies call require() for Node's built-in modules (commander) and read __filename
  // (write-file-atomic, for its temporary file names).
  banner: {
    js: "import { createRequire as __coordRequire } from 'node:module'; import { fileURLToPath as __coordPath } from 'node:url'; " +
      'const require = __coordRequire(import.meta.url); const __filename = __coordPath(import.meta.url);',
  },
  plugins: [dynamicImportsOutside],
})
chmodSync(outfile, 0o755)
