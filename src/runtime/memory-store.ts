// SnapshotStore in memory: for embedding without a file, and for runtime tests. Nothing survives the process.
import { IdrError } from '../errors.js'
import type { CommitBatch, SnapshotStore, StoredHousehold } from './store.js'

/** A Map-backed SnapshotStore that copies bytes in and out, so no caller can alias what it holds. */
export class MemoryStore implements SnapshotStore {
  private readonly households = new Map<string, StoredHousehold>()
  private readonly stored = new Map<number, number>()
  private closed = false

  load(account: string): StoredHousehold | undefined {
    const h = this.open().households.get(account)
    return h && { ...h, snapshot: h.snapshot.slice() }
  }

  /** Checks the whole batch first, then applies it: all of it or nothing, as SqliteStore. */
  commit(batch: CommitBatch): void {
    const s = this.open()
    batch.households.forEach(checkHousehold)
    for (const [partition, seq] of batch.positions) checkPosition(partition, seq)
    for (const h of batch.households) {
      s.households.set(h.account, { account: h.account, partition: h.partition, seq: h.seq, snapshot: h.snapshot.slice() })
    }
    for (const [partition, seq] of batch.positions) s.stored.set(partition, seq)
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

  /** Drops everything; later calls throw CLOSED. Closing twice is a no-op. */
  close(): void {
    this.closed = true
    this.households.clear()
    this.stored.clear()
  }

  private open(): this {
    if (this.closed) throw new IdrError('CLOSED', 'MemoryStore: the store is closed')
    return this
  }
}

// The same rules SqliteStore applies (src/store/sqlite-store.ts), with the same error code.
function checkHousehold(h: StoredHousehold, i: number): void {
  const at = `commit: households[${i}]`
  if (typeof h !== 'object' || h === null) bad(`${at} must be an object, got ${String(h)}`)
  if (typeof h.account !== 'string' || h.account.length === 0) bad(`${at}.account must be a non-empty string`)
  if (!isSeq(h.partition)) bad(`${at}.partition must be an integer ≥ 0, got ${String(h.partition)}`)
  if (!isSeq(h.seq)) bad(`${at}.seq must be an integer ≥ 0, got ${String(h.seq)}`)
  if (!(h.snapshot instanceof Uint8Array)) bad(`${at}.snapshot must be a Uint8Array`)
}

function checkPosition(partition: number, seq: number): void {
  if (!isSeq(partition)) bad(`commit: position partition must be an integer ≥ 0, got ${String(partition)}`)
  if (!isSeq(seq)) bad(`commit: position of partition ${partition} must be an integer ≥ 0, got ${String(seq)}`)
}

const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

function bad(message: string): never {
  throw new IdrError('BAD_RECORD', `${message}; nothing of the batch was written`)
}
