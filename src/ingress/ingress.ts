// The ingress: bytes of one bus message → validated, pseudonymised events plus dead-letter records.
// A whole-message failure yields exactly one record and no events; in a batch, each bad element yields
// one record (with its index) and the good elements around it pass. Raw device ids and IPs never leave
// this function: good events carry pseudonyms, and record messages are redacted and truncated.
import { createHash } from 'node:crypto'
import { KernelError } from '../errors.js'
import { checkOptionNames, OptionError } from '../options/check.js'
import { EVENT_LIMITS, type EventErrorCode, type IdrEvent } from '../model/events.js'
import { KeyRing } from '../privacy/keyring.js'
import { pseudonymPattern, type Pseudonymiser } from '../privacy/pseudonymise.js'
import type { DecodeLimits } from './decode.js'
import { RejectedEvent, ThreePassReader, type MessageReader, type ReadMessage } from './read.js'
import { SinglePassReader } from './single-pass.js'
import { IngressError, type IngressErrorCode } from './errors.js'
import { inputSubject, type InputSubject } from '../contracts/input-subject.js'
import { isSubjectPrefix } from '../contracts/token.js'
import { DEFAULT_PREFIX } from '../contracts/subjects.js'

export { IngressError, type IngressErrorCode } from './errors.js'

/** 1 MiB, NATS' default max_payload. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
/** Events per batch message. */
export const DEFAULT_MAX_EVENTS_PER_MESSAGE = 10_000
/** UTF-8 bytes per string; schema strings are ≤ 256 chars (≤ 768 bytes), unknown fields get some room. */
export const DEFAULT_MAX_STRING_BYTES = 4096
/** Bytes per bin value; the schema has none, but unknown fields are ignored rather than refused. */
export const DEFAULT_MAX_BIN_BYTES = 1024
/** Elements per nested array (genres ≤ 16); the top-level batch is bounded by maxEventsPerMessage. */
export const DEFAULT_MAX_ARRAY_LENGTH = 256
/** Entries per map; an event has at most 17 schema fields. */
export const DEFAULT_MAX_MAP_ENTRIES = 256
/** Nesting levels, top level = 1; a batch of events with genres needs 3. */
export const DEFAULT_MAX_DEPTH = 16
/** Characters of a record's message (anything echoed from the input is cut with it). */
export const DLQ_MESSAGE_MAX_CHARS = 160
/** Characters of a record's subject. */
export const DLQ_SUBJECT_MAX_CHARS = 256

const MAX_DEPTH_LIMIT = 1024 // the scan's scratch space is allocated per ingress, 16 B per level
const UINT32_MAX = 0xffff_ffff

/** Options of an Ingress: limits (bytes, elements, levels) and the pseudonym key (≥ 16 bytes, from IDR_PSEUDONYM_KEY) or key ring. */
export interface IngressOptions {
  maxMessageBytes?: number
  maxEventsPerMessage?: number
  maxStringBytes?: number
  maxBinBytes?: number
  maxArrayLength?: number
  maxMapEntries?: number
  maxDepth?: number
  /** One key (epoch 1) or a KeyRing; events are pseudonymised under the ring's current epoch. */
  pseudonymKey: string | Uint8Array | KeyRing
  /** Subject prefix the input subjects start with. Default 'idr'. */
  prefix?: string
  /** How events must agree with the account of the subject they came on. Default 'single'. */
  accountBinding?: AccountBinding
}

/**
 * 'single': a message of one event must name its subject's account; a batch may hold events of any accounts
 * (publishers batch consecutive events of many accounts), each routed by its own. 'strict': every event must
 * name the subject's account, for deployments whose publishers may publish on their own accounts' subjects
 * only (then the server's permissions bind each publisher to its accounts). docs/security.md.
 */
export type AccountBinding = 'single' | 'strict'
export const DEFAULT_ACCOUNT_BINDING: AccountBinding = 'single'

/** What happens to a valid event: applied here, or not this process's (another process owns its partition). */
export type Route = 'apply' | 'skip'

const OPTION_NAMES: readonly (keyof IngressOptions)[] = [
  'maxMessageBytes', 'maxEventsPerMessage', 'maxStringBytes', 'maxBinBytes', 'maxArrayLength', 'maxMapEntries', 'maxDepth', 'pseudonymKey',
  'prefix', 'accountBinding',
]

/**
 * The codes the ingress puts on DLQ records (later stages may add their own, e.g. the engine's): whole-message
 * codes, BAD_SUBJECT (the subject is no input subject, or its account token breaks the token rule), event codes,
 * ACCOUNT_MISMATCH (an event names another account than its subject, where the binding forbids it), and
 * NOT_PSEUDONYMISED (an event on a keyed subject whose device or ip is not a pseudonym: keyed input is the relay's only).
 */
export type DlqCode = IngressErrorCode | EventErrorCode | 'BAD_SUBJECT' | 'ACCOUNT_MISMATCH' | 'NOT_PSEUDONYMISED'

/** The payload published on `idr.dlq` (msgpack-encoded by the caller); holds no raw personal data. */
export interface DlqRecord {
  readonly v: 1
  /** A DlqCode from the ingress, or a later stage's own code. */
  readonly code: string
  /** What was wrong, ≤ DLQ_MESSAGE_MAX_CHARS; raw device ids and IPs redacted. */
  readonly message: string
  readonly subject: string
  /** Byte length of the whole message. */
  readonly bytes: number
  /** SHA-256 of the whole raw message, hex. */
  readonly sha256: string
  /** Position of the element in a batch (absent for a single-event message or a whole-message failure). */
  readonly index?: number
  /** The offending field, when one event was rejected. */
  readonly field?: string
  /** The element's id, when it had a string id (cut to the schema's id limit). */
  readonly eventId?: string
  /** When the message was rejected, epoch ms (the caller's clock). */
  readonly at: number
}

/** The good events of one message and one record per rejection. */
export interface IngressResult {
  /** Events to apply here, pseudonymised. */
  events: IdrEvent[]
  /** Valid events the route said are not this process's. */
  skipped: number
  rejects: DlqRecord[]
  /** What the subject said (kind 'bad': the message was rejected as a whole). */
  from: InputSubject
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * How the ingress reads a message: 'single-pass' (the default) walks the bytes once, checking the limits and
 * building the events; 'three-pass' is its reference twin (scan, library decode, validateEvent), for tests and benchmarks.
 */
export type IngressReader = 'single-pass' | 'three-pass'

function option(options: IngressOptions, name: keyof IngressOptions, fallback: number, min: number, max: number, unit: string): number {
  const v = options[name] ?? fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new OptionError(`${name} must be an integer in [${min}, ${max}] (${unit}), got ${String(v)}`)
  }
  return v
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`
}

/** Turns raw bus messages into events; one instance per consumer (it reuses scratch space and a cache). */
export class Ingress {
  readonly limits: DecodeLimits
  readonly #reader: MessageReader
  /** Every kept key epoch (erasures look for a raw id under each). */
  readonly keyRing: KeyRing
  /** The keyed HMAC of device ids and ips under the current epoch (shared with what-if queries, so there is one cache to clear). */
  readonly pseudonymiser: Pseudonymiser
  readonly prefix: string
  readonly accountBinding: AccountBinding

  constructor(options: IngressOptions, reader: IngressReader = 'single-pass') {
    if (typeof options !== 'object' || options === null) throw new OptionError('Ingress needs an options object with pseudonymKey')
    try {
      checkOptionNames('Ingress', options, OPTION_NAMES)
    } catch (e) {
      if (e instanceof KernelError) throw new OptionError(e.message, { cause: e })
      throw e
    }
    this.limits = Object.freeze({
      maxMessageBytes: option(options, 'maxMessageBytes', DEFAULT_MAX_MESSAGE_BYTES, 1, UINT32_MAX, 'bytes'),
      maxEventsPerMessage: option(options, 'maxEventsPerMessage', DEFAULT_MAX_EVENTS_PER_MESSAGE, 1, UINT32_MAX, 'events'),
      maxStringBytes: option(options, 'maxStringBytes', DEFAULT_MAX_STRING_BYTES, 1, UINT32_MAX, 'bytes'),
      maxBinBytes: option(options, 'maxBinBytes', DEFAULT_MAX_BIN_BYTES, 0, UINT32_MAX, 'bytes'),
      maxArrayLength: option(options, 'maxArrayLength', DEFAULT_MAX_ARRAY_LENGTH, 1, UINT32_MAX, 'elements'),
      maxMapEntries: option(options, 'maxMapEntries', DEFAULT_MAX_MAP_ENTRIES, 1, UINT32_MAX, 'entries'),
      maxDepth: option(options, 'maxDepth', DEFAULT_MAX_DEPTH, 3, MAX_DEPTH_LIMIT, 'levels'),
    })
    if (reader !== 'single-pass' && reader !== 'three-pass') throw new OptionError(`reader must be "single-pass" or "three-pass", got ${JSON.stringify(reader)}`)
    this.#reader = reader === 'single-pass' ? new SinglePassReader(this.limits) : new ThreePassReader(this.limits)
    this.keyRing = KeyRing.from(options.pseudonymKey)
    this.pseudonymiser = this.keyRing.current
    this.prefix = options.prefix ?? DEFAULT_PREFIX
    if (!isSubjectPrefix(this.prefix)) throw new OptionError('prefix must be subject tokens of [A-Za-z0-9_-] joined by dots')
    this.accountBinding = options.accountBinding ?? DEFAULT_ACCOUNT_BINDING
    if (this.accountBinding !== 'single' && this.accountBinding !== 'strict') {
      throw new OptionError(`accountBinding must be "single" or "strict", got ${JSON.stringify(this.accountBinding)}`)
    }
  }

  /**
   * Decodes, validates and pseudonymises one message received on `subject` at `nowMs` (epoch ms); `route` (default:
   * apply all) says where each valid event goes. Never throws on bad input.
   */
  decode(subject: string, data: Uint8Array, nowMs: number, route?: (e: IdrEvent, from: InputSubject) => Route): IngressResult {
    const events: IdrEvent[] = []
    const rejects: DlqRecord[] = []
    const from = inputSubject(subject, this.prefix)
    const result: IngressResult = { events, skipped: 0, rejects, from }
    let hash: string | undefined
    const record = (code: DlqCode, message: string, extra?: { index?: number, field?: string, eventId?: string }): void => {
      hash ??= createHash('sha256').update(data).digest('hex')
      rejects.push({
        v: 1, code, message: cut(message, DLQ_MESSAGE_MAX_CHARS), subject: cut(subject, DLQ_SUBJECT_MAX_CHARS),
        bytes: data.byteLength, sha256: hash, ...extra, at: nowMs,
      })
    }
    if (from.kind === 'bad') {
      record('BAD_SUBJECT', `subject refused: ${from.problem}`)
      return result
    }
    let read: ReadMessage
    try {
      read = this.#reader.read(data)
    } catch (e) {
      if (!(e instanceof IngressError)) throw e
      record(e.code as IngressErrorCode, e.message)
      return result
    }
    const single = read.shape === 'map'
    // keyed input is written by the relay, already pseudonymised: one account's events on its subject, or several
    // accounts' of one partition on the mixed subject (docs/privacy.md, "The landing path")
    const keyed = from.kind === 'keyed' || from.kind === 'keyed-mixed'
    const bound = from.kind === 'keyed' || (from.kind !== 'keyed-mixed' && (single || this.accountBinding === 'strict'))
    const reject = (index: number | undefined, code: DlqCode, field: string | undefined, message: string, raw: RawStrings): void => {
      const extra: { index?: number, field?: string, eventId?: string } = field === undefined ? {} : { field }
      if (index !== undefined) extra.index = index
      if (raw.id !== undefined && raw.id.length > 0) extra.eventId = cut(raw.id, EVENT_LIMITS.idMaxLength)
      record(code, redact(message, raw), extra)
    }
    const elements = read.elements
    for (let i = 0; i < elements.length; i++) {
      const e = elements[i]!
      const index = single ? undefined : i
      if (e instanceof RejectedEvent) {
        reject(index, e.error.code, e.error.field, e.error.message, e)
        continue
      }
      if (bound && 'account' in from && e.account !== from.account) {
        const why = single ? 'a single event must name the account of its subject' : keyed ? 'every keyed event must name the account of its subject' : 'every event must name the account of its subject (accountBinding strict)'
        reject(index, 'ACCOUNT_MISMATCH', 'account', why, e)
        continue
      }
      const raw = keyed ? rawField(e) : undefined
      if (raw !== undefined) {
        // the message names the field, not its value (reject() blanks the raw values should one appear)
        reject(index, 'NOT_PSEUDONYMISED', raw, `the ${raw} of an event on a keyed subject must be a pseudonym`, e)
        continue
      }
      const r = route ? route(e, from) : 'apply'
      // an event that is not ours is not pseudonymised: its owner does that; a keyed one was pseudonymised by the relay
      if (r === 'apply') events.push(keyed ? e : this.#pseudonymise(e))
      else result.skipped++
    }
    return result
  }

  // Both readers return fresh event objects owned by the caller, so they are safe to overwrite in place.
  #pseudonymise(e: IdrEvent): IdrEvent {
    const m = e as Mutable<IdrEvent>
    m.device = this.pseudonymiser.device(e.device)
    if (e.ip !== undefined) {
      // An empty IP identifies nobody; a shared pseudonym for it would falsely link every device without one.
      if (e.ip === '') delete m.ip
      else m.ip = this.pseudonymiser.ip(e.ip)
    }
    return e
  }
}

const DEVICE_PSEUDONYM = pseudonymPattern('device')
const IP_PSEUDONYM = pseudonymPattern('ip')

/** The field of a keyed event that holds no pseudonym (device, then ip), or undefined when both are pseudonyms (or the ip is absent). */
function rawField(e: IdrEvent): 'device' | 'ip' | undefined {
  if (!DEVICE_PSEUDONYM.test(e.device)) return 'device'
  if (e.ip !== undefined && !IP_PSEUDONYM.test(e.ip)) return 'ip'
  return undefined
}

/** The raw strings of an event a record may echo or must blank: a RejectedEvent's, or a valid event's own. */
interface RawStrings { readonly id?: string | undefined, readonly device?: string | undefined, readonly ip?: string | undefined }

// The validator's messages echo only short fields (v, kind, deviceType, numbers); if a publisher put a
// device id or IP there anyway, it is blanked here.
function redact(message: string, raw: RawStrings): string {
  let m = message
  for (const field of ['device', 'ip'] as const) {
    const v = raw[field]
    if (v !== undefined && v.length > 0 && m.includes(v)) m = m.split(v).join(`<${field}>`)
  }
  return m
}
