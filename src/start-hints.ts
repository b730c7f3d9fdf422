/**
 * What a chat needs to start working with this server, stated once for the start-up log, `GET /`
 * and `/health`: the exact commands (the checkout's root executable by absolute path, with the
 * server's URL), the docs and where the rules are. A fresh chat copies the command as it is.
 */
import { join } from 'node:path'
import { packageRoot } from './paths.js'

/** Wait in seconds the printed worker command asks for: fits the common chat tools' command time limits (see README). */
export const SUGGESTED_WAIT_S = 540

/** The start-here facts for a server at `url`. */
export interface StartHints {
  /** Base URL, e.g. `http://127.0.0.1:3100`. */
  url: string
  docs: string
  openapi: string
  /** The root executable of this checkout, by absolute path. */
  cli: string
  worker: { command: string, rules: string }
  coordinator: { command: string, rules: string }
  curl: string
}

/**
 * The commands and documents for a server at `url`.
 * @param url the server's base URL, without a trailing slash
 */
export function startHints (url: string): StartHints {
  const cli = join(packageRoot, 'coord')
  return {
    url,
    docs: `${url}/docs`,
    openapi: `${url}/openapi.json`,
    cli,
    worker: {
      command: `${cli} next --worker <worker-id> --url ${url} --wait ${SUGGESTED_WAIT_S}`,
      rules: join(packageRoot, '.cursor', 'rules', 'worker-chat.mdc'),
    },
    coordinator: {
      command: `${cli} status --url ${url}`,
      rules: join(packageRoot, '.cursor', 'rules', 'coordinator-chat.mdc'),
    },
    curl: join(packageRoot, 'clients', 'curl.md'),
  }
}
