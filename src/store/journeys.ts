// Completed marketing journeys in the store (schema 4): written with their household's snapshot in one
// transaction, read by the attribution report, deleted by erasure and retention (docs/attribution.md).
// A row: the account, level, person, end time, conversions, value, nulls, the touches (n CHANNELS indices,
// one byte each, then n touch times as float64 little-endian: one blob, because every blob column costs a
// report about a microsecond per row) and who (msgpack [devices per touch, persons per touch, the
// conversion's device]) for erasure.
import { decode, encode } from '@msgpack/msgpack'
import type Database from 'better-sqlite3'
import type { JourneyPath, JourneyRecord, JourneyTouch, LedgerLevel } from '../attribution/ledger.js'
import type { JourneyQuery } from '../ports/store.js'

type Row = [number, string, string, string, number, number, number, number, Buffer, Buffer]
const COLUMNS = 'id, account, level, person, end_ts, conversions, value, nulls, touches, who'
/** Bytes per touch in the touches blob: the channel, then (after all channels) its time. */
const TOUCH_BYTES = 9

export class JourneyTable {
  private readonly insert: Database.Statement<[string, string, string, number, number, number, number, Uint8Array, Uint8Array]>
  private readonly ofAccount: Database.Statement<[string]>
  private readonly deleteId: Database.Statement<[number]>
  private readonly deleteAccount: Database.Statement<[string]>
  private readonly purge: Database.Statement<[number]>
  private readonly countAll: Database.Statement<[]>

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare(`INSERT INTO journeys (account, level, person, end_ts, conversions, value, nulls, touches, who) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    this.ofAccount = db.prepare<[string]>(`SELECT ${COLUMNS} FROM journeys WHERE account = ?`).raw()
    this.deleteId = db.prepare('DELETE FROM journeys WHERE id = ?')
    this.deleteAccount = db.prepare('DELETE FROM journeys WHERE account = ?')
    this.purge = db.prepare('DELETE FROM journeys WHERE end_ts < ?')
    this.countAll = db.prepare<[]>('SELECT count(*) FROM journeys').pluck()
  }

  /** Appends an account's journeys (inside the caller's transaction). */
  add(account: string, records: readonly JourneyRecord[]): void {
    for (const r of records) {
      const n = r.touches.length
      const blob = new Uint8Array(n * TOUCH_BYTES)
      const view = new DataView(blob.buffer)
      r.touches.forEach((t, i) => {
        blob[i] = t.channel
        view.setFloat64(n + i * 8, t.ts, true)
      })
      const who = encode([r.touches.map((t) => t.device), r.touches.map((t) => t.person), r.convertDevice ?? null])
      this.insert.run(account, r.level, r.person, r.endTs, r.conversions, r.value, r.nulls, blob, who)
    }
  }

  /** Calls `each` for every journey the query selects (end time in [fromMs, toMs)); returns how many. */
  query(q: JourneyQuery, each: (r: JourneyRecord, account: string) => void): number {
    let n = 0
    for (const row of this.select(COLUMNS, q) as IterableIterator<Row>) {
      each(toRecord(row), row[1])
      n++
    }
    return n
  }

  /** The selection as paths: only the columns a report needs, nothing decoded that it does not. */
  paths(q: JourneyQuery, each: (p: JourneyPath) => void): number {
    let n = 0
    for (const [blob, conversions, value, nulls, endTs] of this.select('touches, conversions, value, nulls, end_ts', q, false) as IterableIterator<[Buffer, number, number, number, number]>) {
      const { channels, times } = unpack(blob)
      each({ channels, times, conversions, value, nulls, endTs })
      n++
    }
    return n
  }

  /** The selected columns' rows; in the order written, or in the order SQLite finds them (a report does not care). */
  private select(columns: string, q: JourneyQuery, ordered = true): IterableIterator<unknown> {
    const where: string[] = []
    const args: (string | number)[] = []
    if (q.level !== undefined) { where.push('level = ?'); args.push(q.level) }
    if (q.account !== undefined) { where.push('account = ?'); args.push(q.account) }
    if (q.person !== undefined) { where.push('person = ?'); args.push(q.person) }
    if (q.fromMs !== undefined) { where.push('end_ts >= ?'); args.push(q.fromMs) }
    if (q.toMs !== undefined) { where.push('end_ts < ?'); args.push(q.toMs) }
    const sql = `SELECT ${columns} FROM journeys${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}${ordered ? ' ORDER BY id' : ''}`
    return this.db.prepare(sql).raw().iterate(...args) as IterableIterator<unknown>
  }

  /** Deletes an account's journeys, or those of them `which` selects; returns how many. */
  delete(account: string, which?: (r: JourneyRecord) => boolean): number {
    if (!which) return this.deleteAccount.run(account).changes
    let n = 0
    for (const row of this.ofAccount.all(account) as Row[]) {
      if (which(toRecord(row))) n += this.deleteId.run(row[0]).changes
    }
    return n
  }

  /** Deletes journeys that ended before cutoffMs (retention); returns how many. */
  purgeBefore(cutoffMs: number): number {
    return this.purge.run(cutoffMs).changes
  }

  count(): number {
    return this.countAll.get() as number
  }
}

/** The touches blob as channel indices and times. */
function unpack(blob: Buffer): { channels: Uint8Array, times: Float64Array } {
  const n = blob.length / TOUCH_BYTES
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength)
  const times = new Float64Array(n)
  for (let i = 0; i < n; i++) times[i] = view.getFloat64(n + i * 8, true)
  return { channels: blob.subarray(0, n), times }
}

function toRecord(row: Row): JourneyRecord {
  const [, , level, person, endTs, conversions, value, nulls, blob, whoBlob] = row
  const [devices, persons, convertDevice] = decode(whoBlob) as [string[], string[], string | null]
  const { channels, times } = unpack(blob)
  const touches: JourneyTouch[] = []
  for (let i = 0; i < channels.length; i++) touches.push({ ts: times[i]!, channel: channels[i]!, device: devices[i]!, person: persons[i]! })
  const r = { level: level as LedgerLevel, person, endTs, conversions, value, nulls, touches }
  return convertDevice === null ? r : { ...r, convertDevice }
}
