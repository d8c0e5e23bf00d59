// Msgpack decoding with explicit limits. @msgpack/msgpack 3.x decodes iteratively (no stack overflow) and
// refuses `__proto__` keys, but has no depth limit, accepts number keys and `constructor`/`prototype` keys,
// turns extension types into Date/ExtData, and decodes invalid UTF-8 to U+FFFD. So every message is first
// walked once by `scanMessage`, which allocates nothing, and only bytes that pass reach the library.
import { isUtf8 } from 'node:buffer'
import { Decoder } from '@msgpack/msgpack'
import { IngressError } from './errors.js'

/** Limits on one message: sizes in bytes, lengths in elements, depth in nesting levels (top level = 1). */
export interface DecodeLimits {
  readonly maxMessageBytes: number
  readonly maxStringBytes: number
  readonly maxBinBytes: number
  /** Elements of a nested array; the top-level batch is bounded by maxEventsPerMessage instead. */
  readonly maxArrayLength: number
  readonly maxMapEntries: number
  readonly maxDepth: number
  readonly maxEventsPerMessage: number
}

/** What the top level of an accepted message is: one event or a batch. */
export type MessageShape = 'map' | 'array'

const encoder = new TextEncoder()
const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'].map((k) => encoder.encode(k))

function bad(message: string): IngressError {
  return new IngressError('BAD_MSGPACK', message)
}

function limit(message: string): IngressError {
  return new IngressError('LIMIT_EXCEEDED', message)
}

// Big-endian unsigned integer of `width` (1, 2 or 4) bytes at p; the caller has checked p + width ≤ length.
function uint(b: Uint8Array, p: number, width: number): number {
  if (width === 1) return b[p]!
  if (width === 2) return (b[p]! << 8) | b[p + 1]!
  return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!)
}

function isForbiddenKey(b: Uint8Array, start: number, len: number): boolean {
  if (len !== 9 && len !== 11) return false
  outer: for (const k of FORBIDDEN_KEYS) {
    if (k.length !== len) continue
    for (let i = 0; i < len; i++) if (b[start + i] !== k[i]) continue outer
    return true
  }
  return false
}

// msgpack strings are UTF-8 by spec; invalid bytes would silently become U+FFFD and merge distinct ids.
function checkUtf8(b: Uint8Array, start: number, len: number, at: number): void {
  for (let i = start, end = start + len; i < end; i++) {
    if (b[i]! >= 0x80) {
      if (!isUtf8(b.subarray(start, end))) throw bad(`string at byte ${at} is not valid UTF-8`)
      return
    }
  }
}

/**
 * Checks that `b` is exactly one msgpack value within `limits`, with string map keys, no forbidden keys and
 * no extension types, and returns its top-level shape; throws IngressError otherwise. Iterative: the
 * nesting depth is bounded by limits.maxDepth, never by the JS call stack. `remaining`/`isMap` are scratch
 * space of length ≥ maxDepth + 1 (items left and map flag per open container).
 */
export function scanMessage(b: Uint8Array, limits: DecodeLimits, remaining: Float64Array, isMap: Uint8Array): MessageShape {
  const n = b.length
  if (n > limits.maxMessageBytes) {
    throw new IngressError('TOO_LARGE', `message is ${n} bytes, at most ${limits.maxMessageBytes} (maxMessageBytes)`)
  }
  if (n === 0) throw bad('message is empty')
  let pos = 0
  let depth = 0
  for (;;) {
    if (pos >= n) throw bad(`message ends inside a value (${n} bytes)`)
    const at = pos
    const h = b[pos]!
    // Exactly one of: a scalar of `size` bytes, a string/bin payload of `len` bytes after `hdr`, a container of `len` items.
    let size = 0
    let hdr = 0
    let len = 0
    let str = false
    let container = 0 // 0 none, 1 array, 2 map
    if (h <= 0x7f || h >= 0xe0 || h === 0xc0 || h === 0xc2 || h === 0xc3) size = 1
    else if (h <= 0x8f) { container = 2; hdr = 1; len = h & 0x0f }
    else if (h <= 0x9f) { container = 1; hdr = 1; len = h & 0x0f }
    else if (h <= 0xbf) { str = true; hdr = 1; len = h & 0x1f }
    else if (h === 0xd9 || h === 0xda || h === 0xdb) { str = true; hdr = 1 + (1 << (h - 0xd9)) }
    else if (h === 0xc4 || h === 0xc5 || h === 0xc6) hdr = 1 + (1 << (h - 0xc4))
    else if (h === 0xdc || h === 0xdd) { container = 1; hdr = h === 0xdc ? 3 : 5 }
    else if (h === 0xde || h === 0xdf) { container = 2; hdr = h === 0xde ? 3 : 5 }
    else if (h === 0xca) size = 5
    else if (h === 0xcb) size = 9
    else if (h >= 0xcc && h <= 0xd3) size = 1 + (1 << ((h - 0xcc) & 3))
    else if (h === 0xc1) throw bad(`reserved byte 0xc1 at byte ${at}`)
    else throw bad(`extension type at byte ${at}: events never contain extensions or timestamps`)

    if (depth > 0 && isMap[depth] === 1 && remaining[depth]! % 2 === 0 && !str) {
      throw bad(`map key at byte ${at} is not a string`)
    }
    if (size > 0) {
      if (pos + size > n) throw bad(`message ends inside a number at byte ${at}`)
      pos += size
    } else {
      if (pos + hdr > n) throw bad(`message ends inside a header at byte ${at}`)
      if (hdr > 1) len = uint(b, pos + 1, hdr - 1)
      pos += hdr
      if (container === 0) {
        // a header that claims more bytes than the message holds is malformed, whatever the limits say
        if (pos + len > n) throw bad(`message ends inside a ${str ? 'string' : 'bin'} at byte ${at}`)
        const max = str ? limits.maxStringBytes : limits.maxBinBytes
        if (len > max) throw limit(`${str ? 'string' : 'bin'} of ${len} bytes at byte ${at}, at most ${max} (${str ? 'maxStringBytes' : 'maxBinBytes'})`)
        if (str) {
          if (depth > 0 && isMap[depth] === 1 && remaining[depth]! % 2 === 0 && isForbiddenKey(b, pos, len)) {
            throw new IngressError('FORBIDDEN_KEY', `map key "${new TextDecoder().decode(b.subarray(pos, pos + len))}" at byte ${at} is not allowed`)
          }
          checkUtf8(b, pos, len, at)
        }
        pos += len
      } else {
        const items = container === 2 ? 2 * len : len
        // Every item takes at least one byte: a lying length is malformed (BAD_MSGPACK, before any limit) and
        // fails here, before anything is allocated.
        if (items > n - pos) throw bad(`${container === 2 ? 'map' : 'array'} at byte ${at} declares ${len} entries but ${n - pos} bytes follow`)
        if (depth + 1 > limits.maxDepth) throw limit(`nesting deeper than ${limits.maxDepth} levels at byte ${at} (maxDepth)`)
        if (container === 2) {
          if (len > limits.maxMapEntries) throw limit(`map of ${len} entries at byte ${at}, at most ${limits.maxMapEntries} (maxMapEntries)`)
        } else if (depth === 0) {
          if (len > limits.maxEventsPerMessage) {
            throw new IngressError('TOO_MANY_EVENTS', `batch of ${len} events, at most ${limits.maxEventsPerMessage} (maxEventsPerMessage)`)
          }
        } else if (len > limits.maxArrayLength) {
          throw limit(`array of ${len} elements at byte ${at}, at most ${limits.maxArrayLength} (maxArrayLength)`)
        }
        if (items > 0) {
          depth++
          remaining[depth] = items
          isMap[depth] = container === 2 ? 1 : 0
          continue
        }
      }
    }
    // One item is complete: count it off its container, closing every container it completes.
    while (depth > 0) {
      const left = remaining[depth]! - 1
      if (left > 0) { remaining[depth] = left; break }
      depth--
    }
    if (depth === 0) break
  }
  if (pos !== n) throw bad(`${n - pos} trailing bytes after the value (message is ${n} bytes)`)
  const top = b[0]!
  if ((top >= 0x80 && top <= 0x8f) || top === 0xde || top === 0xdf) return 'map'
  if ((top >= 0x90 && top <= 0x9f) || top === 0xdc || top === 0xdd) return 'array'
  throw new IngressError('NOT_AN_EVENT', 'a message must be one event (a map) or a batch (an array of maps)')
}

function stringKey(key: unknown): string {
  if (typeof key === 'string') return key
  throw bad('map keys must be strings')
}

/** Scans, then decodes, one message; reusable, not re-entrant-safe across threads (one per ingress). */
export class MessageDecoder {
  readonly limits: DecodeLimits
  readonly #remaining: Float64Array
  readonly #isMap: Uint8Array
  readonly #decoder: Decoder

  constructor(limits: DecodeLimits) {
    this.limits = Object.freeze({ ...limits })
    this.#remaining = new Float64Array(limits.maxDepth + 1)
    this.#isMap = new Uint8Array(limits.maxDepth + 1)
    // The library's own limits repeat the scan's, as a second line of defence.
    this.#decoder = new Decoder({
      maxStrLength: limits.maxStringBytes,
      maxBinLength: limits.maxBinBytes,
      maxArrayLength: Math.max(limits.maxArrayLength, limits.maxEventsPerMessage),
      maxMapLength: limits.maxMapEntries,
      maxExtLength: 0,
      mapKeyConverter: stringKey,
    })
  }

  /** The decoded top-level value and its shape; throws IngressError for any whole-message failure. */
  decode(bytes: Uint8Array): { shape: MessageShape, value: unknown } {
    const shape = scanMessage(bytes, this.limits, this.#remaining, this.#isMap)
    try {
      return { shape, value: this.#decoder.decode(bytes) }
    } catch (e) {
      if (e instanceof IngressError) throw e
      throw bad(`msgpack decoder: ${e instanceof Error ? e.message.slice(0, 100) : 'unknown failure'}`)
    }
  }
}
