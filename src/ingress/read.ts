// What reading a message gives the ingress: its shape and, per element, a validated event or why not.
// Two readers produce it: SinglePassReader (single-pass.ts, the one the ingress uses) and its reference twin
// ThreePassReader here, the path it replaced: scanMessage, @msgpack/msgpack, validateEvent.
import { EventError, validateEvent, type IdrEvent } from '../model/events.js'
import { MessageDecoder, type DecodeLimits, type MessageShape } from './decode.js'

/** A batch element (or single event) that failed the schema, with the raw strings a DLQ record may use. */
export class RejectedEvent {
  constructor(
    readonly error: EventError,
    /** The raw `id`, `device` and `ip` when they were strings (for `eventId` and redaction), else undefined. */
    readonly id: string | undefined,
    readonly device: string | undefined,
    readonly ip: string | undefined,
  ) {}
}

/** One message read: its top-level shape and its elements in order (one for a map, one per batch element). */
export interface ReadMessage {
  readonly shape: MessageShape
  readonly elements: (IdrEvent | RejectedEvent)[]
}

/** Bytes of one message → its elements; throws IngressError for a whole-message failure. */
export interface MessageReader {
  readonly limits: DecodeLimits
  read(bytes: Uint8Array): ReadMessage
}

function stringOf(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

/** validateEvent, with a rejection as a value. */
export function checkEvent(raw: unknown): IdrEvent | RejectedEvent {
  try {
    return validateEvent(raw)
  } catch (e) {
    if (!(e instanceof EventError)) throw e
    const o = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : undefined
    return new RejectedEvent(e, stringOf(o?.['id']), stringOf(o?.['device']), stringOf(o?.['ip']))
  }
}

/** The reference twin: scan the bytes, decode them with the library, validate each element (three walks). */
export class ThreePassReader implements MessageReader {
  readonly limits: DecodeLimits
  readonly #decoder: MessageDecoder

  constructor(limits: DecodeLimits) {
    this.#decoder = new MessageDecoder(limits)
    this.limits = this.#decoder.limits
  }

  read(bytes: Uint8Array): ReadMessage {
    const { shape, value } = this.#decoder.decode(bytes)
    const elements = shape === 'array' ? (value as unknown[]).map(checkEvent) : [checkEvent(value)]
    return { shape, elements }
  }
}
