// Where an account is changed for privacy (erasure, retention): the one rule for "change it live, or on the
// stopped file". A running engine's accounts are changed between the actor's turns (AccountHost.modify); a
// stopped engine's store is changed directly (modifyInStore, which the runtime uses for passivated actors too).
// Either way fn gets the account (undefined: none is stored) and `persist`, which returns the record to commit
// after fn's changes (the caller commits it with what goes along).
import { Account, type AccountOptions } from '../account/account.js'
import { modifyInStore, type SnapshotStore } from '../ports/store.js'
import type { AccountHost, ModifyFn } from './ports.js'

export function modifyStored<R>(where: { runtime?: AccountHost, store: SnapshotStore, household?: AccountOptions }, account: string, fn: ModifyFn<R>): Promise<R> {
  if (where.runtime) return where.runtime.modify(account, fn)
  const codec = { restore: (key: string, bytes: Uint8Array) => Account.fromSnapshot(key, bytes, where.household ?? {}), snapshot: (a: Account) => a.takeSnapshot() }
  return Promise.resolve(modifyInStore(where.store, codec, account, fn))
}
