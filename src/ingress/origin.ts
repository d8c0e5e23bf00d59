// The origin of decoded events, for dead-letter records made after decoding: the message's subject, length
// and hash, the hash computed at most once per message and only when a record needs it.
import { createHash } from 'node:crypto'

/** SHA-256 of a whole message, hex: what every DLQ record carries in `sha256`. */
export function messageSha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/**
 * The message an event came in, for a dead-letter record made after decoding (a household's LATE or
 * CLOCK_AHEAD): shared by the events of one message; the hash is computed only when a record asks for it.
 */
export interface EventOrigin {
  readonly subject: string
  /** Byte length of the whole message. */
  readonly bytes: number
  /** SHA-256 of the whole message, hex. */
  readonly sha256: string
}

/**
 * One message's origin, shared by its events until their households have taken them. It holds the bytes
 * (so a queued message stays in memory until its last event's turn, not only until decoding) and lets go
 * of them once hashed; the good path never hashes.
 */
export class MessageOrigin implements EventOrigin {
  readonly bytes: number
  #data: Uint8Array | undefined
  #sha256: string | undefined

  constructor(readonly subject: string, data: Uint8Array) {
    this.bytes = data.byteLength
    this.#data = data
  }

  get sha256(): string {
    if (this.#sha256 === undefined) {
      this.#sha256 = messageSha256(this.#data!)
      this.#data = undefined
    }
    return this.#sha256
  }
}
