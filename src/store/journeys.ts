// Completed marketing journeys in the store (schema 4): written with their household's snapshot in one
// transaction, read by the attribution report, deleted by erasure and retention (docs/attribution.md).
// A row: the account, level, person, end time, conversions, value, nulls, the path (one CHANNELS index per
// touch), the touch times (float64 little-endian) and who (msgpack [devices per touch, persons per touch,
// the conversion's device]) for erasure.
import { decode, encode } from '@msgpack/msgpack'
import type Database from 'better-sqlite3'
import type { JourneyRecord, JourneyTouch, LedgerLevel } from '../attribution/ledger.js'
import type { JourneyQuery } from '../runtime/store.js'

type Row = [number, string, string, string, number, number, number, number, Buffer, Buffer, Buffer]
const COLUMNS = 'id, account, level, person, end_ts, conversions, value, nulls, path, times, who'

export class JourneyTable {
  private readonly insert: Database.Statement<[string, string, string, number, number, number, number, Uint8Array, Uint8Array, Uint8Array]>
  private readonly ofAccount: Database.Statement<[string]>
  private readonly deleteId: Database.Statement<[number]>
  private readonly deleteAccount: Database.Statement<[string]>
  private readonly purge: Database.Statement<[number]>
  private readonly countAll: Database.Statement<[]>

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare(`INSERT INTO journeys (account, level, person, end_ts, conversions, value, nulls, path, times, who) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
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
      const path = new Uint8Array(n)
      const times = new Float64Array(n)
      r.touches.forEach((t, i) => { path[i] = t.channel; times[i] = t.ts })
      const who = encode([r.touches.map((t) => t.device), r.touches.map((t) => t.person), r.convertDevice ?? null])
      this.insert.run(account, r.level, r.person, r.endTs, r.conversions, r.value, r.nulls, path, new Uint8Array(times.buffer), who)
    }
  }

  /** Calls `each` for every journey the query selects (end time in [fromMs, toMs)); returns how many. */
  query(q: JourneyQuery, each: (r: JourneyRecord, account: string) => void): number {
    const where: string[] = []
    const args: (string | number)[] = []
    if (q.level !== undefined) { where.push('level = ?'); args.push(q.level) }
    if (q.account !== undefined) { where.push('account = ?'); args.push(q.account) }
    if (q.person !== undefined) { where.push('person = ?'); args.push(q.person) }
    if (q.fromMs !== undefined) { where.push('end_ts >= ?'); args.push(q.fromMs) }
    if (q.toMs !== undefined) { where.push('end_ts < ?'); args.push(q.toMs) }
    const sql = `SELECT ${COLUMNS} FROM journeys${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`
    let n = 0
    for (const row of this.db.prepare(sql).raw().iterate(...args) as IterableIterator<Row>) {
      each(toRecord(row), row[1])
      n++
    }
    return n
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

function toRecord(row: Row): JourneyRecord {
  const [, , level, person, endTs, conversions, value, nulls, path, timesBlob, whoBlob] = row
  const [devices, persons, convertDevice] = decode(whoBlob) as [string[], string[], string | null]
  const times = new DataView(timesBlob.buffer, timesBlob.byteOffset, timesBlob.byteLength)
  const touches: JourneyTouch[] = []
  for (let i = 0; i < path.length; i++) touches.push({ ts: times.getFloat64(i * 8, true), channel: path[i]!, device: devices[i]!, person: persons[i]! })
  const r = { level: level as LedgerLevel, person, endTs, conversions, value, nulls, touches }
  return convertDevice === null ? r : { ...r, convertDevice }
}
