/**
 * Read a check's file from the workspace, bounded, as text. Every way the file can be unusable is an
 * answer with a message naming the file and the fix, never a thrown error: the worker reads it.
 */
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { openInside, WorkspaceError } from './workspace.js'

/** Default largest file a check reads, in bytes (2 MiB). */
export const MAX_FILE_BYTES = 2 * 1024 * 1024

/**
 * A file as checks see it. `text` is at most `maxBytes` bytes of it, decoded as UTF-8 without a BOM;
 * `truncated` says the file is longer (`size` is its length in bytes at open time).
 */
export type FileRead =
  | { ok: true, size: number, text: string, truncated: boolean }
  | { ok: false, missing: boolean, message: string }

/** `1536` → `1.5 KiB`; sizes in messages. */
export function formatBytes (n: number): string {
  if (n < 1024) return `${n} bytes`
  const units = ['KiB', 'MiB', 'GiB']
  let value = n / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${Number(value.toFixed(1))} ${units[unit]}`
}

/**
 * Read `rel` under `root`.
 *
 * @param root workspace root (a realpath)
 * @param rel the check's path, relative to root
 * @param maxBytes most bytes read; a longer file is read up to it and marked `truncated`
 */
export async function readCheckedFile (root: string, rel: string, maxBytes: number): Promise<FileRead> {
  let target: { abs: string } | { missing: true }
  try {
    target = await openInside(root, rel)
  } catch (err) {
    if (err instanceof WorkspaceError) return { ok: false, missing: false, message: err.message }
    throw err
  }
  if ('missing' in target) return { ok: false, missing: true, message: `${rel} does not exist; write it, then report again.` }
  // O_NOFOLLOW: the realpath was just checked; refuse if the last component became a link since.
  // O_NONBLOCK: opening a FIFO planted in the workspace must not hang the server.
  let handle
  try {
    handle = await open(target.abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    if (code === 'ELOOP') {
      return { ok: false, missing: false, message: `${rel} became a symlink while it was checked, so it was not read; replace it with the file itself.` }
    }
    return { ok: false, missing: false, message: `${rel} cannot be opened (${code}); make it a readable file, then report again.` }
  }
  try {
    const stat = await handle.stat()
    if (stat.isDirectory()) return { ok: false, missing: false, message: `${rel} is a directory, not a file; write the file there, then report again.` }
    if (!stat.isFile()) return { ok: false, missing: false, message: `${rel} is not a regular file; write a plain file, then report again.` }
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1)
    let length = 0
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length)
      if (bytesRead === 0) break
      length += bytesRead
    }
    const truncated = length > maxBytes
    const text = buffer.subarray(0, Math.min(length, maxBytes)).toString('utf8').replace(/^\uFEFF/, '')
    return { ok: true, size: Math.max(stat.size, length), text, truncated }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    return { ok: false, missing: false, message: `${rel} cannot be read (${code}); make it a readable file, then report again.` }
  } finally {
    await handle.close()
  }
}
