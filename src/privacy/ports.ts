// What erasure, retention and access exports need from the rest of the system, as ports that privacy owns:
// the live engine's accounts (the actor runtime implements AccountHost) and a store with tombstones and an
// audit trail (src/store/ implements PrivacyStore). Privacy imports neither the runtime nor SQLite.
import type { Account } from '../account/account.js'
import type { Store, StoredHousehold } from '../ports/store.js'
import type { AuditLog } from './audit.js'

/** What of an account's input an erasure took back: positions up to which it is skipped when replayed. */
export interface ErasedInput {
  /** Every event of the account at or below this position. */
  upTo: number
  /** Device pseudonym → events of that device at or below this position. */
  readonly devices: Map<string, number>
}

/** Changes an account between its actor's turns (erasure, retention); see ActorRuntime.modify. */
export type ModifyFn<R> = (a: Account | undefined, persist: () => StoredHousehold) => R

/** The live engine's accounts: what erasure and retention change in memory (ActorRuntime implements it). */
export interface AccountHost {
  /** Runs fn on the account where none of its refits is under way (resident, else from its snapshot). */
  modify<R>(account: string, fn: ModifyFn<R>): Promise<R>
  /** The account's actor leaves memory with its queued input; returns the events dropped. */
  drop(account: string): number
  /** Adds a device erasure to a resident account's skip rule. */
  eraseInput(account: string, device: string, upTo: number): void
  /** The last message sequence of the partition delivered so far. */
  deliveredUpTo(partition: number): number
  /** Accounts resident in memory (copy before awaiting). */
  residentAccounts(): Iterable<string>
}

export type TombstoneScope = 'account' | 'person' | 'device'

/** A pseudonymous record of an erasure (docs/privacy.md): what it took back, and what is still to delete. */
export interface Tombstone {
  /** The account's a_… pseudonym (never the account token). */
  readonly account: string
  readonly scope: TombstoneScope
  /** '' for an account, the person id, or the device's d_… pseudonym. */
  readonly target: string
  /** Input position (sequence × POSITION_STRIDE + index) up to which replayed events are skipped; 0: none. */
  readonly position: number
  /** Epoch ms. */
  readonly erasedAt: number
  /** Stream sequences whose messages are still to be deleted (empty once the stream is clean). */
  readonly pending: readonly number[]
}

/** Where tombstones are kept. */
export interface Tombstones {
  /** Records an erasure (a repeated one keeps the highest position and replaces what is pending). */
  put(t: Tombstone): void
  /** Every tombstone, oldest first. */
  all(): Tombstone[]
  /** The stream no longer holds the tombstone's raw events. */
  settle(t: Pick<Tombstone, 'account' | 'scope' | 'target'>): void
}

/** The store as privacy needs it: snapshots and journeys, transactions, tombstones, the audit trail, WAL truncation. */
export interface PrivacyStore extends Store {
  /** Runs fn in one transaction: all of it is written or none. */
  transaction<T>(fn: () => T): T
  tombstones(): Tombstones
  auditLog(): AuditLog
  /** Checkpoints and truncates the WAL (so that deleted bytes leave it); false when a reader kept it. */
  checkpoint(): boolean
}
