// What the runtime, erasure and retention need from durable storage: the store port and its records. src/store/
// implements it on SQLite, src/runtime/memory-store.ts in memory; nothing above imports SQLite for it.
import { IdrError } from '../errors.js'
import type { JourneyPath, JourneyRecord, JourneySelection } from '../attribution/ledger.js'

/** Positions of events inside one message: a message carries at most this many events. */
export const POSITION_STRIDE = 16_384

/** An account's armed timer as stored with its snapshot (restored at start-up). */
export interface StoredTimer {
  readonly account: string
  readonly partition: number
  /** Fires once the partition's watermark is past this event time, epoch ms. */
  readonly timerAt: number
}

/** What the clock needs to resume after a restart: each partition's event time as of its stored position, and armed timers. */
export interface ClockState {
  /** partition → its newest event time as of the stored position (see EventClock.eventTimeAt). */
  readonly eventTimes: ReadonlyMap<number, number>
  readonly timers: Iterable<StoredTimer>
}

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
  /** The state's snapshot bytes (ActorHandler.snapshot; for accounts, Account.toSnapshot()). */
  readonly snapshot: Uint8Array
  /** Journeys the household completed since its last stored snapshot, written in the same transaction. */
  readonly journeys?: readonly JourneyRecord[]
  /** Deadline of the account's armed event-time timer, epoch ms (src/runtime/event-time.ts); absent: none. */
  readonly timerAt?: number
}

/** A state's snapshot and the side outputs it produced since the last one (written in the same transaction). */
export interface Snapshot {
  readonly bytes: Uint8Array
  /** Completed journeys (the side output there is today; drift and link records will join it). */
  readonly journeys: readonly JourneyRecord[]
}

/** How a state is read from and written to its snapshot (an ActorHandler has both). */
export interface StateCodec<S> {
  restore(key: string, bytes: Uint8Array): S
  /** The state as bytes, and the side outputs taken out of it since the last snapshot (each is written once). */
  snapshot(state: S): Snapshot
}

/** A snapshot's store record. */
export function storedRecord(account: string, partition: number, seq: number, s: Snapshot, timerAt: number | undefined): StoredHousehold {
  return { account, partition, seq, snapshot: s.bytes, journeys: s.journeys, timerAt }
}

/**
 * Runs fn on a key's state as its store holds it (not resident anywhere: a stopped engine's file, or a
 * passivated actor): the state rehydrated from its snapshot, else undefined. `persist()` returns the state's
 * record as it is after fn's changes (the caller commits it with whatever must go in the same transaction).
 */
export function modifyInStore<S, X>(store: SnapshotStore, codec: StateCodec<S>, account: string, fn: (s: S | undefined, persist: () => StoredHousehold) => X): X {
  const stored = store.load(account)
  if (!stored) return fn(undefined, () => { throw new IdrError('NOT_FOUND', `no household ${account} to persist`) })
  const state = codec.restore(account, stored.snapshot)
  return fn(state, () => storedRecord(account, stored.partition, stored.seq, codec.snapshot(state), stored.timerAt))
}

/** Which stored journeys: all, or by level, account, person and end time in [fromMs, toMs). */
export type JourneyQuery = JourneySelection

/** A batch written atomically: snapshots, and per partition the stream sequence the whole partition is covered up to. */
export interface CommitBatch {
  readonly households: readonly StoredHousehold[]
  /** partition → every event with a stream sequence ≤ this is reflected in stored snapshots. */
  readonly positions: ReadonlyMap<number, number>
  /** partition → its newest event time as of that position (stored with it; src/runtime/event-time.ts). */
  readonly eventTimes?: ReadonlyMap<number, number>
}

/**
 * Durable household state: what the actor runtime needs. Synchronous by design: better-sqlite3 is synchronous
 * and fast; no await inside a commit. The journeys a commit carries are written with it (see JourneyStore for
 * reading them back).
 */
export interface SnapshotStore {
  /** The latest snapshot of an account, or undefined when it has none. */
  load(account: string): StoredHousehold | undefined
  /** Writes the batch in one transaction: all of it or nothing. */
  commit(batch: CommitBatch): void
  /** Stored positions, partition → sequence covered. */
  positions(): Map<number, number>
  /** What the event clock resumes from: the event times stored with the positions, and the armed timers of stored households. */
  clock(): ClockState
  /** Accounts with a stored snapshot. */
  count(): number
  /** Every stored account (for tests and exports), in account order. */
  accounts(): IterableIterator<string>
  /** Deletes an account's snapshot (erasure); true when one existed. Its journeys are deleteJourneys' to remove. */
  delete(account: string): boolean
  close(): void
}

/** The completed journeys commits wrote: what the attribution report, erasure and retention read and remove. */
export interface JourneyStore {
  /** Calls `each` with every stored journey the query selects, in the order written; returns how many. */
  journeys(q: JourneyQuery, each: (r: JourneyRecord, account: string) => void): number
  /** The same selection as paths only (what a report reads: no devices, persons or accounts; faster). */
  journeyPaths(q: JourneyQuery, each: (p: JourneyPath) => void): number
  /** Deletes an account's journeys, or those of them `which` selects (erasure); returns how many. */
  deleteJourneys(account: string, which?: (r: JourneyRecord) => boolean): number
  /** Deletes journeys that ended before cutoffMs (retention); returns how many. */
  purgeJourneys(cutoffMs: number): number
}

/** A store of both (SqliteStore, MemoryStore): what the engine, erasure and retention are given. */
export type Store = SnapshotStore & JourneyStore

/** What is wrong with a commit's household record (both stores apply the same rules), or undefined. */
export function householdProblem(h: StoredHousehold, i: number, partitions?: number): string | undefined {
  const at = `commit: households[${i}]`
  if (typeof h !== 'object' || h === null) return `${at} must be an object, got ${String(h)}`
  if (typeof h.account !== 'string' || h.account.length === 0) return `${at}.account must be a non-empty string, got ${show(h.account)}`
  if (!isPartition(h.partition, partitions)) return `${at}.partition ${partitionRule(partitions)}, got ${show(h.partition)}`
  if (!isSeq(h.seq)) return `${at}.seq must be an integer ≥ 0, got ${show(h.seq)}`
  if (!(h.snapshot instanceof Uint8Array)) return `${at}.snapshot must be a Uint8Array, got ${show(h.snapshot)}`
  if (h.journeys !== undefined && !Array.isArray(h.journeys)) return `${at}.journeys must be an array, got ${show(h.journeys)}`
  if (h.timerAt !== undefined && !Number.isFinite(h.timerAt)) return `${at}.timerAt must be a finite number (epoch ms), got ${show(h.timerAt)}`
  return undefined
}

/** What is wrong with a commit's event-time entry (epoch ms, or −Infinity before a partition's first event), or undefined. */
export function eventTimeProblem(partition: number, t: number, partitions?: number): string | undefined {
  if (!isPartition(partition, partitions)) return `commit: event-time partition ${partitionRule(partitions)}, got ${show(partition)}`
  if (typeof t !== 'number' || Number.isNaN(t) || t === Infinity) return `commit: event time of partition ${partition} must be epoch ms or -Infinity, got ${show(t)}`
  return undefined
}

/** What is wrong with a commit's position entry, or undefined. */
export function positionProblem(partition: number, seq: number, partitions?: number): string | undefined {
  if (!isPartition(partition, partitions)) return `commit: position partition ${partitionRule(partitions)}, got ${show(partition)}`
  if (!isSeq(seq)) return `commit: position of partition ${partition} must be an integer ≥ 0, got ${show(seq)}`
  return undefined
}

const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
const isPartition = (v: unknown, of: number | undefined): v is number => isSeq(v) && (of === undefined || v < of)
const partitionRule = (of: number | undefined): string => (of === undefined ? 'must be an integer ≥ 0' : `must be an integer in [0, ${of})`)
const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : v instanceof Object ? v.constructor.name : String(v))
