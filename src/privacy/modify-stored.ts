// Where a household is changed for privacy (erasure, retention): the one rule for "change it live, or on the
// stopped file". A running engine's runtime changes it between the actor's turns (ActorRuntime.modify); a
// stopped engine's store is changed directly. Either way fn gets the household (undefined: none is stored) and
// `persist`, which returns the record to commit after fn's changes (the caller commits it with what goes along).
import type { Household, HouseholdOptions } from '../model/household.js'
import { modifyInStore, type ActorRuntime } from '../runtime/runtime.js'
import type { SnapshotStore, StoredHousehold } from '../runtime/store.js'

export type ModifyFn<R> = (h: Household | undefined, persist: () => StoredHousehold) => R

export function modifyStored<R>(
  where: { runtime?: ActorRuntime, store: SnapshotStore, household?: HouseholdOptions }, account: string, fn: ModifyFn<R>,
): Promise<R> {
  if (where.runtime) return where.runtime.modify(account, fn)
  return Promise.resolve(modifyInStore(where.store, account, where.household ?? {}, fn))
}
