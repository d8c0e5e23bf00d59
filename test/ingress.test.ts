// Ingress: one DLQ record per whole-message failure, one per bad batch element, good events pseudonymised.
import { createHash } from 'node:crypto'
import { Decoder, encode } from '@msgpack/msgpack'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Ingress, DLQ_MESSAGE_MAX_CHARS, type DlqRecord, type IngressOptions } from '../src/ingress/ingress.js'
import { PrivacyError } from '../src/privacy/pseudonymise.js'
import { OptionError } from '../src/options/check.js'

const KEY = 'test-key-0123456789abcdef'
const NOW = Date.UTC(2026, 0, 5, 21)
const RAW_DEVICE = 'RAW-DEVICE-7f3a9c'
const RAW_IP = '203.0.113.77'

const play = {
  v: 1, id: 'e1', ts: Date.UTC(2026, 0, 5, 20), account: 'acct-1', device: RAW_DEVICE, kind: 'play',
  deviceType: 'tv', content: 'c42', genres: ['drama'], durationSec: 0, ip: RAW_IP,
}

function ingress(options: Partial<IngressOptions> = {}): Ingress {
  return new Ingress({ pseudonymKey: KEY, ...options })
}

function bytes(...b: number[]): Uint8Array {
  return Uint8Array.from(b)
}

/** The single record of a message that must be rejected as a whole. */
function onlyReject(ing: Ingress, data: Uint8Array): DlqRecord {
  const r = ing.decode('idr.ev.acct-1', data, NOW)
  expect(r.events).toEqual([])
  expect(r.rejects).toHaveLength(1)
  return r.rejects[0]!
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('whole-message rejections', () => {
  it('rejects a 2 MB message as TOO_LARGE without decoding it', () => {
    const spy = vi.spyOn(Decoder.prototype, 'decode')
    const data = new Uint8Array(2 * 1024 * 1024).fill(0xc1) // would be BAD_MSGPACK if it were looked at
    const rec = onlyReject(ingress(), data)
    expect(rec.code).toBe('TOO_LARGE')
    expect(rec.bytes).toBe(data.byteLength)
    expect(spy).not.toHaveBeenCalled()
  })

  it.each([
    ['an empty message', bytes()],
    ['the reserved byte 0xc1', bytes(0xc1)],
    ['a truncated event', encode(play).subarray(0, 20)],
    ['trailing bytes after the event', Uint8Array.of(...encode(play), 0x00)],
    ['a timestamp extension', encode({ ...play, when: new Date(NOW) })],
    ['an integer map key', bytes(0x81, 0x01, 0x02)],
    ['invalid UTF-8 in a string', bytes(0x81, 0xa1, 0x61, 0xa2, 0xc3, 0x28)],
    ['a batch header that claims more elements than there are bytes', bytes(0xdd, 0x00, 0x00, 0x00, 0x09, 0xc0)],
  ])('rejects %s as BAD_MSGPACK', (_, data) => {
    expect(onlyReject(ingress(), data).code).toBe('BAD_MSGPACK')
  })

  it.each([
    ['a string over maxStringBytes', encode({ ...play, note: 'x'.repeat(5000) })],
    ['a map key over maxStringBytes', encode({ ...play, ['k'.repeat(5000)]: 1 })],
    ['a bin over maxBinBytes', encode({ ...play, blob: new Uint8Array(2000) })],
    ['a nested array over maxArrayLength', encode({ ...play, genres: Array<string>(300).fill('drama') })],
    ['a map over maxMapEntries', encode({ ...play, meta: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i])) })],
    ['nesting deeper than maxDepth', encode({ ...play, meta: [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]] })],
  ])('rejects %s as LIMIT_EXCEEDED', (_, data) => {
    expect(onlyReject(ingress(), data).code).toBe('LIMIT_EXCEEDED')
  })

  it('rejects 10,000 levels of nesting as LIMIT_EXCEEDED, not with a stack overflow', () => {
    const deepArrays = Uint8Array.of(...new Uint8Array(10_000).fill(0x91), 0xc0)
    const deepMaps = new Uint8Array(30_001).fill(0xc0)
    for (let i = 0; i < 10_000; i++) deepMaps.set([0x81, 0xa1, 0x61], 3 * i)
    for (const data of [deepArrays, deepMaps]) {
      const rec = onlyReject(ingress(), data)
      expect(rec.code).toBe('LIMIT_EXCEEDED')
      expect(rec.message).toMatch(/maxDepth/)
    }
  })

  it.each([
    ['__proto__ at the top level', '{"__proto__": {"polluted": true}}', false],
    ['__proto__ nested in an unknown field', '{"meta": {"x": {"__proto__": {"polluted": true}}}}', false],
    ['constructor', '{"constructor": {"prototype": {"polluted": true}}}', false],
    ['prototype nested', '{"meta": {"prototype": {"polluted": true}}}', false],
    ['__proto__ inside a batch element', '{"__proto__": {"polluted": true}}', true],
  ])('rejects %s as FORBIDDEN_KEY and leaves Object.prototype unpolluted', (_, json, batch) => {
    const evil = { ...play, ...(JSON.parse(json) as object) }
    const rec = onlyReject(ingress(), encode(batch ? [play, evil] : evil))
    expect(rec.code).toBe('FORBIDDEN_KEY')
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
  })

  it.each([
    ['a number', encode(42)],
    ['a string', encode('play')],
    ['nil', encode(null)],
  ])('rejects %s at the top level as NOT_AN_EVENT', (_, data) => {
    expect(onlyReject(ingress(), data).code).toBe('NOT_AN_EVENT')
  })

  it('rejects a batch over maxEventsPerMessage as TOO_MANY_EVENTS', () => {
    const batch = [1, 2, 3, 4].map((i) => ({ ...play, id: `e${i}` }))
    expect(onlyReject(ingress({ maxEventsPerMessage: 3 }), encode(batch)).code).toBe('TOO_MANY_EVENTS')
    expect(ingress({ maxEventsPerMessage: 4 }).decode('idr.ev.acct-1', encode(batch), NOW).events).toHaveLength(4)
  })
})

describe('per-event rejections', () => {
  it.each([
    ['NOT_AN_OBJECT', [7]],
    ['MISSING_FIELD', { ...play, id: undefined }],
    ['BAD_TYPE', { ...play, ts: 'yesterday' }],
    ['BAD_VERSION', { ...play, v: 2 }],
    ['BAD_KIND', { ...play, kind: 'rewind' }],
    ['BAD_DEVICE_TYPE', { ...play, deviceType: 'fridge' }],
    ['OUT_OF_RANGE', { ...play, screenIn: 1000 }],
    ['TOO_LONG', { ...play, content: 'c'.repeat(300) }],
  ])('reports %s with the field from the validator', (code, raw) => {
    const rec = onlyReject(ingress(), encode(raw))
    expect(rec.code).toBe(code)
  })

  it.each([NaN, Infinity, -Infinity])('rejects the number %s as OUT_OF_RANGE', (x) => {
    for (const field of ['ts', 'durationSec', 'screenIn']) {
      const rec = onlyReject(ingress(), encode({ ...play, [field]: x }))
      expect(rec).toMatchObject({ code: 'OUT_OF_RANGE', field, eventId: 'e1' })
    }
  })

  it('passes the good events of a batch and gives the one bad element a record with its index', () => {
    const batch = [{ ...play, id: 'a' }, { ...play, id: 'b', kind: 'rewind' }, { ...play, id: 'c' }, { ...play, id: 'd', kind: 'stop' }]
    const data = encode(batch)
    const r = ingress().decode('idr.ev.acct-1', data, NOW)
    expect(r.events.map((e) => e.id)).toEqual(['a', 'c', 'd'])
    expect(r.rejects).toEqual([{
      v: 1, code: 'BAD_KIND', message: expect.any(String) as string, subject: 'idr.ev.acct-1', bytes: data.byteLength,
      sha256: createHash('sha256').update(data).digest('hex'), index: 1, field: 'kind', eventId: 'b', at: NOW,
    }])
  })

  it('cuts anything echoed into a record message and the event id to their limits', () => {
    const rec = onlyReject(ingress(), encode({ ...play, id: 'i'.repeat(200), v: 'x'.repeat(1000) }))
    expect(rec.code).toBe('BAD_VERSION')
    expect(rec.message.length).toBeLessThanOrEqual(DLQ_MESSAGE_MAX_CHARS)
    expect(rec.eventId!.length).toBeLessThanOrEqual(128)
  })
})

describe('pseudonymisation', () => {
  it('replaces device and ip with keyed pseudonyms, stable for a key', () => {
    const [a] = ingress().decode('idr.ev.acct-1', encode(play), NOW).events
    const [b] = ingress().decode('idr.ev.acct-1', encode({ ...play, id: 'e2' }), NOW).events
    expect(a!.device).toMatch(/^d_[A-Za-z0-9_-]{22}$/)
    expect(a!.ip).toMatch(/^ip_[A-Za-z0-9_-]{22}$/)
    expect(b!.device).toBe(a!.device)
    expect(b!.ip).toBe(a!.ip)
  })

  it('gives different pseudonyms under different keys and across the device and ip domains', () => {
    const same = RAW_IP
    const [a] = ingress().decode('idr.ev.acct-1', encode({ ...play, device: same, ip: same }), NOW).events
    const [b] = ingress({ pseudonymKey: 'another-key-0123456789' }).decode('idr.ev.acct-1', encode({ ...play, device: same, ip: same }), NOW).events
    expect(a!.device).not.toBe(b!.device)
    expect(a!.ip).not.toBe(b!.ip)
    expect(a!.device.slice(2)).not.toBe(a!.ip!.slice(3))
  })

  it('never lets the raw device or ip reach an event or a DLQ record', () => {
    const ing = ingress()
    const messages = [
      encode(play),
      encode([play, { ...play, kind: RAW_DEVICE }, { ...play, deviceType: RAW_IP.slice(0, 16) }, { ...play, v: RAW_DEVICE }]),
      encode({ ...play, v: `${RAW_DEVICE}/${RAW_IP}` }),
      encode({ ...play, ts: NaN }),
      encode({ ...play, note: RAW_DEVICE.repeat(500) }),
      encode({ ...play, __x: 1, ...(JSON.parse('{"__proto__": 1}') as object) }),
      encode({ ...play, ip: RAW_DEVICE }).subarray(0, 40),
    ]
    const out = messages.map((m) => ing.decode('idr.ev.acct-1', m, NOW))
    expect(out.flatMap((r) => r.rejects).length).toBeGreaterThanOrEqual(6)
    const text = JSON.stringify(out) + new TextDecoder('latin1').decode(encode(out))
    expect(text).not.toContain(RAW_DEVICE)
    expect(text).not.toContain(RAW_IP)
    expect(text).not.toContain(RAW_IP.slice(0, 16))
  })

  it('drops an empty ip instead of giving every such event one shared pseudonym', () => {
    const [e] = ingress().decode('idr.ev.acct-1', encode({ ...play, ip: '' }), NOW).events
    expect(e).not.toHaveProperty('ip')
  })
})

describe('options', () => {
  it('rejects a misspelt option by name', () => {
    expect(() => new Ingress({ pseudonymKey: KEY, maxMesageBytes: 10 } as IngressOptions)).toThrow(/did you mean "maxMessageBytes"/)
    expect(() => new Ingress({ pseudonymKey: KEY, maxMesageBytes: 10 } as IngressOptions)).toThrow(OptionError)
  })

  it.each([
    ['maxMessageBytes', 0], ['maxStringBytes', 1.5], ['maxDepth', 2], ['maxDepth', 5000], ['maxBinBytes', -1], ['maxEventsPerMessage', NaN],
  ])('rejects %s = %s with BAD_OPTION', (name, value) => {
    expect(() => ingress({ [name]: value })).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }) as Error)
  })

  it('refuses a pseudonym key shorter than 16 bytes with BAD_KEY', () => {
    expect(() => ingress({ pseudonymKey: 'short' })).toThrow(PrivacyError)
    expect(() => ingress({ pseudonymKey: new Uint8Array(15) })).toThrow(expect.objectContaining({ code: 'BAD_KEY' }) as Error)
    expect(() => ingress({ pseudonymKey: new Uint8Array(16) })).not.toThrow()
  })
})
