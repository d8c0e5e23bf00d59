// Outputs held while the NATS connection is down. nats.js 2.29 empties its outbound buffer at every reconnect
// attempt, so what the engine publishes during an outage (assignments and dead letters of the events its
// mailboxes still hold) would be lost; the bus holds it here, bounded by bytes, and sends it in order once the
// connection is back. What goes past the bound is dropped and counted, oldest first kept.

/** Bytes of outputs held during an outage before further ones are dropped (64 MiB). */
export const DEFAULT_MAX_HELD_OUTPUT_BYTES = 64 * 1024 * 1024

export class HeldOutputs {
  readonly #maxBytes: number
  #queue: { subject: string, data: Uint8Array }[] = []
  #bytes = 0
  #dropped = 0

  constructor(maxBytes = DEFAULT_MAX_HELD_OUTPUT_BYTES) {
    this.#maxBytes = maxBytes
  }

  /** Messages held now. */
  get size(): number {
    return this.#queue.length
  }

  /** Holds one output; false (and counted as dropped) when it would pass the byte bound. */
  hold(subject: string, data: Uint8Array): boolean {
    if (this.#bytes + data.byteLength > this.#maxBytes) {
      this.#dropped++
      return false
    }
    this.#queue.push({ subject, data })
    this.#bytes += data.byteLength
    return true
  }

  /** Sends every held output through `publish`, in order, and forgets them; returns how many were sent and dropped. */
  release(publish: (subject: string, data: Uint8Array) => void): { sent: number, dropped: number } {
    const queue = this.#queue
    const dropped = this.#dropped
    this.#queue = []
    this.#bytes = 0
    this.#dropped = 0
    for (const m of queue) publish(m.subject, m.data)
    return { sent: queue.length, dropped }
  }
}
