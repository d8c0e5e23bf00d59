// A fixed-shape msgpack writer for the generator's events: the publisher must outrun the engine and the
// null consumer, and @msgpack/msgpack's general encoder managed only ~110–190k events/s here (measured on
// this machine, docs/benchmarks.md "Load over NATS"), below what one subscriber decodes. Keys are encoded
// once, every string is ASCII (the generator makes them), integers take the smallest msgpack form. The bytes
// decode to the same object with any msgpack decoder (checked against @msgpack/msgpack in test/load.test.ts).
import type { LoadEvent } from './generator.js'

const KEYS = ['v', 'id', 'ts', 'account', 'device', 'kind', 'deviceType', 'screenIn', 'content', 'genres', 'durationSec'] as const
/** Each key as a msgpack fixstr. */
const KEY_BYTES = KEYS.map((k) => Uint8Array.from([0xa0 | k.length, ...Array.from(k, (c) => c.charCodeAt(0))]))
/** Upper bound of one encoded event: keys + 8 strings of at most 255 bytes + numbers. */
const MAX_EVENT_BYTES = 64 + KEY_BYTES.reduce((s, k) => s + k.length, 0) + 8 * 257 + 3 * 9

/** Reusable output buffer; grows when a batch needs more. */
let buf = new Uint8Array(1 << 16)

function ensure(bytes: number): void {
  if (bytes > buf.length) buf = new Uint8Array(Math.max(bytes, buf.length * 2))
}

function str(s: string, o: number): number {
  const n = s.length
  if (n < 32) buf[o++] = 0xa0 | n
  else {
    buf[o++] = 0xd9
    buf[o++] = n
  }
  for (let i = 0; i < n; i++) buf[o++] = s.charCodeAt(i)
  return o
}

/** A non-negative safe integer in its smallest msgpack form. */
function uint(v: number, o: number): number {
  if (v < 128) buf[o++] = v
  else if (v < 256) {
    buf[o++] = 0xcc
    buf[o++] = v
  } else if (v < 65536) {
    buf[o++] = 0xcd
    buf[o++] = v >>> 8
    buf[o++] = v & 0xff
  } else if (v < 4294967296) {
    buf[o++] = 0xce
    buf[o++] = v >>> 24
    buf[o++] = (v >>> 16) & 0xff
    buf[o++] = (v >>> 8) & 0xff
    buf[o++] = v & 0xff
  } else {
    const hi = Math.floor(v / 4294967296)
    const lo = v >>> 0
    buf[o++] = 0xcf
    buf[o++] = hi >>> 24
    buf[o++] = (hi >>> 16) & 0xff
    buf[o++] = (hi >>> 8) & 0xff
    buf[o++] = hi & 0xff
    buf[o++] = lo >>> 24
    buf[o++] = (lo >>> 16) & 0xff
    buf[o++] = (lo >>> 8) & 0xff
    buf[o++] = lo & 0xff
  }
  return o
}

function key(i: number, o: number): number {
  const k = KEY_BYTES[i]!
  buf.set(k, o)
  return o + k.length
}

function event(e: LoadEvent, o: number): number {
  buf[o++] = 0x80 | KEYS.length
  o = key(0, o); buf[o++] = e.v
  o = key(1, o); o = str(e.id, o)
  o = key(2, o); o = uint(e.ts, o)
  o = key(3, o); o = str(e.account, o)
  o = key(4, o); o = str(e.device, o)
  o = key(5, o); o = str(e.kind, o)
  o = key(6, o); o = str(e.deviceType, o)
  o = key(7, o); o = uint(e.screenIn, o)
  o = key(8, o); o = str(e.content, o)
  o = key(9, o); buf[o++] = 0x90 | e.genres.length
  for (const g of e.genres) o = str(g, o)
  o = key(10, o); o = uint(e.durationSec, o)
  return o
}

/** One event as a msgpack map (a fresh copy). */
export function encodeEvent(e: LoadEvent): Uint8Array {
  ensure(MAX_EVENT_BYTES)
  return buf.slice(0, event(e, 0))
}

/** Events as a msgpack array (a fresh copy). */
export function encodeEvents(events: readonly LoadEvent[]): Uint8Array {
  ensure(5 + events.length * MAX_EVENT_BYTES)
  let o = 0
  const n = events.length
  if (n < 16) buf[o++] = 0x90 | n
  else if (n < 65536) {
    buf[o++] = 0xdc
    buf[o++] = n >>> 8
    buf[o++] = n & 0xff
  } else {
    buf[o++] = 0xdd
    buf[o++] = n >>> 24
    buf[o++] = (n >>> 16) & 0xff
    buf[o++] = (n >>> 8) & 0xff
    buf[o++] = n & 0xff
  }
  for (const e of events) o = event(e, o)
  return buf.slice(0, o)
}
