/**
 * The coordinator's place in the event feed, kept between `coord wait` runs (each a fresh process)
 * and MCP `wait_for` calls: the last event seq seen, per server (the state directory is keyed by
 * server) and project, in `coordinator-<project>.json` (`coordinator.json` for every project).
 * Written atomically (write-file-atomic), so a crash leaves the old or the new cursor.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import writeFileAtomic from 'write-file-atomic'

/** Path of the cursor file for `project` (null = the whole feed) in state directory `dir`. */
export function cursorFile (dir: string, project: string | null): string {
  return join(dir, project === null ? 'coordinator.json' : `coordinator-${project}.json`)
}

/** The saved last-seen seq, or 0 when none was saved (or the file is unreadable: start from the beginning). */
export function loadCursor (dir: string, project: string | null): number {
  try {
    const data = JSON.parse(readFileSync(cursorFile(dir, project), 'utf8')) as { after?: unknown }
    return Number.isSafeInteger(data.after) && (data.after as number) >= 0 ? data.after as number : 0
  } catch {
    return 0
  }
}

/** Save `after` as the last-seen seq for `project`. */
export function saveCursor (dir: string, project: string | null, after: number): void {
  mkdirSync(dir, { recursive: true })
  writeFileAtomic.sync(cursorFile(dir, project), JSON.stringify({ project, after, updatedAt: new Date().toISOString() }) + '\n')
}
