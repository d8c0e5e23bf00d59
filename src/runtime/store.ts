// What the runtime needs from durable storage. src/store/ implements it on SQLite; the runtime never imports SQLite.

/** Positions of events inside one message: a message carries at most this many events. */
export const POSITION_STRIDE = 16_384

/** One household's snapshot and the input it covers. */
export interface StoredHousehold {
  readonly account: string
  /** Partition of the account (fnv1a32(account) mod partitionsOf). */
  readonly partition: number
  /**
   * Input position of the last event applied to this state: stream sequence × POSITION_STRIDE + the event's
   * index in its message (a message may carry a batch). 0 when the input has no sequence (NATS core, in-process).
   */
  readonly seq: number
  /** Household.toSnapshot() bytes. */
  readonly snapshot: Uint8Array
}

/** A batch written atomically: snapshots, and per partition the stream sequence the whole partition is covered up to. */
export interface CommitBatch {
  readonly households: readonly StoredHousehold[]
  /** partition → every event with a stream sequence ≤ this is reflected in stored snapshots. */
  readonly positions: ReadonlyMap<number, number>
}

/** Durable household state. Synchronous by design: better-sqlite3 is synchronous and fast; no await inside a commit. */
export interface SnapshotStore {
  /** The latest snapshot of an account, or undefined when it has none. */
  load(account: string): StoredHousehold | undefined
  /** Writes the batch in one transaction: all of it or nothing. */
  commit(batch: CommitBatch): void
  /** Stored positions, partition → sequence covered. */
  positions(): Map<number, number>
  /** Accounts with a stored snapshot. */
  count(): number
  /** Every stored account (for tests and exports), in account order. */
  accounts(): IterableIterator<string>
  /** Deletes an account's snapshot (erasure); true when one existed. */
  delete(account: string): boolean
  close(): void
}
