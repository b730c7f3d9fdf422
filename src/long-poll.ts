/** HTTP helpers shared by the long-poll routes (`GET /tasks/next`, `GET /events`, report-and-next). */
import type { FastifyReply } from 'fastify'
import type { Config } from './config.js'

/** An AbortSignal that fires when the client goes away before the answer is written. */
export function disconnectSignal (reply: FastifyReply): AbortSignal {
  const ac = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableEnded) ac.abort()
  })
  return ac.signal
}

/**
 * The wait to use, in milliseconds: `requested` seconds (or the configured default), capped at
 * COORD_MAX_WAIT_SECONDS.
 */
export function waitMs (config: Config, requested: number | undefined): number {
  return Math.min(requested ?? config.COORD_DEFAULT_WAIT_SECONDS, config.COORD_MAX_WAIT_SECONDS) * 1000
}
