// The single-pass reader against its reference twin (scanMessage, @msgpack/msgpack, validateEvent): on random
// valid, near-valid, hostile and byte-mutated messages both give the same whole-message code and message, or
// the same events (key order included) and the same rejections (code, field, message, raw id/device/ip).
// Replay a failure with IDR_FUZZ_SEED / IDR_FUZZ_PATH (see test/helpers/hostile.ts).
import { Encoder, encode } from '@msgpack/msgpack'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Ingress, type AccountBinding } from '../src/ingress/ingress.js'
import { RejectedEvent, ThreePassReader, type MessageReader } from '../src/ingress/read.js'
import { SinglePassReader } from '../src/ingress/single-pass.js'
import { IngressError } from '../src/ingress/errors.js'
import type { DecodeLimits } from '../src/ingress/decode.js'
import { DEVICE_TYPES, EVENT_KINDS, GENRES, CHANNELS } from '../src/model/events.js'
import { assertWithSeed, hostileMessage, validEvent } from './helpers/hostile.js'

const KEY = 'single-pass-key-0123456789abcdef'
const ACCOUNTS = ['acct-1', 'acct-2']
const SMALL: DecodeLimits = {
  maxMessageBytes: 16 * 1024, maxStringBytes: 512, maxBinBytes: 256, maxArrayLength: 64, maxMapEntries: 64, maxDepth: 8, maxEventsPerMessage: 1_000,
}
const DEFAULTS: DecodeLimits = new Ingress({ pseudonymKey: KEY }).limits
const FIELDS = ['v', 'id', 'ts', 'account', 'device', 'kind', 'deviceType', 'screenIn', 'content', 'genres', 'durationSec', 'ip', 'channel', 'campaign', 'value', 'truth']

/** What a reader gives, as plain data: the whole-message error, or the shape and each element. */
function outcome(reader: MessageReader, bytes: Uint8Array): unknown {
  try {
    const { shape, elements } = reader.read(bytes)
    return {
      shape,
      elements: elements.map((e) => e instanceof RejectedEvent
        ? { code: e.error.code, field: e.error.field, message: e.error.message, id: e.id, device: e.device, ip: e.ip }
        : { event: e, keys: Object.keys(e).join() }),
    }
  } catch (e) {
    if (!(e instanceof IngressError)) throw e
    return { code: e.code, message: e.message }
  }
}

// Values a field may hold, good and bad, of every msgpack type the schema meets.
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(1), fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }),
  fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.string({ minLength: 120, maxLength: 300 }),
  fc.constantFrom(...EVENT_KINDS, ...DEVICE_TYPES, ...CHANNELS, 'PLAY', 'Email', '', 'a.b', 'x y', '\uFEFFplay', `\uFEFF${'é'.repeat(120)}`),
  fc.array(fc.oneof(fc.constantFrom(...GENRES, 'Drama', 'zzz'), fc.integer(), fc.constant(null)), { maxLength: 20 }),
  fc.uint8Array({ maxLength: 8 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.integer(), { maxKeys: 3, noNullPrototype: true }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
)

// A valid event with some fields overridden, some removed and perhaps unknown ones added.
const nearEvent = fc.tuple(
  validEvent(ACCOUNTS),
  fc.dictionary(fc.constantFrom(...FIELDS, 'extra', 'Kind'), anyValue, { maxKeys: 3, noNullPrototype: true }),
  fc.subarray(FIELDS, { maxLength: 2 }),
).map(([e, over, drop]) => {
  const o: Record<string, unknown> = { ...e, ...over }
  for (const f of drop) delete o[f]
  return o
})

// The encoder's options vary the wire form: int64 headers for big integers, float32 for doubles.
const encoders = [new Encoder({ useBigInt64: true }), new Encoder({ useBigInt64: true, forceFloat32: true })]
function enc(v: unknown, which: number): Uint8Array {
  try {
    return encoders[which]!.encode(v)
  } catch {
    return encoders[0]!.encode(null) // a bigint outside int64/uint64 for that encoder: stands in as nil
  }
}

// A map built by hand from pairs: duplicate keys and non-string keys, which no encoder writes from an object.
function rawMap(pairs: readonly (readonly [unknown, unknown])[]): Uint8Array {
  const parts: Uint8Array[] = [pairs.length < 16 ? Uint8Array.of(0x80 | pairs.length) : Uint8Array.of(0xde, pairs.length >> 8, pairs.length & 0xff)]
  for (const [k, v] of pairs) parts.push(enc(k, 0), enc(v, 0))
  return Buffer.concat(parts)
}

const element = fc.oneof({ weight: 6, arbitrary: nearEvent }, { weight: 1, arbitrary: anyValue })
const message: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(nearEvent, fc.integer({ min: 0, max: 1 })).map(([e, w]) => enc(e, w)),
  fc.tuple(fc.array(element, { maxLength: 6 }), fc.integer({ min: 0, max: 1 })).map(([b, w]) => enc(b, w)),
  fc.tuple(validEvent(ACCOUNTS), fc.array(fc.tuple(fc.oneof(fc.constantFrom(...FIELDS), anyValue), anyValue), { maxLength: 4 }))
    .map(([e, extra]) => rawMap([...Object.entries(e), ...extra])),
  hostileMessage(SMALL).map((h) => h.bytes),
)

// Up to three edits of one byte each: overwrite, delete, insert, or cut the message there.
const mutated = fc.tuple(message, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'delete', 'insert', 'cut')), { minLength: 1, maxLength: 3 }))
  .map(([bytes, edits]) => {
    let b = Uint8Array.from(bytes)
    for (const [at, byte, op] of edits) {
      const i = b.length === 0 ? 0 : at % b.length
      if (op === 'set' && b.length > 0) b[i] = byte
      else if (op === 'delete') b = Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + 1)])
      else if (op === 'insert') b = Uint8Array.from([...b.subarray(0, i), byte, ...b.subarray(i)])
      else b = b.subarray(0, i)
    }
    return b
  })

describe('the single-pass ingress reader', () => {
  for (const [name, limits] of [['small limits', SMALL], ['default limits', DEFAULTS]] as const) {
    it(`reads random valid, near-valid and hostile messages exactly as the three passes do (${name})`, () => {
      const fast = new SinglePassReader(limits)
      const twin = new ThreePassReader(limits)
      assertWithSeed(fc.property(message, (bytes) => {
        expect(outcome(fast, bytes)).toEqual(outcome(twin, bytes))
      }), { numRuns: 4_000 })
    })

    it(`reads byte-mutated messages exactly as the three passes do (${name})`, () => {
      const fast = new SinglePassReader(limits)
      const twin = new ThreePassReader(limits)
      assertWithSeed(fc.property(mutated, (bytes) => {
        expect(outcome(fast, bytes)).toEqual(outcome(twin, bytes))
      }), { numRuns: 4_000 })
    })
  }

  for (const accountBinding of ['single', 'strict'] as const satisfies readonly AccountBinding[]) {
    it(`gives the same events and dead-letter records through the ingress (accountBinding ${accountBinding})`, () => {
      const fast = new Ingress({ ...SMALL, pseudonymKey: KEY, accountBinding }, 'single-pass')
      const twin = new Ingress({ ...SMALL, pseudonymKey: KEY, accountBinding }, 'three-pass')
      assertWithSeed(fc.property(fc.oneof(message, mutated), (bytes) => {
        const a = fast.decode('idr.ev.acct-1', bytes, 0)
        const b = twin.decode('idr.ev.acct-1', bytes, 0)
        expect(a).toEqual(b)
        expect(a.events.map((e) => Object.keys(e).join())).toEqual(b.events.map((e) => Object.keys(e).join()))
      }), { numRuns: 2_000 })
    })
  }

  it('decodes 64-bit integers, float32 and long strings with a byte-order mark as the library does', () => {
    const fast = new SinglePassReader(DEFAULTS)
    const twin = new ThreePassReader(DEFAULTS)
    const event = { v: 1, id: `\uFEFF${'x'.repeat(250)}`, ts: 2n ** 40n * 1000n, account: 'acct-1', device: '\uFEFFd', kind: 'touch', channel: 'Email', value: 0.1, truth: 'p1' }
    for (const bytes of [enc(event, 0), enc(event, 1), encode({ ...event, ts: 1_767_225_600_000, id: 'e' })]) {
      expect(outcome(fast, bytes)).toEqual(outcome(twin, bytes))
    }
  })
})
