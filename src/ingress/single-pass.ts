// The ingress in one pass: one walk over a message's bytes that enforces the decode limits exactly as
// scanMessage does (same checks, same order, so the same first error) and builds the validated events
// directly, as validateEvent would from the decoded message. Nothing but schema fields is materialised:
// unknown fields are checked and skipped, and no intermediate object is built per event.
// Its reference twin is the three passes it replaced (ThreePassReader, read.ts); test/ingress-single-pass.test.ts
// holds the two to identical results and error codes on random valid, hostile and mutated messages.
import { isUtf8 } from 'node:buffer'
import {
  CHANNELS, DEVICE_TYPES, EVENT_KINDS, EVENT_LIMITS, EventError, GENRES, PLAYBACK_KINDS, SCHEMA_VERSION, checkAccount, checkNumber, checkString, oneOf,
  type Channel, type DeviceType, type EventKind, type Genre, type IdrEvent,
} from '../model/events.js'
import type { DecodeLimits, MessageShape } from './decode.js'
import { IngressError } from './errors.js'
import { RejectedEvent, type MessageReader, type ReadMessage } from './read.js'

// The schema fields, indexing the slots one event's values are gathered in (validate() checks them in validateEvent's order).
const FIELDS = ['v', 'id', 'ts', 'account', 'device', 'kind', 'deviceType', 'screenIn', 'content', 'genres', 'durationSec', 'ip', 'channel', 'campaign', 'value', 'truth'] as const
const F_V = 0, F_ID = 1, F_TS = 2, F_ACCOUNT = 3, F_DEVICE = 4, F_KIND = 5, F_DEVICE_TYPE = 6, F_SCREEN_IN = 7, F_CONTENT = 8
const F_GENRES = 9, F_DURATION = 10, F_IP = 11, F_CHANNEL = 12, F_CAMPAIGN = 13, F_VALUE = 14, F_TRUTH = 15
const encoder = new TextEncoder()
const FIELD_BYTES = FIELDS.map((f) => encoder.encode(f))
const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'].map((k) => encoder.encode(k))

// Values of fields with a small vocabulary, found by their bytes so that the common ones are not decoded at all.
const VOCABULARY: readonly string[] = [...new Set<string>([...EVENT_KINDS, ...DEVICE_TYPES, ...GENRES, ...CHANNELS])]
const VOCABULARY_BYTES = VOCABULARY.map((w) => encoder.encode(w))

/** @msgpack/msgpack decodes strings over this many bytes with a default TextDecoder (which drops a leading BOM). */
const LIBRARY_TEXT_DECODER_THRESHOLD = 200
const longText = new TextDecoder()
const shortText = new TextDecoder('utf-8', { ignoreBOM: true })

// What validateEvent can tell of a container value: typeof 'object', and whether Array.isArray.
const A_MAP: object = Object.freeze({}) // a map or a bin value (Uint8Array is an object, not an array)
const AN_ARRAY: readonly unknown[] = Object.freeze([])

/** A field's value as the library would have decoded it, or a sentinel for containers; undefined when absent. */
type Slot = string | number | boolean | null | object | undefined

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

function sameBytes(b: Uint8Array, start: number, len: number, k: Uint8Array): boolean {
  if (k.length !== len) return false
  for (let i = 0; i < len; i++) if (b[start + i] !== k[i]) return false
  return true
}

function isForbiddenKey(b: Uint8Array, start: number, len: number): boolean {
  if (len !== 9 && len !== 11) return false
  for (const k of FORBIDDEN_KEYS) if (sameBytes(b, start, len, k)) return true
  return false
}

// The schema field a map key names, or -1; keys are compared as bytes (equal UTF-8 is equal text).
function fieldOf(b: Uint8Array, start: number, len: number): number {
  if (len > 11) return -1
  for (let f = 0; f < FIELD_BYTES.length; f++) if (sameBytes(b, start, len, FIELD_BYTES[f]!)) return f
  return -1
}

// Throws BAD_MSGPACK unless the string is valid UTF-8 (as scanMessage); returns whether it is all ASCII.
function checkUtf8(b: Uint8Array, start: number, len: number, at: number): boolean {
  for (let i = start, end = start + len; i < end; i++) {
    if (b[i]! >= 0x80) {
      if (!isUtf8(b.subarray(start, end))) throw bad(`string at byte ${at} is not valid UTF-8`)
      return false
    }
  }
  return true
}

// A vocabulary word with exactly these bytes, else the string the library would decode.
function word(b: Uint8Array, start: number, len: number, ascii: boolean): string {
  if (len <= 11) {
    const first = b[start]
    for (let w = 0; w < VOCABULARY_BYTES.length; w++) {
      const k = VOCABULARY_BYTES[w]!
      if (k[0] === first && sameBytes(b, start, len, k)) return VOCABULARY[w]!
    }
  }
  return text(b, start, len, ascii)
}

// The string the library would decode from valid UTF-8 bytes.
function text(b: Uint8Array, start: number, len: number, ascii: boolean): string {
  if (len > LIBRARY_TEXT_DECODER_THRESHOLD) return longText.decode(b.subarray(start, start + len))
  if (!ascii) return shortText.decode(b.subarray(start, start + len))
  let s = ''
  for (let i = start, end = start + len; i < end; i++) s += String.fromCharCode(b[i]!)
  return s
}

// The scalar at p (header h), as the library decodes it (64-bit integers as the nearest double).
function scalar(b: Uint8Array, p: number, h: number): number | boolean | null {
  if (h <= 0x7f) return h
  if (h >= 0xe0) return h - 0x100
  switch (h) {
    case 0xc0: return null
    case 0xc2: return false
    case 0xc3: return true
    case 0xcc: return b[p + 1]!
    case 0xcd: return uint(b, p + 1, 2)
    case 0xce: return uint(b, p + 1, 4)
    case 0xcf: return uint(b, p + 1, 4) * 0x1_0000_0000 + uint(b, p + 5, 4)
    case 0xd0: return (b[p + 1]! << 24) >> 24
    case 0xd1: return (uint(b, p + 1, 2) << 16) >> 16
    case 0xd2: return uint(b, p + 1, 4) | 0
    case 0xd3: return (uint(b, p + 1, 4) | 0) * 0x1_0000_0000 + uint(b, p + 5, 4)
    case 0xca: return new DataView(b.buffer, b.byteOffset + p + 1, 4).getFloat32(0)
    default: return new DataView(b.buffer, b.byteOffset + p + 1, 8).getFloat64(0) // 0xcb
  }
}

function describe(v: Slot): string {
  return Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v
}

function notAnObject(got: string): RejectedEvent {
  return new RejectedEvent(new EventError('NOT_AN_OBJECT', undefined, `an event must be an object, got ${got}`), undefined, undefined, undefined)
}

// A bin element of a batch: the library gives a Uint8Array, an object without a `v`.
function binElement(): RejectedEvent {
  return new RejectedEvent(new EventError('MISSING_FIELD', 'v', 'v (schema version) is required'), undefined, undefined, undefined)
}

// --- validateEvent over slots: the same checks in the same order, with the same codes, fields and messages ---

const str = (s: readonly Slot[], f: number, max: number, required: boolean): string | undefined => checkString(s[f], FIELDS[f]!, max, required)

const num = (s: readonly Slot[], f: number, min: number, max: number, required: boolean, unit: string): number | undefined =>
  checkNumber(s[f], FIELDS[f]!, min, max, required, unit)

function validate(s: readonly Slot[]): IdrEvent {
  const L = EVENT_LIMITS
  const v = s[F_V]
  if (v === undefined) throw new EventError('MISSING_FIELD', 'v', 'v (schema version) is required')
  if (v !== SCHEMA_VERSION) {
    const got = typeof v === 'number' ? `version ${v} is not supported` : `v is a ${describe(v)}`
    throw new EventError('BAD_VERSION', 'v', `${got}: v must be the number ${SCHEMA_VERSION}`)
  }
  const kindRaw = str(s, F_KIND, 16, true)!
  if (!(EVENT_KINDS as readonly string[]).includes(kindRaw)) {
    throw new EventError('BAD_KIND', 'kind', `kind "${kindRaw}" is not one of ${EVENT_KINDS.join(', ')}`)
  }
  const kind = kindRaw as EventKind
  const ts = num(s, F_TS, L.tsMin, L.tsMax, true, 'epoch ms')!
  if (!Number.isInteger(ts)) throw new EventError('BAD_TYPE', 'ts', `ts must be an integer (epoch ms), got ${ts}`)
  const id = str(s, F_ID, L.idMaxLength, true)!
  const account = checkAccount(s[F_ACCOUNT])
  const e: { -readonly [K in keyof IdrEvent]: IdrEvent[K] } = { v: 1, id, ts, account, device: str(s, F_DEVICE, L.deviceMaxLength, true)!, kind }
  const deviceType = str(s, F_DEVICE_TYPE, 16, false)
  if (deviceType !== undefined) {
    if (!(DEVICE_TYPES as readonly string[]).includes(deviceType)) {
      throw new EventError('BAD_DEVICE_TYPE', 'deviceType', `deviceType "${deviceType}" is not one of ${DEVICE_TYPES.join(', ')}`)
    }
    e.deviceType = deviceType as DeviceType
  } else if (kind === 'play') {
    throw new EventError('MISSING_FIELD', 'deviceType', 'deviceType is required on play events')
  }
  const screenIn = num(s, F_SCREEN_IN, L.screenInMin, L.screenInMax, false, 'inches')
  if (screenIn !== undefined) e.screenIn = screenIn
  const content = str(s, F_CONTENT, L.contentMaxLength, kind === 'play')
  if (content !== undefined) e.content = content
  const genres = s[F_GENRES]
  if (genres !== undefined && genres !== null) {
    if (!Array.isArray(genres)) throw new EventError('BAD_TYPE', 'genres', 'genres must be an array of strings')
    if (genres.length > L.genresMax) throw new EventError('TOO_LONG', 'genres', `genres has ${genres.length} entries, at most ${L.genresMax}`)
    const out: Genre[] = new Array(genres.length)
    for (let i = 0; i < genres.length; i++) {
      const g: unknown = genres[i]
      if (typeof g !== 'string') throw new EventError('BAD_TYPE', `genres[${i}]`, `genres[${i}] must be a string`)
      out[i] = oneOf(g.toLowerCase(), GENRES, 'other')
    }
    e.genres = out
  }
  const durationSec = num(s, F_DURATION, 0, L.durationSecMax, false, 's')
  if (durationSec !== undefined) e.durationSec = durationSec
  else if (kind !== 'play' && PLAYBACK_KINDS.includes(kind)) e.durationSec = 0
  const ip = str(s, F_IP, L.ipMaxLength, false)
  if (ip !== undefined) e.ip = ip
  if (kind === 'touch') {
    e.channel = oneOf(str(s, F_CHANNEL, 32, true)!.toLowerCase(), CHANNELS, 'other') as Channel
    const campaign = str(s, F_CAMPAIGN, L.campaignMaxLength, false)
    if (campaign !== undefined) e.campaign = campaign
  }
  if (kind === 'convert') {
    const value = num(s, F_VALUE, 0, L.valueMax, false, 'currency units')
    if (value !== undefined) e.value = value
  }
  const truth = str(s, F_TRUTH, L.truthMaxLength, false)
  if (truth !== undefined) e.truth = truth
  return e
}

function stringOf(v: Slot): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function build(s: readonly Slot[]): IdrEvent | RejectedEvent {
  try {
    return validate(s)
  } catch (e) {
    if (!(e instanceof EventError)) throw e
    return new RejectedEvent(e, stringOf(s[F_ID]), stringOf(s[F_DEVICE]), stringOf(s[F_IP]))
  }
}

/** Reads a message in one walk; reusable, not re-entrant (one per ingress: it reuses scratch space). */
export class SinglePassReader implements MessageReader {
  readonly limits: DecodeLimits
  readonly #remaining: Float64Array
  readonly #isMap: Uint8Array
  readonly #slots: Slot[] = new Array<Slot>(FIELDS.length).fill(undefined)

  constructor(limits: DecodeLimits) {
    this.limits = Object.freeze({ ...limits })
    this.#remaining = new Float64Array(limits.maxDepth + 1)
    this.#isMap = new Uint8Array(limits.maxDepth + 1)
  }

  /** The message's shape and elements; throws IngressError (the code scanMessage gives) for a whole-message failure. */
  read(b: Uint8Array): ReadMessage {
    const limits = this.limits
    const remaining = this.#remaining
    const isMap = this.#isMap
    const slots = this.#slots
    const n = b.length
    if (n > limits.maxMessageBytes) {
      throw new IngressError('TOO_LARGE', `message is ${n} bytes, at most ${limits.maxMessageBytes} (maxMessageBytes)`)
    }
    if (n === 0) throw bad('message is empty')
    const top = b[0]!
    const shape: MessageShape | undefined = (top >= 0x80 && top <= 0x8f) || top === 0xde || top === 0xdf ? 'map'
      : (top >= 0x90 && top <= 0x9f) || top === 0xdc || top === 0xdd ? 'array' : undefined
    // Levels: the items of a container opened at depth d are at level d + 1. Event fields are at `eventLevel`.
    const eventLevel = shape === 'map' ? 1 : shape === 'array' ? 2 : -1
    const elements: (IdrEvent | RejectedEvent)[] = []
    let field = -1 // the schema field whose value comes next at the event level (-1: an unknown field)
    let genres: Slot[] | null = null // the elements of the current event's genres array, while it is read
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

      const isKey = depth > 0 && isMap[depth] === 1 && remaining[depth]! % 2 === 0
      if (isKey && !str) throw bad(`map key at byte ${at} is not a string`)
      // Where this item sits: a field value of an event, a genre, or a batch element; anything else is only checked.
      const fieldValue = depth === eventLevel && isMap[depth] === 1 && !isKey ? field : -1
      const genre = genres !== null && depth === eventLevel + 1
      const element = depth === 1 && shape === 'array'
      if (size > 0) {
        if (pos + size > n) throw bad(`message ends inside a number at byte ${at}`)
        if (fieldValue >= 0) slots[fieldValue] = scalar(b, pos, h)
        else if (genre) genres!.push(null) // any non-string: a BAD_TYPE for that genre
        else if (element) notAnObjectScalar(elements, h)
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
            if (isKey && isForbiddenKey(b, pos, len)) {
              throw new IngressError('FORBIDDEN_KEY', `map key "${new TextDecoder().decode(b.subarray(pos, pos + len))}" at byte ${at} is not allowed`)
            }
            const ascii = checkUtf8(b, pos, len, at)
            if (isKey) {
              if (depth === eventLevel) {
                field = fieldOf(b, pos, len)
                genres = null
              }
            } else if (fieldValue >= 0) {
              slots[fieldValue] = fieldValue === F_KIND || fieldValue === F_DEVICE_TYPE || fieldValue === F_CHANNEL ? word(b, pos, len, ascii) : text(b, pos, len, ascii)
            } else if (genre) genres!.push(word(b, pos, len, ascii))
            else if (element) elements.push(notAnObject('string'))
          } else if (fieldValue >= 0) slots[fieldValue] = A_MAP
          else if (genre) genres!.push(null)
          else if (element) elements.push(binElement())
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
          const event = container === 2 && depth === eventLevel - 1
          if (event) {
            slots.fill(undefined)
            field = -1
            genres = null
            if (items === 0) elements.push(build(slots))
          } else if (fieldValue >= 0) {
            if (container === 2) slots[fieldValue] = A_MAP
            else if (fieldValue === F_GENRES) slots[fieldValue] = genres = []
            else slots[fieldValue] = AN_ARRAY
          } else if (genre) genres!.push(null)
          else if (element) elements.push(notAnObject('an array'))
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
        if (depth === eventLevel && isMap[depth] === 1) elements.push(build(slots))
        depth--
      }
      if (depth === 0) break
    }
    if (pos !== n) throw bad(`${n - pos} trailing bytes after the value (message is ${n} bytes)`)
    if (shape === undefined) throw new IngressError('NOT_AN_EVENT', 'a message must be one event (a map) or a batch (an array of maps)')
    return { shape, elements }
  }
}

// A scalar batch element (nil, boolean, number), named as validateEvent names it.
function notAnObjectScalar(elements: (IdrEvent | RejectedEvent)[], h: number): void {
  elements.push(notAnObject(h === 0xc0 ? 'null' : h === 0xc2 || h === 0xc3 ? 'boolean' : 'number'))
}
