// Key rotation by epoch: a ring's epochs and pseudonym forms, epoch 1 unchanged from single-key pseudonyms,
// all() for erasures, bad rings refused by code, and recordKeyEpoch on a real SQLite file.
import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { KEY_EPOCH_META, KeyRing, recordKeyEpoch } from '../src/privacy/keyring.js'
import { parsePseudonym, PrivacyError, Pseudonymiser, pseudonymPattern } from '../src/privacy/pseudonymise.js'
import { openStore, type SqliteStore } from '../src/store/sqlite-store.js'
import { errorCode } from './helpers/errors.js'
import { OptionError } from '../src/options/check.js'

const K1 = '0123456789abcdef0123456789abcdef' // the key of test/ingress-pseudonymise.test.ts' known answers
const K2 = 'second-epoch-key-0123456789abcdef'
const K3 = 'third-epoch-key-0123456789abcdefg'
const NOW = 1_767_225_600_000 // 2026-01-01T00:00:00Z

/** Independently: subkey = HMAC-SHA256(key, label); pseudonym = prefix + base64url(HMAC-SHA256(subkey, raw)[0..16)). */
function expected(prefix: string, key: string, label: string, raw: string): string {
  const sub = createHmac('sha256', key).update(label).digest()
  return prefix + createHmac('sha256', sub).update(raw).digest().subarray(0, 16).toString('base64url')
}

describe('KeyRing', () => {
  it('makes the highest epoch current and lists the kept epochs ascending', () => {
    const ring = new KeyRing([{ epoch: 3, key: K3 }, { epoch: 1, key: K1 }])
    expect(ring.epochs).toEqual([1, 3])
    expect(ring.epoch).toBe(3)
    expect(ring.current.epoch).toBe(3)
    expect(ring.get(2)).toBeUndefined()
    expect(ring.get(1)?.epoch).toBe(1)
  })

  it('keeps epoch 1 pseudonyms exactly as a single key makes them', () => {
    const ring = new KeyRing([{ epoch: 1, key: K1 }, { epoch: 2, key: K2 }])
    expect(ring.get(1)!.device('device-1')).toBe('d_j0SwNdYjFEA6lG66MggXfg')
    expect(ring.get(1)!.ip('192.0.2.1')).toBe('ip__Xt8BcI8LRaPidHvQov55A')
    expect(KeyRing.from(K1).current.device('device-1')).toBe(new Pseudonymiser(K1).device('device-1'))
    expect(new Pseudonymiser(K1).epoch).toBe(1)
  })

  it('writes later epochs as d2_, ip2_, a2_ with the epoch bound into the subkey label', () => {
    const p = new KeyRing([{ epoch: 1, key: K1 }, { epoch: 2, key: K2 }]).current
    expect(p.device('device-1')).toBe(expected('d2_', K2, 'idr/pseudonym/v1/device/epoch/2', 'device-1'))
    expect(p.ip('192.0.2.1')).toBe(expected('ip2_', K2, 'idr/pseudonym/v1/ip/epoch/2', '192.0.2.1'))
    expect(p.account('acct-1')).toBe(expected('a2_', K2, 'idr/pseudonym/v1/account/epoch/2', 'acct-1'))
    expect(new Pseudonymiser(K2, { epoch: 12 }).device('x')).toMatch(/^d12_[A-Za-z0-9_-]{22}$/)
  })

  it('gives unrelated pseudonyms when one key were used under two epochs', () => {
    const one = new Pseudonymiser(K1).device('device-1')
    const two = new Pseudonymiser(K1, { epoch: 2 }).device('device-1')
    expect(two.slice(3)).not.toBe(one.slice(2))
  })

  it('returns the pseudonyms of a raw id under every kept epoch, ascending, for erasure', () => {
    const ring = new KeyRing([{ epoch: 2, key: K2 }, { epoch: 1, key: K1 }, { epoch: 3, key: K3 }])
    const all = ring.all('device', 'device-1')
    expect(all).toEqual([ring.get(1)!.device('device-1'), ring.get(2)!.device('device-1'), ring.current.device('device-1')])
    expect(all.map((p) => parsePseudonym(p)?.epoch)).toEqual([1, 2, 3])
    expect(ring.all('account', 'acct-1').map((p) => parsePseudonym(p))).toEqual([1, 2, 3].map((epoch) => ({ domain: 'account', epoch })))
  })

  it('caches only the current epoch', () => {
    const ring = new KeyRing([{ epoch: 1, key: K1 }, { epoch: 2, key: K2 }])
    ring.all('device', 'device-1')
    expect(ring.get(1)!.cacheSize).toBe(0)
    expect(ring.current.cacheSize).toBe(1)
    ring.clearCache()
    expect(ring.current.cacheSize).toBe(0)
  })

  it('refuses bad rings with typed errors', () => {
    const bad = (keys: unknown, code: string) => expect(errorCode(() => new KeyRing(keys as never), PrivacyError)).toBe(code)
    bad([], 'BAD_KEY_RING')
    bad([{ epoch: 1, key: K1 }, { epoch: 1, key: K2 }], 'BAD_KEY_RING')
    bad([{ epoch: 1, key: K1 }, { epoch: 2, key: K1 }], 'BAD_KEY_RING')
    for (const epoch of [0, -1, 1.5, 1_000_000, '2', undefined]) bad([{ epoch, key: K1 }], 'BAD_KEY_RING')
    bad([{ epoch: 1, key: 'fifteen-bytes!!' }], 'BAD_KEY')
    bad([{ epoch: 1, key: 42 }], 'BAD_KEY')
    expect(errorCode(() => new KeyRing([{ epoch: 1, key: K1 }], { epoch: 2 } as never), OptionError)).toBe('BAD_OPTION')
    expect(errorCode(() => new Pseudonymiser(K1, { epoch: 0 }), OptionError)).toBe('BAD_OPTION')
  })
})

describe('pseudonym forms', () => {
  it('accepts every epoch form of a domain and nothing else', () => {
    const body = 'j0SwNdYjFEA6lG66MggXfg'
    const device = pseudonymPattern('device')
    for (const ok of [`d_${body}`, `d2_${body}`, `d12_${body}`, `d999999_${body}`]) expect(device.test(ok)).toBe(true)
    for (const no of [`d1_${body}`, `d02_${body}`, `d1000000_${body}`, `d_${body.slice(1)}`, `a_${body}`, `ip_${body}`, 'living-room-tv', `d_${body}x`]) {
      expect(device.test(no)).toBe(false)
    }
    expect(pseudonymPattern('ip').test(`ip3_${body}`)).toBe(true)
  })

  it('reads the domain and epoch from a pseudonym without the key', () => {
    expect(parsePseudonym(new Pseudonymiser(K1).device('x'))).toEqual({ domain: 'device', epoch: 1 })
    expect(parsePseudonym(new Pseudonymiser(K2, { epoch: 7 }).ip('x'))).toEqual({ domain: 'ip', epoch: 7 })
    expect(parsePseudonym(new Pseudonymiser(K2, { epoch: 40 }).account('x'))).toEqual({ domain: 'account', epoch: 40 })
    expect(parsePseudonym('device-1')).toBeUndefined()
  })
})

describe('recordKeyEpoch', () => {
  let dir: string
  let file: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'idr-keyring-'))
    file = join(dir, 'idr.db')
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  /** Opens the file, records the ring's epoch at `at`, closes it; returns the outcome. */
  function serve(keys: { epoch: number, key: string }[], at = NOW) {
    const store = openStore(file)
    try {
      return recordKeyEpoch(store, new KeyRing(keys), at)
    } finally {
      store.close()
    }
  }
  function inspect<T>(fn: (store: SqliteStore) => T): T {
    const store = openStore(file)
    try {
      return fn(store)
    } finally {
      store.close()
    }
  }

  it('records the epoch of a new store without an audit record', () => {
    expect(serve([{ epoch: 2, key: K2 }])).toEqual({ change: 'recorded', epoch: 2 })
    expect(inspect((s) => [s.getMeta(KEY_EPOCH_META), s.auditLog().records().length])).toEqual(['2', 0])
  })

  it('appends one key-rotation record when the epoch rises, and none on a restart with the same epoch', () => {
    serve([{ epoch: 1, key: K1 }])
    const rotated = serve([{ epoch: 1, key: K1 }, { epoch: 2, key: K2 }], NOW + 1000)
    expect(rotated).toMatchObject({ change: 'rotated', fromEpoch: 1, toEpoch: 2, audit: { seq: 1 } })
    expect(serve([{ epoch: 1, key: K1 }, { epoch: 2, key: K2 }], NOW + 2000)).toEqual({ change: 'none', epoch: 2 })
    const [meta, records, verdict] = inspect((s) => [s.getMeta(KEY_EPOCH_META), s.auditLog().records(), s.auditLog().verify()] as const)
    expect(meta).toBe('2')
    expect(records).toEqual([{ seq: 1, op: 'key-rotation', at: NOW + 1000, counts: { fromEpoch: 1, toEpoch: 2 } }])
    expect(verdict.ok).toBe(true)
  })

  it('refuses a lower epoch than the store records and changes nothing', () => {
    serve([{ epoch: 2, key: K2 }, { epoch: 3, key: K3 }])
    expect(errorCode(() => serve([{ epoch: 1, key: K1 }, { epoch: 2, key: K2 }]), PrivacyError)).toBe('KEY_EPOCH_REGRESSED')
    expect(inspect((s) => [s.getMeta(KEY_EPOCH_META), s.auditLog().records().length])).toEqual(['3', 0])
  })

  it('treats a store with households but no recorded epoch as epoch 1', () => {
    inspect((s) => s.commit({ households: [{ account: 'acct-1', partition: 0, seq: 0, snapshot: new Uint8Array([1]) }], positions: new Map() }))
    expect(serve([{ epoch: 1, key: K1 }, { epoch: 2, key: K2 }])).toMatchObject({ change: 'rotated', fromEpoch: 1, toEpoch: 2 })
    expect(inspect((s) => s.auditLog().records().length)).toBe(1)
  })

  it('does not audit a rotation twice when a crash came between the record and the epoch', () => {
    serve([{ epoch: 1, key: K1 }])
    inspect((s) => s.auditLog().append({ op: 'key-rotation', at: NOW, counts: { fromEpoch: 1, toEpoch: 2 } }))
    expect(serve([{ epoch: 1, key: K1 }, { epoch: 2, key: K2 }])).toMatchObject({ change: 'rotated', audit: undefined })
    expect(inspect((s) => [s.getMeta(KEY_EPOCH_META), s.auditLog().records().length])).toEqual(['2', 1])
  })

  it('refuses a recorded epoch that is not one', () => {
    inspect((s) => s.setMeta(KEY_EPOCH_META, 'two'))
    expect(errorCode(() => serve([{ epoch: 1, key: K1 }]), PrivacyError)).toBe('BAD_KEY_EPOCH')
  })

  it('lets audit records name devices and accounts by any epoch pseudonym, never raw', () => {
    const p = new Pseudonymiser(K2, { epoch: 2 })
    inspect((s) => s.auditLog().append({ op: 'erasure', at: NOW, subject: { device: p.device('tv'), account: p.account('acct-1') } }))
    expect(() => inspect((s) => s.auditLog().append({ op: 'erasure', at: NOW, subject: { device: 'd2_tv' } }))).toThrow(/device pseudonym/)
  })
})
