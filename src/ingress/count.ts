// How many events a message holds, read from its first msgpack header without decoding it: for counting
// the events of a message the engine sheds undecoded (OVERLOADED), so that a shed batch counts as its events.

const FIXARRAY_MIN = 0x90 // 0x90–0x9f: array of 0–15 elements, the length in the low nibble
const FIXARRAY_MAX = 0x9f
const ARRAY16 = 0xdc // then a big-endian uint16 length
const ARRAY32 = 0xdd // then a big-endian uint32 length

/**
 * The events of a message by its top-level header: an array's length (a batch), else 1 (a map is one event;
 * anything else is one rejected thing). The header is not trusted beyond the bytes: each element takes at
 * least one byte, so a length over the bytes that follow counts those bytes, and a cut-off header counts 1.
 */
export function messageEventCount(b: Uint8Array): number {
  const h = b[0]
  if (h === undefined) return 1
  if (h >= FIXARRAY_MIN && h <= FIXARRAY_MAX) return Math.min(h - FIXARRAY_MIN, b.length - 1)
  if (h === ARRAY16) {
    if (b.length < 3) return 1
    return Math.min((b[1]! << 8) | b[2]!, b.length - 3)
  }
  if (h === ARRAY32) {
    if (b.length < 5) return 1
    return Math.min(b[1]! * 0x1000000 + ((b[2]! << 16) | (b[3]! << 8) | b[4]!), b.length - 5)
  }
  return 1
}
