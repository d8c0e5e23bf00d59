// The origin of decoded events, for dead-letter records made after decoding: the message's subject, length
// and hash, the hash computed at most once per message and only when a record needs it.
import { createHash } from 'node:crypto'
import type { EventOrigin } from '../runtime/actor.js'

/** SHA-256 of a whole message, hex: what every DLQ record carries in `sha256`. */
export function messageSha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
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
