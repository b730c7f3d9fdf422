/**
 * The workspace root of a task's checks, and the rule that every path a check reads stays inside it:
 * relative, no `..` out, no symlink out. Checked twice: lexically and against the symlinks that exist
 * when the task is created (`checkPathInside`), and again by realpath when the check reads the file
 * (`openInside`), because a worker can plant a symlink in between.
 */
import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs'
import { realpath } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, normalize, posix, relative, resolve, sep } from 'node:path'

/** A workspace root or a check path that is not acceptable; `message` says what to fix. */
export class WorkspaceError extends Error {
  /** The path as the caller gave it (a workspace root, or a path relative to one). */
  readonly path: string

  /**
   * @param path the offending path, as given
   * @param message what is wrong and what to do instead
   */
  constructor (path: string, message: string) {
    super(message)
    this.name = 'WorkspaceError'
    this.path = path
  }
}

/** True when `child` is `parent` or below it (both absolute and normalized). */
function isInside (child: string, parent: string): boolean {
  const rel = relative(parent, child)
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel))
}

/**
 * A reported path as a '/'-separated path relative to `root`: an absolute path inside the root loses its
 * prefix, a relative one is normalized (`./a//b` = `a/b`). An absolute path elsewhere (or the root itself)
 * comes back unchanged, for the caller to flag. Used by the deliverables check and by the report's
 * undeclared / conflict lists, so both read a deliverable the same way.
 */
export function workspaceRelative (root: string | null, path: string): string {
  if (root !== null && isAbsolute(path)) {
    const abs = resolve(path)
    return abs !== root && isInside(abs, root) ? relative(root, abs).split(sep).join('/') : path
  }
  return posix.normalize(path.split(sep).join('/'))
}

function errorCode (err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code
}

/**
 * The realpath of a coordinator-named workspace root.
 *
 * @param root absolute path of an existing directory
 * @param allowedRoots directories the server lets workspaces live in (COORD_WORKSPACE_ROOTS); one that
 *   does not exist allows nothing
 * @returns the realpath of `root`, inside or equal to the realpath of one of `allowedRoots`
 * @throws WorkspaceError when `root` is relative, missing, not a directory or outside every allowed root
 */
export function resolveWorkspaceRoot (root: string, allowedRoots: readonly string[]): string {
  if (root.includes('\0')) throw new WorkspaceError(root, 'The workspace root contains a NUL byte; name the folder by its plain absolute path.')
  if (!isAbsolute(root)) throw new WorkspaceError(root, `The workspace root ${root} is relative; name it by its absolute path.`)
  let real: string
  try {
    real = realpathSync(root)
  } catch (err) {
    const why = errorCode(err) === 'ENOENT' ? 'does not exist' : `cannot be resolved (${errorCode(err) ?? String(err)})`
    throw new WorkspaceError(root, `The workspace root ${root} ${why}; create the folder first or name an existing one.`)
  }
  if (!statSync(real).isDirectory()) throw new WorkspaceError(root, `The workspace root ${root} is not a directory; name the project's folder.`)
  const allowed = allowedRoots.flatMap((a) => {
    try {
      return [realpathSync(a)]
    } catch {
      return []
    }
  })
  if (allowed.some((a) => isInside(real, a))) return real
  const list = allowedRoots.length === 0 ? 'none are configured' : `allowed: ${allowedRoots.join(', ')}`
  throw new WorkspaceError(root, `The workspace root ${root} is outside the allowed workspace roots (${list}); ` +
    'name a folder inside one, or start the server with COORD_WORKSPACE_ROOTS including it.')
}

/** Lexical checks shared by creation and check time; returns the absolute, normalized path. */
function lexicalInside (root: string, rel: string): string {
  if (rel.includes('\0')) throw new WorkspaceError(rel, `The path ${JSON.stringify(rel)} contains a NUL byte; remove it.`)
  if (isAbsolute(rel)) {
    const abs = normalize(rel)
    const hint = isInside(abs, root) && abs !== root ? ` (here: ${relative(root, abs)})` : ''
    throw new WorkspaceError(rel, `The path ${rel} is absolute; paths are relative to the workspace root${hint}.`)
  }
  const abs = resolve(root, rel)
  if (!isInside(abs, root)) throw new WorkspaceError(rel, `The path ${rel} leaves the workspace root through ..; name a path inside the root.`)
  return abs
}

/**
 * The realpath of `abs`, also when it (or a link on the way) does not exist yet: the longest existing
 * ancestor is resolved and the rest appended. Used to judge where a dangling symlink points.
 */
function realpathLoose (abs: string): string {
  let head = abs
  const tail: string[] = []
  for (;;) {
    try {
      return join(realpathSync(head), ...tail.reverse())
    } catch (err) {
      if (errorCode(err) !== 'ENOENT' && errorCode(err) !== 'ENOTDIR') throw err
      const parent = dirname(head)
      if (parent === head) return abs
      tail.push(basename(head))
      head = parent
    }
  }
}

/**
 * Refuse a check path or `files.write` pattern that could read or name a file outside the workspace:
 * absolute, `..` out after normalization, a NUL byte, or a path through an existing symlink whose target
 * lies outside. For a glob only the segments before the first one holding `*` or `?` are walked.
 *
 * @param root the workspace root, already a realpath (see `resolveWorkspaceRoot`)
 * @param rel the path or pattern, relative to `root`
 * @throws WorkspaceError saying which part is wrong
 */
export function checkPathInside (root: string, rel: string): void {
  const abs = lexicalInside(root, rel)
  const segments = relative(root, abs).split(sep).filter((s) => s !== '')
  const firstGlob = segments.findIndex((s) => s.includes('*') || s.includes('?'))
  const walked = firstGlob === -1 ? segments : segments.slice(0, firstGlob)
  let here = root
  for (const segment of walked) {
    here = join(here, segment)
    let isLink: boolean
    try {
      isLink = lstatSync(here).isSymbolicLink()
    } catch (err) {
      if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return // nothing further exists yet
      throw new WorkspaceError(rel, `The path ${rel} cannot be inspected at ${relative(root, here)} (${errorCode(err) ?? String(err)}).`)
    }
    if (!isLink) continue
    let target: string
    try {
      target = realpathSync(here)
    } catch (err) {
      if (errorCode(err) === 'ELOOP') throw new WorkspaceError(rel, `The path ${rel} passes through ${relative(root, here)}, a symlink loop; remove the link.`)
      // A dangling link: judge where it would point once its target is created.
      target = realpathLoose(resolve(dirname(here), readlinkSync(here)))
    }
    if (!isInside(target, root)) {
      throw new WorkspaceError(rel, `The path ${rel} passes through ${relative(root, here)}, a symlink to a place outside the workspace root; ` +
        'name a path inside the root or replace the link with a real folder or file.')
    }
  }
}

/**
 * Resolve a check's file at check time. The realpath is taken now, so a symlink planted after the task
 * was created is judged by where it points today; one pointing outside is refused, never read.
 *
 * @param root the workspace root (a realpath)
 * @param rel the check's path, relative to `root`
 * @returns `{ abs }`, the file's realpath inside `root`, or `{ missing: true }` when nothing is there
 *   (including a dangling symlink or a path through a regular file)
 * @throws WorkspaceError when the path is absolute, leaves the root, or resolves outside it
 */
export async function openInside (root: string, rel: string): Promise<{ abs: string } | { missing: true }> {
  const abs = lexicalInside(root, rel)
  let real: string
  try {
    real = await realpath(abs)
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return { missing: true }
    if (errorCode(err) === 'ELOOP') throw new WorkspaceError(rel, `${rel} is a symlink loop; replace it with the file itself.`)
    throw new WorkspaceError(rel, `${rel} cannot be resolved (${errorCode(err) ?? String(err)}); make it readable.`)
  }
  if (!isInside(real, root)) {
    throw new WorkspaceError(rel, `${rel} resolves through a symlink to a place outside the workspace root, so it was not read; ` +
      'replace the link with the file itself.')
  }
  return { abs: real }
}
