// Pseudonyms: keyed, domain-separated, stable across releases, cached within a bound.
import { createHmac } from 'node:crypto'
import { encode } from '@msgpack/msgpack'
import { describe, expect, it } from 'vitest'
import { Ingress } from '../src/ingress/ingress.js'
import { KeyRing } from '../src/privacy/keyring.js'
import { Pseudonymiser } from '../src/privacy/pseudonymise.js'
import { OptionError } from '../src/options/check.js'

const KEY = '0123456789abcdef0123456789abcdef'

describe('Pseudonymiser', () => {
  it('keeps its published known-answer values (changing them re-keys every stored identity)', () => {
    // Independently: subkey = HMAC-SHA256(key, "idr/pseudonym/v1/device"); pseudonym = "d_" + base64url(HMAC-SHA256(subkey, raw)[0..16)).
    const sub = createHmac('sha256', KEY).update('idr/pseudonym/v1/device').digest()
    const expected = `d_${createHmac('sha256', sub).update('device-1').digest().subarray(0, 16).toString('base64url')}`
    const p = new Pseudonymiser(KEY)
    expect(p.device('device-1')).toBe(expected)
    expect(p.device('device-1')).toBe('d_j0SwNdYjFEA6lG66MggXfg')
    expect(p.ip('192.0.2.1')).toBe('ip__Xt8BcI8LRaPidHvQov55A')
  })

  it('treats a string key as its UTF-8 bytes', () => {
    expect(new Pseudonymiser(new TextEncoder().encode(KEY)).device('x')).toBe(new Pseudonymiser(KEY).device('x'))
  })

  it('does not depend on the caller keeping its key bytes unchanged', () => {
    const key = new TextEncoder().encode(KEY)
    const p = new Pseudonymiser(key)
    const before = p.device('x')
    key.fill(0)
    expect(p.device('y')).toBe(new Pseudonymiser(KEY).device('y'))
    expect(p.device('x')).toBe(before)
  })

  it('separates the device and ip domains', () => {
    const p = new Pseudonymiser(KEY)
    expect(p.device('10.0.0.1').slice(2)).not.toBe(p.ip('10.0.0.1').slice(3))
  })

  it('gives the same pseudonym with or without the cache, and keeps the cache within its bound', () => {
    const cached = new Pseudonymiser(KEY, { cacheEntries: 100 })
    const uncached = new Pseudonymiser(KEY, { cacheEntries: 0 })
    for (let i = 0; i < 1_000; i++) {
      const raw = `dev-${i % 300}`
      expect(cached.device(raw)).toBe(uncached.device(raw))
      expect(cached.cacheSize).toBeLessThanOrEqual(100)
    }
    expect(uncached.cacheSize).toBe(0)
    cached.clearCache()
    expect(cached.cacheSize).toBe(0)
  })

  it('refuses short keys and bad options with typed errors', () => {
    expect(() => new Pseudonymiser('fifteen-bytes!!')).toThrow(expect.objectContaining({ code: 'BAD_KEY' }) as Error)
    expect(() => new Pseudonymiser(KEY, { cacheEntries: -1 })).toThrow(OptionError)
    expect(() => new Pseudonymiser(KEY, { cacheEntires: 5 } as never)).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }) as Error)
  })
})

describe('the ingress under a key ring', () => {
  const play = {
    v: 1, id: 'e1', ts: Date.UTC(2026, 0, 5, 20), account: 'acct-1', device: 'device-1', kind: 'play',
    deviceType: 'tv', content: 'c42', genres: ['drama'], durationSec: 0, ip: '192.0.2.1',
  }
  const decode = (ingress: Ingress) => ingress.decode('idr.ev.acct-1', encode(play), 0).events[0]!

  it('pseudonymises with one key exactly as before (epoch 1)', () => {
    const ingress = new Ingress({ pseudonymKey: KEY })
    expect(decode(ingress)).toMatchObject({ device: 'd_j0SwNdYjFEA6lG66MggXfg', ip: 'ip__Xt8BcI8LRaPidHvQov55A' })
    expect(ingress.keyRing.epochs).toEqual([1])
  })

  it('pseudonymises new events under the current epoch and keeps the others for erasure', () => {
    const ring = new KeyRing([{ epoch: 1, key: KEY }, { epoch: 2, key: 'epoch-two-key-0123456789abcdef' }])
    const ingress = new Ingress({ pseudonymKey: ring })
    const e = decode(ingress)
    expect(e.device).toBe(ring.current.device('device-1'))
    expect(e.device).toMatch(/^d2_[A-Za-z0-9_-]{22}$/)
    expect(e.ip).toMatch(/^ip2_[A-Za-z0-9_-]{22}$/)
    expect(ingress.pseudonymiser).toBe(ring.current)
    expect(ingress.keyRing.all('device', 'device-1')).toEqual(['d_j0SwNdYjFEA6lG66MggXfg', e.device])
  })
})
