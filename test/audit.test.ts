// The privacy audit trail on a real SQLite file: records chain, verify() finds the first record that was
// altered, reordered or removed, a truncated tail only against an anchored head, and the CLI reports it.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AUDIT_GENESIS, canonicalJson, chainHash, leafHash, parseAnchor, type AuditEntry, type AuditHead } from '../src/privacy/audit.js'
import { Pseudonymiser } from '../src/privacy/pseudonymise.js'
import { migrate, MIGRATIONS } from '../src/store/migrations.js'
import { openStore } from '../src/store/sqlite-store.js'
import { errorCode } from './helpers/errors.js'

const run = promisify(execFile)
const CLI = join(import.meta.dirname, '..', 'build', 'src', 'cli', 'main.js')
const pseudonyms = new Pseudonymiser('audit-test-key-0123456789abcdef')
const device = pseudonyms.device('living-room-tv')

function entries(n: number): AuditEntry[] {
  const ops = ['erasure', 'export', 'retention-purge', 'key-rotation'] as const
  return Array.from({ length: n }, (_, i) => ({
    op: ops[i % 4]!, at: 1_767_225_600_000 + i * 60_000,
    subject: i % 4 === 0 ? { account: pseudonyms.account(`acct-${i}`), device } : i % 4 === 1 ? { account: pseudonyms.account(`acct-${i}`), person: 'p2' } : undefined,
    counts: { snapshots: i, events: 10 * i },
  }))
}

let dir: string
let file: string
let head: AuditHead

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'idr-audit-'))
  file = join(dir, 'idr.db')
  const store = openStore(file)
  const log = store.auditLog()
  for (const e of entries(12)) head = log.append(e)
  store.close()
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** Tampers with the file the way someone with write access to it could, then verifies. */
function tamper(sql: (db: Database.Database) => void, anchor?: AuditHead) {
  const db = new Database(file)
  sql(db)
  db.close()
  const store = openStore(file)
  try {
    return store.auditLog().verify(anchor)
  } finally {
    store.close()
  }
}

const record = (db: Database.Database, seq: number) => JSON.parse((db.prepare('SELECT record FROM audit WHERE seq = ?').pluck().get(seq)) as string) as Record<string, unknown>

describe('the audit trail', () => {
  it('chains every record with domain-separated SHA-256 and verifies clean', () => {
    const store = openStore(file)
    const log = store.auditLog()
    const v = log.verify(head)
    expect(v).toEqual({ ok: true, records: 12, head })
    // recomputed by hand from the stored records
    let prev: Uint8Array = AUDIT_GENESIS
    for (const r of log.records()) prev = chainHash(prev, leafHash(canonicalJson(r)))
    expect(Buffer.from(prev).toString('hex')).toBe(head.chain)
    expect(head.seq).toBe(12)
    // a leaf is not the plain hash of the record: the prefixes separate the domains
    expect(leafHash('{}').equals(chainHash(Buffer.alloc(0), Buffer.from('{}')))).toBe(false)
    store.close()
  })

  it('refuses entries that would hold raw or malformed data', () => {
    const store = openStore(file)
    const log = store.auditLog()
    expect(errorCode(() => log.append({ op: 'erasure', at: 1, subject: { device: 'living-room-tv' } }))).toBe('BAD_AUDIT_ENTRY')
    expect(errorCode(() => log.append({ op: 'erasure', at: 1, subject: { account: 'acct-42' } }))).toBe('BAD_AUDIT_ENTRY')
    expect(errorCode(() => log.append({ op: 'erasure', at: 1, subject: { ip: '203.0.113.7' } as never }))).toBe('BAD_AUDIT_ENTRY')
    expect(errorCode(() => log.append({ op: 'delete-all' as never, at: 1 }))).toBe('BAD_AUDIT_ENTRY')
    expect(errorCode(() => log.append({ op: 'export', at: 1, counts: { events: -1 } }))).toBe('BAD_AUDIT_ENTRY')
    expect(errorCode(() => log.append({ op: 'export', at: 1, counts: { events: Number.NaN } }))).toBe('BAD_AUDIT_ENTRY')
    expect(log.head()).toEqual(head)
    store.close()
  })

  it('catches an altered record', () => {
    const v = tamper((db) => {
      const r = record(db, 5)
      db.prepare('UPDATE audit SET record = ? WHERE seq = 5').run(canonicalJson({ ...r, counts: { snapshots: 0, events: 0 } }))
    })
    expect(v).toMatchObject({ ok: false, firstBad: { seq: 5 } })
  })

  it('catches a record that is no longer canonical (same content, other bytes)', () => {
    const v = tamper((db) => db.prepare("UPDATE audit SET record = record || ' ' WHERE seq = 3").run())
    expect(v).toMatchObject({ ok: false, firstBad: { seq: 3, reason: expect.stringContaining('canonical') } })
  })

  it('catches two records swapped', () => {
    const v = tamper((db) => {
      const [a, b] = [4, 7].map((s) => db.prepare('SELECT record, chain FROM audit WHERE seq = ?').get(s) as { record: string, chain: Buffer })
      db.prepare('UPDATE audit SET record = ?, chain = ? WHERE seq = 4').run(b!.record, b!.chain)
      db.prepare('UPDATE audit SET record = ?, chain = ? WHERE seq = 7').run(a!.record, a!.chain)
    })
    expect(v).toMatchObject({ ok: false, firstBad: { seq: 4 } })
  })

  it('catches a deleted record in the middle', () => {
    const v = tamper((db) => db.prepare('DELETE FROM audit WHERE seq = 6').run())
    expect(v).toMatchObject({ ok: false, firstBad: { seq: 6, reason: expect.stringContaining('missing') } })
  })

  it('catches a deleted record renumbered away, since the chain no longer matches', () => {
    const v = tamper((db) => {
      db.prepare('DELETE FROM audit WHERE seq = 6').run()
      for (let s = 7; s <= 12; s++) {
        const r = record(db, s)
        db.prepare('UPDATE audit SET seq = ?, record = ? WHERE seq = ?').run(s - 1, canonicalJson({ ...r, seq: s - 1 }), s)
      }
    })
    expect(v).toMatchObject({ ok: false, firstBad: { seq: 6 } })
  })

  it('detects a truncated tail only against an anchored head', () => {
    const drop = (db: Database.Database) => db.prepare('DELETE FROM audit WHERE seq > 9').run()
    expect(tamper(drop)).toMatchObject({ ok: true, records: 9 })
    expect(tamper(() => {}, head)).toMatchObject({ ok: false, firstBad: { seq: 10, reason: expect.stringContaining('truncated') } })
  })

  it('detects a log rewritten from some record on (chain recomputed) only against an anchored head', () => {
    const rewrite = (db: Database.Database) => {
      let prev: Buffer = db.prepare('SELECT chain FROM audit WHERE seq = 7').pluck().get() as Buffer
      for (let s = 8; s <= 12; s++) {
        const json = canonicalJson({ ...record(db, s), counts: { snapshots: 0 } })
        prev = chainHash(prev, leafHash(json))
        db.prepare('UPDATE audit SET record = ?, chain = ? WHERE seq = ?').run(json, prev, s)
      }
    }
    expect(tamper(rewrite)).toMatchObject({ ok: true, records: 12 })
    expect(tamper(() => {}, head)).toMatchObject({ ok: false, firstBad: { seq: 12, reason: expect.stringContaining('anchored') } })
  })

  it('comes to an existing version-1 file by migration, households kept', () => {
    const old = join(dir, 'v1.db')
    const db = new Database(old)
    migrate(db, MIGRATIONS.slice(0, 1))
    db.prepare('INSERT INTO households (account, partition, seq, snapshot, updated_at) VALUES (?, 0, 1, ?, 0)').run('a1', Buffer.from([1, 2, 3]))
    db.close()
    const store = openStore(old)
    expect(store.load('a1')?.snapshot).toEqual(new Uint8Array([1, 2, 3]))
    expect(store.auditLog().head()).toEqual({ seq: 0, chain: '0'.repeat(64) })
    store.close()
  })

  it('parses anchors as idr audit head prints them', () => {
    expect(parseAnchor(`12:${head.chain}`)).toEqual(head)
    expect(errorCode(() => parseAnchor('12:xyz'))).toBe('BAD_ANCHOR')
  })
})

describe('idr audit', () => {
  it('prints the head and verifies, exit 1 naming the first bad record', async () => {
    const { stdout } = await run('node', [CLI, 'audit', 'head', '--db', file])
    expect(stdout.trim()).toBe(`${head.seq}:${head.chain}`)
    const ok = await run('node', [CLI, 'audit', 'verify', '--db', file, '--anchor', stdout.trim()])
    expect(ok.stdout).toMatch(/ok: 12 records/)
    const db = new Database(file)
    db.prepare('DELETE FROM audit WHERE seq = 2').run()
    db.close()
    await expect(run('node', [CLI, 'audit', 'verify', '--db', file])).rejects.toMatchObject({ code: 1, stdout: expect.stringMatching(/record 2 .*missing/) })
    await expect(run('node', [CLI, 'audit', 'verify', '--db', join(dir, 'nope.db')])).rejects.toMatchObject({ stderr: expect.stringMatching(/does not exist/) })
  }, 30_000)
})
