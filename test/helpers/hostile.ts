// fast-check arbitraries for the ingress and the engine-level tests: schema-valid events, and hostile bus
// messages of known kinds, each of which must yield exactly one DLQ record and no event.
//
// Replaying a failure: runs are seeded (DEFAULT_FUZZ_SEED, or IDR_FUZZ_SEED from the environment);
// `assertWithSeed` logs the seed before the run, and fast-check's failure report ends with
// `{ seed: S, path: "P", endOnFailure: true }`. Re-run the same test with IDR_FUZZ_SEED=S IDR_FUZZ_PATH=P
// to replay just the shrunk counterexample.
import { Decoder, Encoder, ExtData } from '@msgpack/msgpack'
import fc from 'fast-check'
import {
  DEFAULT_MAX_ARRAY_LENGTH, DEFAULT_MAX_BIN_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_EVENTS_PER_MESSAGE, DEFAULT_MAX_MAP_ENTRIES,
  DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_STRING_BYTES,
} from '../../src/ingress/ingress.js'
import { CHANNELS, DEVICE_TYPES, EVENT_KINDS, EVENT_LIMITS, GENRES, validateEvent, type IdrEvent } from '../../src/model/events.js'

/** The fixed seed of every fuzz run unless IDR_FUZZ_SEED is set. */
export const DEFAULT_FUZZ_SEED = 20_260_105

/** Event times of generated valid events: the first half of 2026, epoch ms (fixed, so runs replay). */
export const TS_RANGE = { min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 6, 1) } as const

/** A schema-valid event as a publisher sends it; `id` is random, assign unique ids where that matters. */
export type EventInput = { -readonly [K in keyof IdrEvent]: IdrEvent[K] }

const YEAR_MS = 365.25 * 86_400_000
const PLAYBACK_KINDS_GENERATED = ['play', 'heartbeat', 'stop'] as const

/** Schema-valid events of kinds play/heartbeat/stop/touch/convert for the given accounts, ts within TS_RANGE. */
export function validEvent(accounts: readonly string[]): fc.Arbitrary<EventInput> {
  if (accounts.length === 0) throw new Error('validEvent needs at least one account')
  const common = fc.record({
    id: fc.integer({ min: 0, max: 0x7fff_ffff }).map((n) => `e-${n.toString(36)}`),
    ts: fc.integer({ min: TS_RANGE.min, max: TS_RANGE.max }),
    account: fc.constantFrom(...accounts),
    // small pools, as in real households: devices and addresses recur (and the pseudonym cache gets hits)
    device: fc.integer({ min: 0, max: 999 }).map((n) => `dev-${n.toString(36)}`),
    ip: fc.integer({ min: 0, max: 511 }).map((n) => `${n < 256 ? '198.51.100' : '203.0.113'}.${n % 256}`), // documentation ranges (RFC 5737)
    truth: fc.constantFrom('p1', 'p2', 'p3', 'p1+p2'),
  }, { requiredKeys: ['id', 'ts', 'account', 'device'], noNullPrototype: true })
  const play = fc.record({
    kind: fc.constant('play' as const),
    deviceType: fc.constantFrom(...DEVICE_TYPES),
    content: fc.integer({ min: 0, max: 9_999 }).map((n) => `c-${n}`),
    genres: fc.subarray([...GENRES], { maxLength: 3 }),
    durationSec: fc.integer({ min: 0, max: 600 }),
    screenIn: fc.integer({ min: 5, max: 85 }),
  }, { requiredKeys: ['kind', 'deviceType', 'content'], noNullPrototype: true })
  const session = fc.record({
    kind: fc.constantFrom(...PLAYBACK_KINDS_GENERATED.slice(1)),
    deviceType: fc.constantFrom(...DEVICE_TYPES),
    durationSec: fc.integer({ min: 0, max: 600 }),
  }, { requiredKeys: ['kind'], noNullPrototype: true })
  const touch = fc.record({
    kind: fc.constant('touch' as const),
    channel: fc.constantFrom(...CHANNELS),
    campaign: fc.integer({ min: 0, max: 999 }).map((n) => `cmp-${n}`),
  }, { requiredKeys: ['kind', 'channel'], noNullPrototype: true })
  const convert = fc.record({
    kind: fc.constant('convert' as const),
    value: fc.integer({ min: 0, max: 1_000_000 }).map((cents) => cents / 100),
  }, { requiredKeys: ['kind'], noNullPrototype: true })
  return fc.tuple(common, fc.oneof(play, session, touch, convert)).map(([c, k]) => ({ v: 1, ...c, ...k }) as EventInput)
}

/** The kinds of hostile message `hostileMessage` produces. */
export const HOSTILE_KINDS = [
  'random-bytes', 'truncated', 'trailing-bytes', 'extension', 'non-string-key', 'not-an-event', 'wrong-type', 'non-finite',
  'huge-string', 'huge-array', 'deep-nesting', 'proto-key', 'oversized', 'unknown-kind', 'ts-out-of-range', 'missing-field',
] as const
export type HostileKind = (typeof HOSTILE_KINDS)[number]

/** One bad bus message, its kind, and the DLQ codes it may legitimately get (exactly one record either way). */
export interface HostileMessage {
  readonly kind: HostileKind
  readonly bytes: Uint8Array
  readonly codes: readonly string[]
}

/** The ingress limits the hostile generators aim just past (pass the same values to the Ingress). */
export interface HostileLimits {
  maxMessageBytes: number
  maxStringBytes: number
  maxBinBytes: number
  maxArrayLength: number
  maxMapEntries: number
  maxDepth: number
  maxEventsPerMessage: number
}

const DEFAULT_LIMITS: HostileLimits = {
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  maxStringBytes: DEFAULT_MAX_STRING_BYTES,
  maxBinBytes: DEFAULT_MAX_BIN_BYTES,
  maxArrayLength: DEFAULT_MAX_ARRAY_LENGTH,
  maxMapEntries: DEFAULT_MAX_MAP_ENTRIES,
  maxDepth: DEFAULT_MAX_DEPTH,
  maxEventsPerMessage: DEFAULT_MAX_EVENTS_PER_MESSAGE,
}

const WHOLE = ['TOO_LARGE', 'BAD_MSGPACK', 'LIMIT_EXCEEDED', 'FORBIDDEN_KEY', 'NOT_AN_EVENT', 'TOO_MANY_EVENTS'] as const
const PER_EVENT = ['NOT_AN_OBJECT', 'MISSING_FIELD', 'BAD_TYPE', 'BAD_VERSION', 'BAD_KIND', 'BAD_DEVICE_TYPE', 'OUT_OF_RANGE', 'TOO_LONG'] as const
const ANY_CODE: readonly string[] = [...WHOLE, ...PER_EVENT]

type Raw = Record<string, unknown>

const encoder = new Encoder() // one instance: `encode()` would allocate a fresh encoder and buffer per call
const enc = (value: unknown): Uint8Array => encoder.encode(value)

// A msgpack str32 of `ch` repeated until it has at least minBytes UTF-8 bytes, built without a JS string.
function strBytes(ch: string, minBytes: number): Uint8Array {
  const unit = new TextEncoder().encode(ch)
  const count = Math.ceil(minBytes / unit.length)
  const out = new Uint8Array(5 + count * unit.length)
  out[0] = 0xdb
  new DataView(out.buffer).setUint32(1, count * unit.length)
  if (unit.length === 1) out.fill(unit[0]!, 5)
  else for (let i = 0; i < count; i++) out.set(unit, 5 + i * unit.length)
  return out
}

function without(e: Raw, field: string): Raw {
  const o = { ...e }
  delete o[field]
  return o
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

// An encoded event with one more raw entry appended (events have < 15 fields, so the header is a fixmap).
function withEntry(e: Raw, key: Uint8Array, value: Uint8Array): Uint8Array {
  const b = enc(e)
  if (b[0]! < 0x80 || b[0]! >= 0x8f) throw new Error('withEntry needs an event encoded as a fixmap of < 15 entries')
  return concat(Uint8Array.of(b[0]! + 1), b.subarray(1), key, value)
}

// A one-element batch or the bare event: both must give exactly one record.
function maybeBatch(e: unknown, batch: boolean): Uint8Array {
  return enc(batch ? [e] : e)
}

// Independent oracle for random bytes: exactly one record means the library cannot decode them, or the value is
// not a map/array, or it is a map (or a one-element array) that the validator rejects. Anything else (a valid
// event, an empty batch, a batch of several elements) is not a single bad message and is filtered out.
const oracle = new Decoder()
function oneRejection(bytes: Uint8Array): boolean {
  let value: unknown
  try {
    value = oracle.decode(bytes)
  } catch {
    return true
  }
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array || value instanceof Date || value instanceof ExtData) return true
  if (Array.isArray(value)) {
    if (value.length !== 1) return false
    value = value[0]
  }
  try {
    validateEvent(value)
    return false
  } catch {
    return true
  }
}

/** Hostile messages of every HOSTILE_KINDS kind, aimed just past `limits` (defaults: the ingress defaults). */
export function hostileMessage(limits: Partial<HostileLimits> = {}): fc.Arbitrary<HostileMessage> {
  const L = { ...DEFAULT_LIMITS, ...limits }
  // The generators build valid events around one defect; those must themselves fit the limits.
  if (L.maxStringBytes < 128 || L.maxArrayLength < 16 || L.maxMapEntries < 16 || L.maxDepth < 3 || L.maxMessageBytes < 4096) {
    throw new Error('hostileMessage needs maxStringBytes ≥ 128, maxArrayLength ≥ 16, maxMapEntries ≥ 16, maxDepth ≥ 3, maxMessageBytes ≥ 4096')
  }
  const base = validEvent(['acct-h1', 'acct-h2']).map((e) => ({ ...e }) as Raw)
  const tag = (kind: HostileKind, codes: readonly string[]) => (bytes: Uint8Array): HostileMessage => {
    const h = { kind, bytes, codes }
    // fast-check prints counterexamples with this: kind, length and the first 48 bytes, not the whole payload
    const show = (): string => `${kind}(${bytes.length} B: ${Buffer.from(bytes.subarray(0, 48)).toString('hex')}${bytes.length > 48 ? '…' : ''})`
    Object.defineProperty(h, fc.toStringMethod, { value: show })
    return h
  }
  const over = (limit: number, by = 64) => fc.integer({ min: limit + 1, max: limit + by })

  const randomBytes = fc.tuple(fc.constantFrom(-1, 0x81, 0x85, 0x91, 0xde, 0xdc), fc.uint8Array({ maxLength: 48 }))
    .map(([head, rest]) => (head < 0 ? rest : concat(Uint8Array.of(head), rest)))
    .filter(oneRejection)
    .map(tag('random-bytes', ANY_CODE))

  const truncated = fc.tuple(fc.oneof(base, fc.array(base, { minLength: 1, maxLength: 3 })), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }))
    .map(([v, f]) => {
      const b = enc(v)
      return b.subarray(0, Math.floor(f * b.length)) // a strict prefix: msgpack is prefix-free, so never a whole value
    })
    .map(tag('truncated', ['BAD_MSGPACK']))

  const trailing = fc.tuple(base, fc.uint8Array({ minLength: 1, maxLength: 8 }))
    .map(([e, extra]) => concat(enc(e), extra))
    .map(tag('trailing-bytes', ['BAD_MSGPACK']))

  const extension = fc.tuple(base, fc.oneof(
    fc.integer({ min: 0, max: 4_102_444_799_999 }).map((ms) => enc(new Date(ms))), // timestamp, type -1
    fc.tuple(fc.integer({ min: -128, max: 127 }), fc.uint8Array({ maxLength: 20 })).map(([t, d]) => enc(new ExtData(t, d))),
  )).map(([e, ext]) => withEntry(e, enc('when'), ext))
    .map(tag('extension', ['BAD_MSGPACK']))

  const nonStringKey = fc.tuple(base, fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.boolean(), fc.constant(null), fc.double({ noNaN: true })))
    .map(([e, k]) => withEntry(e, enc(k), enc(1)))
    .map(tag('non-string-key', ['BAD_MSGPACK']))

  const notAnEvent = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ unit: 'grapheme-composite', maxLength: 20 }))
    .map((v) => enc(v))
    .map(tag('not-an-event', ['NOT_AN_EVENT']))

  const stringFields = ['id', 'account', 'device', 'kind', 'deviceType', 'content', 'ip', 'truth'] as const
  const notString = fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant([]), fc.constant({ a: 1 }))
  const notNumber = fc.oneof(fc.string({ maxLength: 8 }), fc.boolean(), fc.constant([1]), fc.constant({ n: 1 }))
  const wrongType = fc.tuple(base, fc.oneof(
    fc.tuple(fc.constantFrom(...stringFields), notString),
    fc.tuple(fc.constantFrom('ts', 'durationSec', 'screenIn'), notNumber),
    fc.tuple(fc.constant('genres'), fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant({ g: 'drama' }), fc.constant(['drama', 7]))),
    fc.tuple(fc.constant('v'), fc.oneof(fc.constant('1'), fc.constant(2), fc.constant(true), fc.constant([1]), fc.double({ min: 1.5, max: 9, noNaN: true }))),
  ), fc.boolean())
    .map(([e, [field, value], batch]) => maybeBatch({ ...e, [field]: value }, batch))
    .map(tag('wrong-type', ['BAD_TYPE', 'BAD_VERSION']))

  const nonFinite = fc.tuple(base, fc.constantFrom('ts', 'durationSec', 'screenIn'), fc.constantFrom(NaN, Infinity, -Infinity), fc.boolean())
    .map(([e, field, value, batch]) => maybeBatch({ ...e, [field]: value }, batch))
    .map(tag('non-finite', ['OUT_OF_RANGE']))

  const hugeString = fc.oneof(
    fc.tuple(base, fc.constantFrom('id', 'account', 'device', 'content', 'note'), over(L.maxStringBytes), fc.constantFrom('x', 'é', '€'))
      .map(([e, field, bytes, ch]) => withEntry(without(e, field), enc(field), strBytes(ch, bytes))),
    fc.tuple(base, over(L.maxStringBytes)).map(([e, bytes]) => withEntry(e, strBytes('k', bytes), enc(1))),
    fc.tuple(base, over(L.maxBinBytes)).map(([e, bytes]) => withEntry(e, enc('blob'), enc(new Uint8Array(bytes)))),
  ).map(tag('huge-string', ['LIMIT_EXCEEDED', 'TOO_LARGE']))

  const hugeArray = fc.oneof(
    fc.tuple(base, over(L.maxArrayLength)).map(([e, n]) => enc({ ...e, genres: Array<string>(n).fill('drama') }))
      .map(tag('huge-array', ['LIMIT_EXCEEDED', 'TOO_LARGE'])),
    fc.tuple(base, over(L.maxMapEntries)).map(([e, n]) => enc({ ...e, meta: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])) }))
      .map(tag('huge-array', ['LIMIT_EXCEEDED', 'TOO_LARGE'])),
    over(L.maxEventsPerMessage).map((n) => { // a batch of n nils, header array32
      const b = new Uint8Array(5 + n).fill(0xc0)
      b[0] = 0xdd
      new DataView(b.buffer).setUint32(1, n)
      return b
    }).map(tag('huge-array', ['TOO_MANY_EVENTS', 'TOO_LARGE'])),
    fc.tuple(fc.constantFrom(0xdd, 0xdf), fc.integer({ min: 17, max: 0xffff_ffff }), fc.uint8Array({ maxLength: 16 })).map(([h, n, rest]) => {
      const b = new Uint8Array(5)
      b[0] = h
      new DataView(b.buffer).setUint32(1, n)
      return concat(b, rest) // claims ≥ 17 entries, ≤ 16 bytes follow: a lie
    }).map(tag('huge-array', ['BAD_MSGPACK', 'LIMIT_EXCEEDED', 'TOO_MANY_EVENTS'])),
  )

  const deepNesting = fc.tuple(fc.integer({ min: L.maxDepth + 1, max: L.maxDepth + 2_000 }), fc.constantFrom('array', 'map', 'field'), base)
    .map(([depth, how, e]) => {
      if (how === 'array') return concat(new Uint8Array(depth).fill(0x91), Uint8Array.of(0xc0))
      const level = Uint8Array.of(0x81, 0xa1, 0x61) // {"a": …
      const nested = concat(...Array<Uint8Array>(depth).fill(level), Uint8Array.of(0xc0))
      return how === 'map' ? nested : withEntry(e, enc('meta'), nested)
    })
    .map(tag('deep-nesting', ['LIMIT_EXCEEDED', 'TOO_LARGE']))

  const protoKey = fc.tuple(base, fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.constantFrom('top', 'nested', 'batch'))
    .map(([e, key, where]) => {
      const evil = JSON.parse(`{"${key}": {"polluted": true}}`) as Raw // an own property named like the key
      if (where === 'top') return enc({ ...e, ...evil })
      if (where === 'nested') return enc({ ...e, meta: { deeper: evil } })
      return enc([{ ...e, ...evil }])
    })
    .map(tag('proto-key', ['FORBIDDEN_KEY']))

  const oversized = fc.tuple(base, over(L.maxMessageBytes, 4096))
    .map(([e, bytes]) => withEntry(e, enc('pad'), strBytes('p', bytes)))
    .map(tag('oversized', ['TOO_LARGE']))

  const unknownKind = fc.tuple(base, fc.oneof(
    fc.string({ unit: 'grapheme-composite', maxLength: 24 }).filter((k) => !(EVENT_KINDS as readonly string[]).includes(k)),
    fc.constantFrom('PLAY', 'Play', 'play ', 'rewind', 'impression', 'pause2'),
  ), fc.boolean())
    .map(([e, kind, batch]) => maybeBatch({ ...e, kind }, batch))
    .map(tag('unknown-kind', ['BAD_KIND', 'MISSING_FIELD', 'TOO_LONG']))

  const tsOff = fc.tuple(base, fc.oneof(
    fc.integer({ min: 1, max: 5_000 }).map((years) => EVENT_LIMITS.tsMin - Math.round(years * YEAR_MS)),
    fc.integer({ min: 1, max: 5_000 }).map((years) => EVENT_LIMITS.tsMax + Math.round(years * YEAR_MS)),
    fc.integer({ min: TS_RANGE.min, max: TS_RANGE.max }).map((ms) => Math.floor(ms / 1000)), // seconds, not ms
    fc.integer({ min: TS_RANGE.min, max: TS_RANGE.max }).map((ms) => ms * 1000), // microseconds
    fc.integer({ min: TS_RANGE.min, max: TS_RANGE.max }).map((ms) => ms + 0.5), // not an integer
    fc.constantFrom(-1, 0, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 2 ** 64),
  ), fc.boolean())
    .map(([e, ts, batch]) => maybeBatch({ ...e, ts }, batch))
    .map(tag('ts-out-of-range', ['OUT_OF_RANGE', 'BAD_TYPE']))

  const missing = fc.tuple(base, fc.constantFrom('v', 'id', 'ts', 'account', 'device', 'kind', 'deviceType', 'content', 'channel'), fc.constantFrom('delete', 'null', 'empty'), fc.boolean())
    .map(([e, field, how, batch]) => {
      const o: Raw = { ...e }
      if (field === 'deviceType' || field === 'content') o['kind'] = 'play'
      if (field === 'channel') o['kind'] = 'touch'
      const stringField = field !== 'v' && field !== 'ts'
      // v: null is BAD_VERSION and deviceType: '' is BAD_DEVICE_TYPE, not missing
      if (how === 'delete' || field === 'v') delete o[field]
      else o[field] = how === 'empty' && stringField && field !== 'deviceType' ? '' : null
      return maybeBatch(o, batch)
    })
    .map(tag('missing-field', ['MISSING_FIELD']))

  return fc.oneof(
    randomBytes, truncated, trailing, extension, nonStringKey, notAnEvent, wrongType, nonFinite,
    hugeString, hugeArray, deepNesting, protoKey, oversized, unknownKind, tsOff, missing,
  )
}

/** The seed of a fuzz run: IDR_FUZZ_SEED from the environment (to replay), else DEFAULT_FUZZ_SEED. */
export function fuzzSeed(): number {
  const s = process.env['IDR_FUZZ_SEED']
  return s === undefined || s === '' ? DEFAULT_FUZZ_SEED : Number(s)
}

/** fc.assert with the fixed seed, logged first; IDR_FUZZ_PATH replays one counterexample (see the header). */
export function assertWithSeed<T>(property: fc.IProperty<T>, params: fc.Parameters<T> = {}): void {
  const seed = fuzzSeed()
  const path = process.env['IDR_FUZZ_PATH']
  console.log(`fuzz seed ${seed} (replay with IDR_FUZZ_SEED=${seed}${path ? ` IDR_FUZZ_PATH=${path}` : ''})`)
  fc.assert(property, { ...params, seed, ...(path ? { path } : {}) })
}
