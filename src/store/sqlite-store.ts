// The runtime's SnapshotStore on one SQLite file (better-sqlite3, WAL). Synchronous on purpose: a commit is
// one transaction over prepared statements, with no await inside it (../shared/DESIGN.md, Storage).
import { existsSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { checkOptionNames, OptionError } from '../options/check.js'
import type { JourneyPath, JourneyRecord } from '../attribution/ledger.js'
import type { ClockState, StoredTimer } from '../ports/store.js'
import { householdProblem, positionProblem, eventTimeProblem, type CommitBatch, type JourneyQuery, type JourneyStore, type SnapshotStore, type StoredHousehold } from '../ports/store.js'
import { AuditLog } from '../privacy/audit.js'
import { StoreError } from './errors.js'
import { JourneyTable } from './journeys.js'
import { migrate } from './migrations.js'
import { TombstoneTable } from './tombstones.js'

/** How hard a commit is pushed to disk; see StoreOptions.durability. */
export type Durability = 'normal' | 'full'

/** Default of StoreOptions.durability. */
export const DEFAULT_DURABILITY: Durability = 'normal'
/** How long a write waits for another connection's lock before it fails with SQLITE_BUSY, ms. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000
/** Size the WAL is cut back to after a checkpoint, bytes (it otherwise stays as large as the largest batch made it). */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
/** Accounts fetched per query while accounts() iterates, so no statement stays open between pages. */
export const ACCOUNTS_PAGE = 1_000

/** Options of openStore(). */
export interface StoreOptions {
  /**
   * 'normal' (default): WAL with synchronous = NORMAL. The WAL is fsynced at checkpoints, not at each commit,
   * so the file is always consistent (a commit is whole or absent), survives a process crash whole, and on a
   * power loss or OS crash may lose the commits since the last checkpoint. Those lost commits' snapshots and
   * positions go together, so recovery replays a little more from the stream, which is safe while the stream
   * still holds those messages. 'full': fsync at every commit; nothing committed is lost, at the cost of one
   * fsync per batch (docs/storage.md has the numbers).
   */
  durability?: Durability
  /** How long to wait for another connection's lock, ms. Default DEFAULT_BUSY_TIMEOUT_MS. */
  busyTimeoutMs?: number
  /** Binds the file to this partition count at open (see SqliteStore.bindPartitions). */
  partitions?: number
}

const OPTION_NAMES = ['durability', 'busyTimeoutMs', 'partitions']
const RESERVED_META = 'store.' // meta keys the store itself owns
const PARTITIONS_KEY = `${RESERVED_META}partitions`

interface Statements {
  readonly load: Database.Statement<[string]>
  readonly upsertHousehold: Database.Statement<[string, number, number, Uint8Array, number, number | null]>
  readonly upsertPosition: Database.Statement<[number, number]>
  readonly upsertEventTime: Database.Statement<[number, number | null]>
  readonly positions: Database.Statement<[]>
  readonly eventTimes: Database.Statement<[]>
  readonly timers: Database.Statement<[]>
  readonly count: Database.Statement<[]>
  readonly exists: Database.Statement<[string]>
  readonly accountsAfter: Database.Statement<[string, number]>
  readonly delete: Database.Statement<[string]>
  readonly getMeta: Database.Statement<[string]>
  readonly setMeta: Database.Statement<[string, string]>
}

interface Open extends Statements {
  readonly phase: 'open'
  readonly db: Database.Database
  readonly commit: Database.Transaction<(batch: CommitBatch, now: number) => void>
  readonly journeys: JourneyTable
}

/** Opens (creating and migrating as needed) the idr store in `file`. */
export function openStore(file: string, options: StoreOptions = {}): SqliteStore {
  return new SqliteStore(file, options)
}

/** SnapshotStore on a SQLite file; also holds the file's meta entries and its partition binding. */
export class SqliteStore implements SnapshotStore, JourneyStore {
  /** The database file's path. */
  readonly file: string
  private state: Open | { readonly phase: 'closed' }
  private partitions: number | undefined // the bound count, once known
  /**
   * The households count, kept so that /metrics does not scan the table at every scrape: counted once, then
   * moved by this connection's commits; recounted after a delete or a transaction (which may roll back), and
   * when PRAGMA data_version says another connection committed.
   */
  private counted: { n: number, version: number } | undefined
  private added = 0 // new households of the commit under way

  constructor(file: string, options: StoreOptions = {}) {
    const o = resolveOptions(options)
    this.file = file
    if (!existsSync(dirname(file))) throw new StoreError('BAD_FILE', `${file}: the directory ${dirname(file)} does not exist`)
    let db: Database.Database | undefined
    try {
      db = new Database(file, { timeout: o.busyTimeoutMs })
      configure(db, o.durability)
      migrate(db)
      const st = statements(db)
      const journeys = new JourneyTable(db)
      const commit = db.transaction((batch: CommitBatch, now: number) => this.writeBatch(st, journeys, batch, now))
      this.state = { phase: 'open', db, ...st, commit, journeys }
      const bound = st.getMeta.get(PARTITIONS_KEY) as string | undefined
      if (bound !== undefined) this.partitions = Number(bound)
      if (o.partitions !== undefined) this.bindPartitions(o.partitions)
    } catch (e) {
      db?.close()
      throw asStoreError(e, file)
    }
  }

  load(account: string): StoredHousehold | undefined {
    const row = this.open().load.get(account) as [number, number, Buffer, number | null] | undefined
    if (row === undefined) return undefined
    const [partition, seq, blob, timerAt] = row
    // better-sqlite3 copies each blob into a Buffer of its own, so a view over it is copy-free and aliases nothing.
    const h = { account, partition, seq, snapshot: new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength) }
    return timerAt === null ? h : { ...h, timerAt }
  }

  commit(batch: CommitBatch): void {
    const s = this.open()
    this.added = 0
    try {
      s.commit.immediate(batch, Date.now())
      if (this.counted) this.counted.n += this.added
    } catch (e) {
      if (e instanceof Database.SqliteError && e.code.startsWith('SQLITE_CONSTRAINT')) {
        throw new StoreError('BAD_RECORD', `commit: ${e.message}; nothing of the batch was written`, { cause: e })
      }
      throw e
    }
  }

  positions(): Map<number, number> {
    return new Map(this.open().positions.all() as [number, number][])
  }

  clock(): ClockState {
    const s = this.open()
    const eventTimes = new Map((s.eventTimes.all() as [number, number | null][]).map(([p, t]) => [p, t ?? -Infinity]))
    const timers = (s.timers.all() as [string, number, number][]).map(([account, partition, timerAt]): StoredTimer => ({ account, partition, timerAt }))
    return { eventTimes, timers }
  }

  count(): number {
    const s = this.open()
    const version = s.db.pragma('data_version', { simple: true }) as number
    if (this.counted?.version === version) return this.counted.n
    const n = s.count.get() as number
    this.counted = { n, version }
    return n
  }

  /** Pages through the accounts (SQLite BINARY order, i.e. by UTF-8 bytes), so commits may run between pages. */
  *accounts(): IterableIterator<string> {
    let after = '' // accounts are non-empty, so every one sorts after ''
    for (;;) {
      const page = this.open().accountsAfter.all(after, ACCOUNTS_PAGE) as string[]
      yield* page
      if (page.length < ACCOUNTS_PAGE) return
      after = page[page.length - 1]!
    }
  }

  /** Deletes the row; secure_delete zeroes its bytes in the database pages. Call checkpoint() to clear the WAL too. */
  delete(account: string): boolean {
    this.counted = undefined
    return this.open().delete.run(account).changes > 0
  }

  journeys(q: JourneyQuery, each: (r: JourneyRecord, account: string) => void): number {
    return this.open().journeys.query(q, each)
  }

  journeyPaths(q: JourneyQuery, each: (p: JourneyPath) => void): number {
    return this.open().journeys.paths(q, each)
  }

  /** Deletes journeys (secure_delete zeroes them too); inside transaction() when it goes with other changes. */
  deleteJourneys(account: string, which?: (r: JourneyRecord) => boolean): number {
    return this.open().journeys.delete(account, which)
  }

  purgeJourneys(cutoffMs: number): number {
    return this.open().journeys.purgeBefore(cutoffMs)
  }

  /** Stored journeys. */
  journeyCount(): number {
    return this.open().journeys.count()
  }

  /**
   * Copies the WAL into the database file and truncates the WAL to 0 bytes, so erased rows leave the WAL as well.
   * False when another connection's reader kept it from completing (try again later).
   */
  checkpoint(): boolean {
    const [r] = this.open().db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[]
    return r?.busy === 0
  }

  /** A meta entry, or undefined. */
  getMeta(key: string): string | undefined {
    return this.open().getMeta.get(key) as string | undefined
  }

  /** Sets a meta entry (its own transaction). Keys starting with 'store.' are the store's own and refused. */
  setMeta(key: string, value: string): void {
    if (typeof key !== 'string' || typeof value !== 'string') {
      throw new StoreError('BAD_RECORD', `setMeta: key and value must be strings, got ${typeof key} and ${typeof value}`)
    }
    if (key.startsWith(RESERVED_META)) throw new StoreError('BAD_RECORD', `setMeta: keys starting with "${RESERVED_META}" belong to the store, got "${key}"`)
    this.open().setMeta.run(key, value)
  }

  /**
   * Records the partition count on first use and refuses another one later: stored positions are per partition,
   * so under another count they would skip or replay the wrong events. Commits then check partitions < of.
   */
  bindPartitions(of: number): void {
    checkPartitionCount(of)
    const s = this.open()
    s.db.transaction(() => {
      const stored = s.getMeta.get(PARTITIONS_KEY) as string | undefined
      if (stored === undefined) s.setMeta.run(PARTITIONS_KEY, String(of))
      else if (Number(stored) !== of) {
        throw new StoreError('PARTITIONS_CHANGED', `${this.file} holds positions for ${stored} partitions, not ${of}; run with ${stored} partitions, or start from an empty store and replay the streams`)
      }
    }).immediate()
    this.partitions = of
  }

  /** Closes the file; later calls on this store throw CLOSED. Closing twice is a no-op. */
  close(): void {
    if (this.state.phase === 'closed') return
    const { db } = this.state
    this.state = { phase: 'closed' }
    db.close()
  }

  /** The erasure tombstones kept in this file. */
  tombstones(): TombstoneTable {
    return new TombstoneTable(this.open().db)
  }

  /** Runs fn in one IMMEDIATE transaction (nested commits become savepoints): all of it is written or none. */
  transaction<T>(fn: () => T): T {
    this.counted = undefined
    try {
      return this.open().db.transaction(fn).immediate()
    } finally {
      this.counted = undefined // a count taken inside may have been rolled back
    }
  }

  /** The privacy audit trail kept in this file. */
  auditLog(): AuditLog {
    return new AuditLog(this.open().db)
  }

  private open(): Open {
    if (this.state.phase === 'closed') throw new StoreError('CLOSED', `${this.file}: the store is closed`)
    return this.state
  }

  // Same rules as MemoryStore, checked inside the transaction: a bad record rolls back the records before it.
  private writeBatch(s: Statements, journeys: JourneyTable, batch: CommitBatch, now: number): void {
    batch.households.forEach((h, i) => {
      const problem = householdProblem(h, i, this.partitions)
      if (problem) bad(problem)
      if (this.counted && s.exists.get(h.account) === undefined) this.added++
      s.upsertHousehold.run(h.account, h.partition, h.seq, h.snapshot, now, h.timerAt ?? null)
      if (h.journeys && h.journeys.length > 0) journeys.add(h.account, h.journeys)
    })
    for (const [partition, seq] of batch.positions) {
      const problem = positionProblem(partition, seq, this.partitions)
      if (problem) bad(problem)
      s.upsertPosition.run(partition, seq)
    }
    for (const [partition, t] of batch.eventTimes ?? []) {
      const problem = eventTimeProblem(partition, t, this.partitions)
      if (problem) bad(problem)
      s.upsertEventTime.run(partition, t === -Infinity ? null : t)
    }
  }
}

function resolveOptions(options: StoreOptions): Required<Omit<StoreOptions, 'partitions'>> & Pick<StoreOptions, 'partitions'> {
  if (typeof options !== 'object' || options === null) throw new OptionError(`openStore: options must be an object, got ${String(options)}`)
  checkOptionNames('openStore', options, OPTION_NAMES)
  const { durability = DEFAULT_DURABILITY, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS, partitions } = options
  if (durability !== 'normal' && durability !== 'full') {
    throw new OptionError(`durability must be 'normal' or 'full', got ${String(durability)}`)
  }
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new OptionError(`busyTimeoutMs must be an integer ≥ 0 (ms), got ${String(busyTimeoutMs)}`)
  }
  if (partitions !== undefined) checkPartitionCount(partitions)
  return { durability, busyTimeoutMs, partitions }
}

function checkPartitionCount(of: number): void {
  if (!Number.isSafeInteger(of) || of < 1) throw new OptionError(`partitions must be a positive integer, got ${String(of)}`)
}

// Pragmas are per connection (journal_mode = WAL persists in the file, the others do not), so every open sets them.
function configure(db: Database.Database, durability: Durability): void {
  const mode = db.pragma('journal_mode = WAL', { simple: true })
  if (mode !== 'wal') throw new StoreError('BAD_FILE', `${db.name}: could not switch to WAL (journal_mode stays ${String(mode)}); is it on a network file system?`)
  // In WAL mode NORMAL only skips the fsync per commit: the file stays consistent, recent commits may be lost on power loss.
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`)
  db.pragma('secure_delete = ON') // freed and overwritten content is zeroed, so erased snapshots do not linger in free pages
  db.pragma('foreign_keys = ON')
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`)
}

function statements(db: Database.Database): Statements {
  return {
    load: db.prepare<[string]>('SELECT partition, seq, snapshot, timer_at FROM households WHERE account = ?').raw(),
    upsertHousehold: db.prepare<[string, number, number, Uint8Array, number, number | null]>(
      `INSERT INTO households (account, partition, seq, snapshot, updated_at, timer_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (account) DO UPDATE SET partition = excluded.partition, seq = excluded.seq,
         snapshot = excluded.snapshot, updated_at = excluded.updated_at, timer_at = excluded.timer_at`,
    ),
    upsertPosition: db.prepare<[number, number]>(
      'INSERT INTO positions (partition, seq) VALUES (?, ?) ON CONFLICT (partition) DO UPDATE SET seq = excluded.seq',
    ),
    // a partition's event time goes with its position, written in the same commit (so its row exists already)
    upsertEventTime: db.prepare<[number, number | null]>(
      'INSERT INTO positions (partition, seq, event_time) VALUES (?, 0, ?) ON CONFLICT (partition) DO UPDATE SET event_time = excluded.event_time',
    ),
    positions: db.prepare<[]>('SELECT partition, seq FROM positions').raw(),
    eventTimes: db.prepare<[]>('SELECT partition, event_time FROM positions').raw(),
    timers: db.prepare<[]>('SELECT account, partition, timer_at FROM households WHERE timer_at IS NOT NULL').raw(),
    count: db.prepare<[]>('SELECT count(*) FROM households').pluck(),
    exists: db.prepare<[string]>('SELECT 1 FROM households WHERE account = ?').pluck(),
    accountsAfter: db.prepare<[string, number]>('SELECT account FROM households WHERE account > ? ORDER BY account LIMIT ?').pluck(),
    delete: db.prepare<[string]>('DELETE FROM households WHERE account = ?'),
    getMeta: db.prepare<[string]>('SELECT value FROM meta WHERE key = ?').pluck(),
    setMeta: db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
  }
}

function bad(message: string): never {
  throw new StoreError('BAD_RECORD', `${message}; nothing of the batch was written`)
}

// Not a database, or not openable: a typed BAD_FILE; anything else (StoreError, I/O) passes through.
function asStoreError(e: unknown, file: string): unknown {
  if (e instanceof Database.SqliteError && ['SQLITE_NOTADB', 'SQLITE_CANTOPEN', 'SQLITE_CORRUPT'].includes(e.code)) {
    return new StoreError('BAD_FILE', `${file}: ${e.message}`, { cause: e })
  }
  return e
}
