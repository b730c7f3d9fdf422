/**
 * The presence changes of the lifecycle, each a function of one store transaction: a worker seen
 * (registered, or back online) and workers declared offline. The definition of the states is
 * `presenceState` (presence.ts); `operations.ts` re-exports these.
 *
 * Times are epoch ms (`now`); event payloads carry ISO strings.
 */
import type { StoreTx } from '../store/store.js'
import { event, iso } from './events.js'
import type { LostTask } from './presence.js'

/**
 * Record that a worker was seen: registers it on first sight (worker.registered), brings it back
 * online after it was declared offline (worker.online). Returns whether anything was written.
 */
export async function seeWorker (tx: StoreTx, worker: string, now: number): Promise<void> {
  const w = await tx.worker(worker)
  if (w === null) {
    await tx.upsertWorker(worker, { firstSeenAt: now, lastSeenAt: now, offlineAt: null })
    await tx.appendEvent(event('worker.registered', now, { worker }, {}))
    return
  }
  if (w.offlineAt !== null) await tx.appendEvent(event('worker.online', now, { worker }, { offlineSince: iso(w.offlineAt) }))
  await tx.upsertWorker(worker, { lastSeenAt: Math.max(now, w.lastSeenAt), offlineAt: null })
}

/** A worker to declare offline (times in ms); `lost` names the task it lost to a lapsed lease, if any. */
export interface OfflineCandidate {
  id: string
  lastSeenAt: number
  lost?: LostTask | null
}

/**
 * Declare offline (worker.offline) those of `silent` that hold no live lease at `now` (see
 * `presenceState`): a worker whose lease is still live is working, however long it has been silent,
 * and is returned in `held` with its lease deadline instead. A lease past its deadline that the lease
 * timer has not ended yet counts as lost. The event names the lost task and its project (so a
 * project's feed and `coord wait` see it); a worker that lost nothing gets an event with no task.
 * Read and write in one transaction: a lease granted meanwhile cannot be missed, and a worker is
 * declared offline once. Returns the workers declared offline (with the task each lost) and those
 * held by a live lease. Times in ms.
 */
export async function markOffline (
  tx: StoreTx, silent: OfflineCandidate[], now: number
): Promise<{ offline: Array<{ id: string, lost: LostTask | null }>, held: Array<{ id: string, until: number }> }> {
  const offline: Array<{ id: string, lost: LostTask | null }> = []
  const held: Array<{ id: string, until: number }> = []
  for (const w of silent) {
    // Declared offline already (by the lease timer and the offline timer deciding at the same moment): once is enough.
    if ((await tx.worker(w.id))?.offlineAt != null) continue
    const live = await tx.liveLeaseOf(w.id)
    if (live !== null && live.expiresAt > now) {
      held.push({ id: w.id, until: live.expiresAt })
      continue
    }
    let lost = w.lost ?? null
    if (live !== null) {
      const t = await tx.task(live.taskId)
      if (t !== null) lost = { taskId: t.id, project: t.project }
    }
    await tx.upsertWorker(w.id, { lastSeenAt: w.lastSeenAt, offlineAt: now })
    await tx.appendEvent(event('worker.offline', now, { worker: w.id, taskId: lost?.taskId ?? null, project: lost?.project ?? null },
      { lastSeenAt: iso(w.lastSeenAt) }))
    offline.push({ id: w.id, lost })
  }
  return { offline, held }
}
