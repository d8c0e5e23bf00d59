// The privacy audit trail: an append-only log of privacy operations (erasure, export, retention purge, key
// rotation) in the store's `audit` table, each record chained to the one before by SHA-256 with domain
// separation. Records hold pseudonymous ids, counts and times only. verify() recomputes the chain and names
// the first record that does not fit; a truncated tail is only detectable against a head anchored outside
// idr (head() prints it). docs/privacy.md describes the format.
import { createHash } from 'node:crypto'
import type Database from 'better-sqlite3'
import { IdrError } from '../errors.js'
import { pseudonymPattern } from './pseudonymise.js'

export const AUDIT_OPS = ['erasure', 'export', 'retention-purge', 'key-rotation'] as const
export type AuditOp = (typeof AUDIT_OPS)[number]

/** Who an operation concerned: pseudonymous ids only (an account is its `a_…` pseudonym, a device its `d_…` one, never the raw ids). */
export interface AuditSubject {
  readonly account?: string
  readonly person?: string
  readonly device?: string
}

/** What is appended. `at` is epoch ms; counts are what the operation touched (events, snapshots, …). */
export interface AuditEntry {
  readonly op: AuditOp
  readonly at: number
  readonly subject?: AuditSubject
  readonly counts?: Readonly<Record<string, number>>
}

/** A stored record: the entry with its position in the log (1, 2, …). */
export interface AuditRecord extends AuditEntry {
  readonly seq: number
}

/** The log's last record and its chain hash: what to anchor outside idr. */
export interface AuditHead {
  readonly seq: number
  /** Hex SHA-256 chain value after record `seq` (64 zeros for an empty log). */
  readonly chain: string
}

export type AuditVerdict =
  | { readonly ok: true, readonly records: number, readonly head: AuditHead }
  | { readonly ok: false, readonly records: number, readonly firstBad: { readonly seq: number, readonly reason: string } }

export type AuditErrorCode = 'BAD_AUDIT_ENTRY' | 'BAD_ANCHOR'

export class AuditError extends IdrError {
  declare readonly code: AuditErrorCode
  constructor(code: AuditErrorCode, message: string) {
    super(code, message)
  }
}

// Domain separation: a leaf can never be taken for a chain value or the other way round.
const LEAF_PREFIX = Buffer.from('idr.audit.leaf.v1\0')
const CHAIN_PREFIX = Buffer.from('idr.audit.chain.v1\0')
export const AUDIT_GENESIS = Buffer.alloc(32)
const DEVICE_PSEUDONYM = pseudonymPattern('device') // d_…, d2_…: any key epoch
const ACCOUNT_PSEUDONYM = pseudonymPattern('account')
const ID_MAX = 128

/** JSON with object keys in code-point order at every level: one byte string per record. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new AuditError('BAD_AUDIT_ENTRY', `audit records hold finite numbers only, got ${value}`)
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`
  }
  throw new AuditError('BAD_AUDIT_ENTRY', `audit records cannot hold a ${typeof value}`)
}

export function leafHash(recordJson: string): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(recordJson, 'utf8').digest()
}

export function chainHash(prev: Uint8Array, leaf: Uint8Array): Buffer {
  return createHash('sha256').update(CHAIN_PREFIX).update(prev).update(leaf).digest()
}

export class AuditLog {
  private readonly last: Database.Statement
  private readonly insert: Database.Statement
  private readonly all: Database.Statement
  private readonly appendTx: Database.Transaction<(entry: AuditEntry) => AuditHead>

  /** Over an idr store's database (the `audit` table comes with schema version 2). */
  constructor(db: Database.Database) {
    this.last = db.prepare('SELECT seq, chain FROM audit ORDER BY seq DESC LIMIT 1')
    this.insert = db.prepare('INSERT INTO audit (seq, record, chain) VALUES (?, ?, ?)')
    this.all = db.prepare('SELECT seq, record, chain FROM audit ORDER BY seq')
    this.appendTx = db.transaction((entry: AuditEntry) => {
      const prev = this.last.get() as { seq: number, chain: Buffer } | undefined
      const seq = (prev?.seq ?? 0) + 1
      const json = canonicalJson({ ...entry, seq })
      const chain = chainHash(prev?.chain ?? AUDIT_GENESIS, leafHash(json))
      this.insert.run(seq, json, chain)
      return { seq, chain: chain.toString('hex') }
    })
  }

  /** Appends one record (checked: known op, pseudonymous ids, non-negative integer counts) and returns the new head. */
  append(entry: AuditEntry): AuditHead {
    checkEntry(entry)
    return this.appendTx.immediate(entry)
  }

  head(): AuditHead {
    const row = this.last.get() as { seq: number, chain: Buffer } | undefined
    return row ? { seq: row.seq, chain: row.chain.toString('hex') } : { seq: 0, chain: AUDIT_GENESIS.toString('hex') }
  }

  /** Every record in order. */
  records(): AuditRecord[] {
    return (this.all.all() as { record: string }[]).map((r) => JSON.parse(r.record) as AuditRecord)
  }

  /**
   * Recomputes the chain from the first record and reports the first one that does not fit: a gap in the
   * positions, a record that is not its canonical self or names another position, a chain value that differs.
   * With an anchor (a head recorded earlier outside idr), also a log that ends before it or differs at it.
   */
  verify(anchor?: AuditHead): AuditVerdict {
    if (anchor && (!Number.isSafeInteger(anchor.seq) || anchor.seq < 0 || !/^[0-9a-f]{64}$/.test(anchor.chain))) {
      throw new AuditError('BAD_ANCHOR', 'an anchor is SEQ:HEX, with a 64-digit lower-case hex chain value')
    }
    let prev: Uint8Array = AUDIT_GENESIS
    let n = 0
    let anchorSeen = anchor === undefined || anchor.seq === 0
    const bad = (seq: number, reason: string): AuditVerdict => ({ ok: false, records: n, firstBad: { seq, reason } })
    for (const row of this.all.iterate() as IterableIterator<{ seq: number, record: string, chain: Buffer }>) {
      const expected = n + 1
      if (row.seq !== expected) return bad(expected, `record ${expected} is missing (the next one is ${row.seq})`)
      let parsed: unknown
      try {
        parsed = JSON.parse(row.record)
      } catch {
        return bad(row.seq, 'the record is not JSON')
      }
      if (typeof parsed !== 'object' || parsed === null || (parsed as { seq?: unknown }).seq !== row.seq) {
        return bad(row.seq, `the record names position ${String((parsed as { seq?: unknown } | null)?.seq)}, not ${row.seq}`)
      }
      if (canonicalJson(parsed) !== row.record) return bad(row.seq, 'the record is not in its canonical form (altered)')
      const chain = chainHash(prev, leafHash(row.record))
      if (!chain.equals(row.chain)) return bad(row.seq, 'the chain value does not match the records up to here (altered)')
      prev = chain
      n++
      if (anchor && n === anchor.seq) {
        if (chain.toString('hex') !== anchor.chain) return bad(n, 'the log differs from the anchored head at its position (rewritten)')
        anchorSeen = true
      }
    }
    if (!anchorSeen) return bad(n + 1, `the log ends at record ${n}, before the anchored head ${anchor!.seq} (truncated)`)
    return { ok: true, records: n, head: { seq: n, chain: Buffer.from(prev).toString('hex') } }
  }
}

/** Parses an anchor written as `SEQ:HEX` (what `idr audit head` prints). */
export function parseAnchor(s: string): AuditHead {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(s.trim())
  if (!m) throw new AuditError('BAD_ANCHOR', `an anchor is SEQ:HEX as printed by idr audit head, got "${s}"`)
  return { seq: Number(m[1]), chain: m[2]! }
}

function checkEntry(e: AuditEntry): void {
  const bad = (why: string): never => { throw new AuditError('BAD_AUDIT_ENTRY', why) }
  if (!AUDIT_OPS.includes(e.op)) bad(`op must be one of ${AUDIT_OPS.join(', ')}, got "${String(e.op)}"`)
  if (!Number.isSafeInteger(e.at) || e.at < 0) bad(`at must be epoch milliseconds, got ${String(e.at)}`)
  for (const [k, v] of Object.entries(e.subject ?? {})) {
    if (!['account', 'person', 'device'].includes(k)) bad(`subject holds account, person and device only, got "${k}"`)
    if (typeof v !== 'string' || v.length === 0 || v.length > ID_MAX) bad(`subject.${k} must be a string of 1..${ID_MAX} characters`)
    if (k === 'device' && !DEVICE_PSEUDONYM.test(v as string)) bad('subject.device must be a device pseudonym (d_, d2_, … and 22 base64url characters), never a raw device id')
    if (k === 'account' && !ACCOUNT_PSEUDONYM.test(v as string)) bad('subject.account must be an account pseudonym (a_, a2_, … and 22 base64url characters), never the account token')
  }
  for (const [k, v] of Object.entries(e.counts ?? {})) {
    if (!Number.isSafeInteger(v) || v < 0) bad(`counts.${k} must be a non-negative integer, got ${String(v)}`)
  }
}
