/**
 * The stores the suites run against. Behaviour tests build their app on the store named by
 * COORD_TEST_STORE (`file`, the default and what production uses, or `memory`); the contract suite
 * runs every factory. A PostgreSQL store adds its factory here.
 */
import { join } from 'node:path'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { openSqliteStore } from '../src/store/sqlite-open.js'
import type { Store } from '../src/store/store.js'

/** Opens a fresh, empty store. */
export type StoreFactory = () => Promise<Store>

const factories: Record<string, StoreFactory> = {
  file: async () => openSqliteStore(join(mkdtempSync(join(tmpdir(), 'coord-store-')), 'coord.db')),
  memory: async () => openSqliteStore(':memory:'),
}

/** Every factory, by name, for the contract suite. */
export function storeFactories (): Array<[string, StoreFactory]> {
  return Object.entries(factories).map(([name, f]) => [`sqlite ${name}`, f])
}

/** The factory behaviour tests use, chosen by COORD_TEST_STORE. @throws Error for an unknown name */
export function behaviourStore (): StoreFactory {
  const name = process.env.COORD_TEST_STORE ?? 'file'
  const f = factories[name]
  if (f === undefined) throw new Error(`COORD_TEST_STORE=${name}: no such store; use one of ${Object.keys(factories).join(', ')}`)
  return f
}
