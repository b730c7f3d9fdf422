/**
 * A store wrapper for fault tests: delays every call and its answer (a store across a network, as
 * PostgreSQL is), fails chosen transactions, runs a hook between a call (a commit, a read) and its
 * answer, and counts what it was asked to do.
 */
import { CoordError } from '../src/errors.js'
import type { Store } from '../src/store/store.js'

/** Knobs and counters of a wrapped store. */
export interface Faults {
  /** Delay in ms before each store call (reads and transactions) and again before its answer. */
  delayMs: number
  /** Fail the next this-many transactions with STORAGE_UNAVAILABLE. */
  failNext: number
  /** Also fail a transaction when this returns true (called once per transaction). */
  failWhen: () => boolean
  /** Run once, after the next call of `method` (e.g. a transaction's commit) and before its caller hears of it. */
  after: { method: keyof Store, run: () => Promise<unknown> } | undefined
  /** Transactions started (failed ones included). */
  transactions: number
}

/** Wrap `store`: every method waits `faults.delayMs`; `transact` fails while `faults.failNext > 0`. */
export function faulty (store: Store, init: Partial<Faults> = {}): { store: Store, faults: Faults } {
  const faults: Faults = { delayMs: 0, failNext: 0, failWhen: () => false, after: undefined, transactions: 0, ...init }
  const wait = (): Promise<void> => (faults.delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, faults.delayMs)) : Promise.resolve())
  const wrapped = new Proxy(store, {
    get (target, key, receiver) {
      const value = Reflect.get(target, key, receiver)
      if (typeof value !== 'function' || key === 'subscribe' || key === 'close') return typeof value === 'function' ? value.bind(target) : value
      return async (...args: unknown[]) => {
        await wait()
        if (key === 'transact') {
          faults.transactions++
          if (faults.failWhen() || faults.failNext > 0) {
            faults.failNext = Math.max(0, faults.failNext - 1)
            throw new CoordError('STORAGE_UNAVAILABLE', 'Storage unavailable: injected fault.')
          }
        }
        const result = await value.apply(target, args)
        const hook = faults.after
        if (hook !== undefined && hook.method === key) {
          faults.after = undefined
          await hook.run()
        }
        await wait()
        return result
      }
    },
  })
  return { store: wrapped, faults }
}
