// What the engine needs from a message bus. src/transport/ implements it for NATS core, NATS JetStream and
// an in-process bus; the runtime and the engine never import NATS.

/** One message as the bus delivered it. */
export interface InboundMessage {
  readonly subject: string
  readonly data: Uint8Array
  /** Partition the subject names (mapped subjects idr.evp.<p>.<account>), or undefined for plain idr.ev.<account>. */
  readonly partition: number | undefined
  /** Stream sequence (JetStream), 0 when the bus has none. */
  readonly seq: number
  /** When the bus received it, epoch ms (JetStream: the stored timestamp, identical on replay). */
  readonly timestampMs: number
}

/**
 * Handles one inbound message. A returned promise is backpressure: a bus that can wait (JetStream, the
 * in-process bus) delivers nothing more until it settles; NATS core cannot wait and keeps delivering.
 */
export type InboundHandler = (m: InboundMessage) => void | Promise<void>

/** Handles one request; the reply is sent back to the requester (undefined: not ours, no reply). */
export type RequestHandler = (data: Uint8Array) => Uint8Array | undefined | Promise<Uint8Array | undefined>

export interface Bus {
  /** 'core' (at most once), 'jetstream' (replayable from positions) or 'in-process'. */
  readonly kind: 'core' | 'jetstream' | 'in-process'
  /** Input arrives keyed (already pseudonymised, <prefix>.evk.>: the landing path); watermark records go there too. */
  readonly keyedInput?: boolean
  /** Starts delivering events of the owned partitions; JetStream resumes each partition after `from` (partition → seq). */
  start(handler: InboundHandler, from: ReadonlyMap<number, number>): Promise<void>
  /** Publishes one output message (fire and forget; the bus buffers and flushes). */
  publish(subject: string, data: Uint8Array): void
  /** Serves request-reply on a subject until close. */
  serve(subject: string, handler: RequestHandler): void
  /** Stops taking input (unsubscribe / stop consumers); outputs and services keep working. */
  stopIntake(): Promise<void>
  /** Flushes outputs and closes. */
  close(): Promise<void>
}
