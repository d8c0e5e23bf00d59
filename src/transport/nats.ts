// The bus on NATS. Core: plain subscriptions with callbacks on the hot path, at most once. JetStream: one
// ordered consumer per owned partition over a stream of the mapped subjects, resumed after the stored
// position, so a restart replays exactly what no snapshot covers (docs/operations.md, "Recovery").
import {
  connect, DeliverPolicy, millis, nanos, RetentionPolicy, StorageType,
  type ConsumerMessages, type JetStreamClient, type NatsConnection, type NatsError, type StreamInfo, type Subscription,
} from 'nats'
import { IdrError } from '../errors.js'
import type { Bus, InboundHandler, RequestHandler } from '../runtime/bus.js'
import { mappedPartition, subjects } from './subjects.js'

export interface NatsBusOptions {
  /** nats://host:port (comma-separated for several servers). */
  url: string
  user?: string
  password?: string
  /** 'core' (at most once, lowest latency) or 'jetstream' (a durable log, replay from positions). */
  mode: 'core' | 'jetstream'
  prefix?: string
  /** Partitions this process owns, of partitionsOf. */
  partitions: readonly number[]
  partitionsOf: number
  /**
   * Core: also subscribe to the server-mapped subjects <prefix>.evp.<p>.> of the owned partitions (the example
   * server config maps idr.ev.<account> onto them); <prefix>.ev.> is subscribed to either way, so a server
   * without the mapping works too. Default true. JetStream requires mapped subjects (one filter subject per
   * partition consumer).
   */
  mapped?: boolean
  /** JetStream stream name. Default 'IDR_EV'. */
  stream?: string
  /** Connection name shown by the server's monitoring. */
  name?: string
  /** Messages a JetStream consumer buffers ahead of the engine. Default 1,000. */
  prefetch?: number
  /** Called when a handler throws (it should not); the message is skipped. */
  onError?: (err: unknown) => void
  /**
   * Retention of the raw events, ms: the stream's max_age, set when it is created and updated when it has
   * another one (docs/privacy.md, Retention). Absent: a new stream keeps messages without an age limit and an
   * existing one is left as it is.
   */
  retentionMs?: number
}

/** What ensureStream() found or did; max ages in ms, 0 = no age limit. */
export type StreamSetup =
  | { readonly action: 'created', readonly maxAgeMs: number }
  | { readonly action: 'updated', readonly maxAgeMs: number, readonly previousMaxAgeMs: number }
  | { readonly action: 'unchanged', readonly maxAgeMs: number }

export const DEFAULT_STREAM = 'IDR_EV'
/** JetStream's error code for "stream not found" (nats-server's errors.json, JSStreamNotFoundErr). */
const JS_STREAM_NOT_FOUND = 10059

export class NatsBus implements Bus {
  readonly kind: 'core' | 'jetstream'
  /** Input subscriptions (core), ended by stopIntake; service subscriptions end with the connection's drain. */
  private readonly intake: Subscription[] = []
  private readonly consumers: ConsumerMessages[] = []
  private loops: Promise<void>[] = []
  private readonly s: ReturnType<typeof subjects>
  private readonly prefix: string
  private stopping = false

  private constructor(readonly nc: NatsConnection, private readonly o: NatsBusOptions) {
    this.kind = o.mode
    this.prefix = o.prefix ?? 'idr'
    this.s = subjects(this.prefix)
    if (o.mode === 'jetstream' && o.mapped === false) {
      throw new IdrError('BAD_OPTION', 'JetStream needs mapped subjects (<prefix>.evp.<partition>.<account>): one filter subject per partition consumer')
    }
    if (o.retentionMs !== undefined && (!Number.isSafeInteger(o.retentionMs) || o.retentionMs < 1)) {
      throw new IdrError('BAD_OPTION', `retentionMs must be a positive integer (ms), got ${o.retentionMs}`)
    }
  }

  static async connect(o: NatsBusOptions): Promise<NatsBus> {
    let nc: NatsConnection
    try {
      nc = await connect({ servers: o.url.split(','), user: o.user, pass: o.password, name: o.name ?? 'idr-engine', maxReconnectAttempts: -1 })
    } catch (cause) {
      throw new IdrError('NATS_UNAVAILABLE', `cannot connect to NATS at ${o.url}: ${(cause as Error).message}`, { cause })
    }
    return new NatsBus(nc, o)
  }

  async start(handler: InboundHandler, from: ReadonlyMap<number, number>): Promise<void> {
    const safe = (m: Parameters<InboundHandler>[0]): void | Promise<void> => {
      try {
        const r = handler(m)
        return r ? r.catch((err: unknown) => this.o.onError?.(err)) : undefined
      } catch (err) {
        this.o.onError?.(err)
      }
    }
    if (this.kind === 'core') {
      // plain subjects reach every process (each keeps its partitions' events); mapped ones only their owner
      const patterns = [this.s.events, ...(this.o.mapped === false ? [] : this.o.partitions.map((p) => this.s.partition(p)))]
      for (const pattern of patterns) {
        this.intake.push(this.nc.subscribe(pattern, {
          callback: (err, msg) => {
            if (err) return this.o.onError?.(err)
            void safe({ subject: msg.subject, data: msg.data, partition: mappedPartition(msg.subject, this.prefix), seq: 0, timestampMs: Date.now() })
          },
        }))
      }
      // one round trip: the server has the subscriptions when start() resolves, so "serving" means receiving
      await this.nc.flush()
      return
    }
    const js = this.nc.jetstream()
    await this.ensureStream()
    for (const p of this.o.partitions) {
      const startSeq = (from.get(p) ?? 0) + 1
      const consumer = await js.consumers.get(this.stream, { filterSubjects: this.s.partition(p), deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq })
      const messages = await consumer.consume({ max_messages: this.o.prefetch ?? 1_000 })
      this.consumers.push(messages)
      this.loops.push((async () => {
        for await (const m of messages) {
          const r = safe({ subject: m.subject, data: m.data, partition: p, seq: m.seq, timestampMs: Math.floor(m.info.timestampNanos / 1e6) })
          if (r) await r
          if (this.stopping) break
        }
      })())
    }
  }

  private get stream(): string {
    return this.o.stream ?? DEFAULT_STREAM
  }

  /**
   * Creates the stream over the mapped event subjects when it does not exist, with max_age = retentionMs; sets
   * max_age on an existing stream whose max_age differs (start() calls it; call it first to log what it did).
   */
  async ensureStream(): Promise<StreamSetup> {
    const jsm = await this.nc.jetstreamManager()
    // JetStream counts max_age in nanoseconds (0: no limit)
    const maxAge = this.o.retentionMs === undefined ? undefined : nanos(this.o.retentionMs)
    let info: StreamInfo | undefined
    try {
      info = await jsm.streams.info(this.stream)
    } catch (err) {
      // only a missing stream is created; anything else (permissions, no JetStream) is reported as it is
      if ((err as NatsError).api_error?.err_code !== JS_STREAM_NOT_FOUND) {
        throw new IdrError('NATS_STREAM', `cannot read JetStream stream ${this.stream}: ${(err as Error).message}`, { cause: err })
      }
    }
    if (info) {
      const current = info.config.max_age
      if (maxAge === undefined || current === maxAge) return { action: 'unchanged', maxAgeMs: millis(current) }
      try {
        await jsm.streams.update(this.stream, { max_age: maxAge })
      } catch (err) {
        throw new IdrError('NATS_STREAM', `cannot set max_age of JetStream stream ${this.stream} to ${this.o.retentionMs} ms: ${(err as Error).message}`, { cause: err })
      }
      return { action: 'updated', maxAgeMs: millis(maxAge), previousMaxAgeMs: millis(current) }
    }
    await jsm.streams.add({
      name: this.stream, subjects: [this.s.mapped], storage: StorageType.File, retention: RetentionPolicy.Limits, ...(maxAge === undefined ? {} : { max_age: maxAge }),
    })
    return { action: 'created', maxAgeMs: maxAge === undefined ? 0 : millis(maxAge) }
  }

  /** The JetStream client (publishers in tests and tools). */
  jetstream(): JetStreamClient {
    return this.nc.jetstream()
  }

  publish(subject: string, data: Uint8Array): void {
    if (this.nc.isClosed()) return
    this.nc.publish(subject, data)
  }

  serve(subject: string, handler: RequestHandler): void {
    this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return this.o.onError?.(err)
        Promise.resolve()
          .then(() => handler(msg.data))
          .then((reply) => { if (reply && msg.reply) msg.respond(reply) }, (e: unknown) => this.o.onError?.(e))
      },
    })
  }

  async stopIntake(): Promise<void> {
    this.stopping = true
    for (const s of this.intake.splice(0)) s.unsubscribe()
    for (const c of this.consumers.splice(0)) c.stop()
    await Promise.allSettled(this.loops)
    this.loops = []
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return
    await this.nc.drain()
  }
}
