// Placeholder until the checks branch lands (it replaces this file).
import { realpathSync } from 'node:fs'
export class WorkspaceError extends Error { constructor (message: string, readonly path: string) { super(message) } }
export function resolveWorkspaceRoot (root: string, allowedRoots: readonly string[]): string {
  const real = realpathSync(root)
  if (!allowedRoots.some((a) => real === realpathSync(a) || real.startsWith(realpathSync(a) + '/'))) throw new WorkspaceError(`workspace ${root} is outside the allowed roots`, root)
  return real
}
export function checkPathInside (_root: string, rel: string): void { if (rel.startsWith('/') || rel.split('/').includes('..')) throw new WorkspaceError(`${rel} leaves the workspace`, rel) }
