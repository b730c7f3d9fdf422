/** A TCP port free on 127.0.0.1 right now, for a server child process the script starts. */
import { createServer } from 'node:net'

/** Asks the OS for a free port by listening on port 0 and closing again. @throws Error when no port is given */
export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))))
    })
  })
}
