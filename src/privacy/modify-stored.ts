// Where a household is changed for privacy (erasure, retention): the one rule for "change it live, or on the
// stopped file". A running engine's runtime changes it between the actor's turns (ActorRuntime.modify); a
// stopped engine's store is changed directly. Either way fn gets the household (undefined: none is stored) and
// `persist`, which returns the record to commit after fn's changes (the caller commits it with what goes along).
import { IdrError } from '../errors.js'
import { Household, type HouseholdOptions } from '../model/household.js'
import type { ActorRuntime } from '../runtime/runtime.js'
import { householdRecord, type SnapshotStore, type StoredHousehold } from '../runtime/store.js'

export type ModifyFn<R> = (h: Household | undefined, persist: () => StoredHousehold) => R

export function modifyStored<R>(
  where: { runtime?: ActorRuntime, store: SnapshotStore, household?: HouseholdOptions }, account: string, fn: ModifyFn<R>,
): Promise<R> {
  if (where.runtime) return where.runtime.modify(account, fn)
  const stored = where.store.load(account)
  if (!stored) return Promise.resolve(fn(undefined, () => { throw new IdrError('NOT_FOUND', `no household ${account} to persist`) }))
  const h = Household.fromSnapshot(account, stored.snapshot, where.household ?? {})
  return Promise.resolve(fn(h, () => householdRecord(account, stored.partition, stored.seq, h, stored.timerAt)))
}
