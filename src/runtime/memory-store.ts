// SnapshotStore in memory: for embedding without a file, and for runtime tests. Nothing survives the process.
import { pathOf, selects, type JourneyPath, type JourneyRecord } from '../attribution/ledger.js'
import { IdrError } from '../errors.js'
import type { ClockState, StoredTimer } from '../ports/store.js'
import { householdProblem, positionProblem, eventTimeProblem, type CommitBatch, type JourneyQuery, type JourneyStore, type SnapshotStore, type StoredHousehold } from '../ports/store.js'

/** A Map-backed SnapshotStore that copies bytes in and out, so no caller can alias what it holds. */
export class MemoryStore implements SnapshotStore, JourneyStore {
  private readonly households = new Map<string, StoredHousehold>()
  private readonly stored = new Map<number, number>()
  private readonly eventTimes = new Map<number, number>()
  private journeyRows: { account: string, r: JourneyRecord }[] = []
  private closed = false

  load(account: string): StoredHousehold | undefined {
    const h = this.open().households.get(account)
    return h && { ...h, snapshot: h.snapshot.slice() }
  }

  /** Checks the whole batch first, then applies it: all of it or nothing, as SqliteStore. */
  commit(batch: CommitBatch): void {
    const s = this.open()
    batch.households.forEach((h, i) => {
      const problem = householdProblem(h, i)
      if (problem) bad(problem)
    })
    for (const [partition, seq] of batch.positions) {
      const problem = positionProblem(partition, seq)
      if (problem) bad(problem)
    }
    for (const [partition, w] of batch.eventTimes ?? []) {
      const problem = eventTimeProblem(partition, w)
      if (problem) bad(problem)
    }
    for (const h of batch.households) {
      const kept = { account: h.account, partition: h.partition, seq: h.seq, snapshot: h.snapshot.slice() }
      s.households.set(h.account, h.timerAt === undefined ? kept : { ...kept, timerAt: h.timerAt })
      for (const r of h.journeys ?? []) s.journeyRows.push({ account: h.account, r })
    }
    for (const [partition, seq] of batch.positions) s.stored.set(partition, seq)
    for (const [partition, w] of batch.eventTimes ?? []) s.eventTimes.set(partition, w)
  }

  clock(): ClockState {
    const s = this.open()
    const timers: StoredTimer[] = []
    for (const h of s.households.values()) if (h.timerAt !== undefined) timers.push({ account: h.account, partition: h.partition, timerAt: h.timerAt })
    return { eventTimes: new Map(s.eventTimes), timers }
  }

  positions(): Map<number, number> {
    return new Map(this.open().stored)
  }

  count(): number {
    return this.open().households.size
  }

  /** Accounts in JavaScript (UTF-16) order; SqliteStore's UTF-8 byte order differs only for U+E000–U+FFFF versus astral characters. */
  accounts(): IterableIterator<string> {
    return [...this.open().households.keys()].sort()[Symbol.iterator]()
  }

  delete(account: string): boolean {
    return this.open().households.delete(account)
  }

  journeys(q: JourneyQuery, each: (r: JourneyRecord, account: string) => void): number {
    let n = 0
    for (const { account, r } of this.open().journeyRows) {
      if (!selects(q, r, account)) continue
      each(r, account)
      n++
    }
    return n
  }

  journeyPaths(q: JourneyQuery, each: (p: JourneyPath) => void): number {
    return this.journeys(q, (r) => each(pathOf(r)))
  }

  deleteJourneys(account: string, which?: (r: JourneyRecord) => boolean): number {
    return this.dropJourneys((row) => row.account === account && (!which || which(row.r)))
  }

  purgeJourneys(cutoffMs: number): number {
    return this.dropJourneys((row) => row.r.endTs < cutoffMs)
  }

  private dropJourneys(drop: (row: { account: string, r: JourneyRecord }) => boolean): number {
    const s = this.open()
    const keep = s.journeyRows.filter((row) => !drop(row))
    const n = s.journeyRows.length - keep.length
    s.journeyRows = keep
    return n
  }

  /** Drops everything; later calls throw CLOSED. Closing twice is a no-op. */
  close(): void {
    this.closed = true
    this.households.clear()
    this.stored.clear()
    this.journeyRows = []
  }

  private open(): this {
    if (this.closed) throw new IdrError('CLOSED', 'MemoryStore: the store is closed')
    return this
  }
}

function bad(message: string): never {
  throw new IdrError('BAD_RECORD', `${message}; nothing of the batch was written`)
}
