// The bus on NATS. Core: plain subscriptions to all input with callbacks on the hot path, at most once.
// JetStream: the input stream and one ordered consumer over it (jetstream.ts). The bus also follows its
// connection (nats-connection.ts; docs/operations.md, "NATS connection").
import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection, type Subscription } from 'nats'
import { IdrError } from '../errors.js'
import type { Bus, InboundHandler, RequestHandler } from '../runtime/bus.js'
import { mappedPartition, subjects, DEFAULT_PREFIX } from '../contracts/subjects.js'
import { checkOptionNames, OptionError } from '../options/check.js'
import { ConnectionWatch, type ConnectionEvent, type ConnectionState } from './nats-connection.js'
import { DEFAULT_JETSTREAM_TIMEOUT_MS, JetStreamInput, type StreamSetup } from './jetstream.js'
import { relayOn, type LandingOptions, type LandingRelay, type RelaySetup } from './landing.js'
import { LandingRelayThread } from './landing-thread.js'

export type { ConnectionEvent, ConnectionState } from './nats-connection.js'
export { DEFAULT_JETSTREAM_TIMEOUT_MS, DEFAULT_KEYED_STREAM, DEFAULT_STREAM, type StreamSetup } from './jetstream.js'
export { DEFAULT_LANDING_MAX_AGE_MS, DEFAULT_LANDING_MAX_BYTES, DEFAULT_LANDING_STREAM, type LandingOptions, type LandingStats, type LandingStorage } from './landing.js'

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
   * Core: also subscribe to the server-mapped subjects <prefix>.evp.> (the example server config maps
   * idr.ev.<account> onto them); <prefix>.ev.> is subscribed to either way, so a server without the mapping
   * works too. Default true. Not for JetStream: its stream decides what is read.
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
  /**
   * How long each JetStream API call at start-up may take (stream info/create/update, consumer creation), ms;
   * beyond it start() rejects with NATS_TIMEOUT naming the call. Default DEFAULT_JETSTREAM_TIMEOUT_MS.
   */
  jetstreamTimeoutMs?: number
  /** Told of every change of the connection (disconnects, reconnects, server errors); see ConnectionEvent. */
  onConnection?: (event: ConnectionEvent) => void
  /**
   * JetStream with a stream that holds only the mapped subjects: called for each message that arrives on the
   * plain <prefix>.ev.> subjects anyway (the server does not map them, so the stream does not store them).
   */
  onUnstoredInput?: () => void
  /**
   * JetStream only: the landing path (docs/privacy.md). Publishers' raw events land in a work-queue stream; a
   * relay (src/ingress/relay.ts) pseudonymises each under `keys` with the engine's ingress limits into keyed
   * messages, which go into the durable stream (`stream`, default IDR_KEYED, over <prefix>.evk.>) that the engine
   * reads and replays.
   */
  landing?: LandingOptions & Pick<RelaySetup, 'keys'> & {
    readonly ingress?: RelaySetup['ingress']
    /** Relay on a worker thread with its own connection (default), or on this event loop. */
    readonly thread?: boolean
    /** Told each relayed message's age in the landing stream at its acknowledgement, ms. */
    readonly onAge?: (ms: number) => void
  }
}

const BUS_OPTION_NAMES: readonly (keyof NatsBusOptions)[] = [
  'url', 'user', 'password', 'mode', 'prefix', 'partitions', 'partitionsOf', 'mapped', 'stream', 'name', 'prefetch',
  'onError', 'retentionMs', 'jetstreamTimeoutMs', 'onConnection', 'onUnstoredInput', 'landing',
]

export class NatsBus implements Bus {
  readonly kind: 'core' | 'jetstream'
  /** The engine reads keyed input (the landing path) rather than raw events. */
  readonly keyedInput: boolean
  /** The landing stream's relay (the landing path only), on a worker thread or on this event loop. */
  readonly landing: LandingRelay | LandingRelayThread | undefined
  /** Input subscriptions (core), ended by stopIntake; service subscriptions end with the connection's drain. */
  private readonly intake: Subscription[] = []
  private readonly consumers: { stop(): void }[] = []
  private loops: Promise<void>[] = []
  private readonly s: ReturnType<typeof subjects>
  private readonly prefix: string
  private stopping = false
  private readonly watch: ConnectionWatch
  private readonly js: JetStreamInput

  private constructor(readonly nc: NatsConnection, private readonly o: NatsBusOptions) {
    this.kind = o.mode
    this.prefix = o.prefix ?? DEFAULT_PREFIX
    this.s = subjects(this.prefix)
    const jsTimeoutMs = o.jetstreamTimeoutMs ?? DEFAULT_JETSTREAM_TIMEOUT_MS
    if (o.mode === 'jetstream' && o.mapped === false) {
      throw new OptionError('mapped: false is for core only: with JetStream the stream decides what is read')
    }
    if (o.retentionMs !== undefined && (!Number.isSafeInteger(o.retentionMs) || o.retentionMs < 1)) {
      throw new OptionError(`retentionMs must be a positive integer (ms), got ${o.retentionMs}`)
    }
    if (!Number.isSafeInteger(jsTimeoutMs) || jsTimeoutMs < 1) {
      throw new OptionError(`jetstreamTimeoutMs must be a positive integer (ms), got ${o.jetstreamTimeoutMs}`)
    }
    if (o.landing !== undefined && o.mode !== 'jetstream') throw new OptionError('landing is for JetStream only: the keyed stream is what makes replay possible')
    this.keyedInput = o.landing !== undefined
    this.js = new JetStreamInput(nc, { ...o, keyed: this.keyedInput }, this.s, this.prefix, jsTimeoutMs)
    this.landing = o.landing === undefined ? undefined : this.relayOf(o.landing, jsTimeoutMs)
    this.watch = new ConnectionWatch(nc, (event) => this.tell(event))
  }

  static async connect(o: NatsBusOptions): Promise<NatsBus> {
    // names first, before any connection is made: a misspelt option fails here, with the nearest name
    checkOptionNames('NatsBus.connect', o, BUS_OPTION_NAMES)
    let nc: NatsConnection
    try {
      nc = await connect({ servers: o.url.split(','), user: o.user, pass: o.password, name: o.name ?? 'idr-engine', maxReconnectAttempts: -1 })
    } catch (cause) {
      throw new IdrError('NATS_UNAVAILABLE', `cannot connect to NATS at ${o.url}: ${(cause as Error).message}`, { cause })
    }
    try {
      return new NatsBus(nc, o)
    } catch (err) {
      await nc.close()
      throw err
    }
  }

  private relayOf(l: NonNullable<NatsBusOptions['landing']>, jsTimeoutMs: number): LandingRelay | LandingRelayThread {
    const { keys, ingress, thread, onAge, ...landing } = l
    const onError = (err: unknown): void => this.o.onError?.(err)
    const setup: RelaySetup = { url: this.o.url, prefix: this.prefix, partitions: this.o.partitions, partitionsOf: this.o.partitionsOf, jsTimeoutMs, landing, keys, ingress: ingress ?? {} }
    if (thread !== false) return new LandingRelayThread({ ...setup, user: this.o.user, password: this.o.password, name: this.o.name ?? 'idr-engine' }, onError, onAge)
    return relayOn(this.nc, setup, onError, onAge)
  }

  /** The connection now: connected, disconnected (nats.js is reconnecting) or closed for good. */
  get connection(): ConnectionState {
    return this.watch.state
  }

  private tell(event: ConnectionEvent): void {
    try {
      this.o.onConnection?.(event)
    } catch (err) {
      this.o.onError?.(err)
    }
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
      // every process reads all input and keeps its partitions' events: a batch of many accounts on one
      // partition's subject reaches the owners of all of them, in publication order (docs/subjects.md)
      const patterns = [this.s.events, ...(this.o.mapped === false ? [] : [this.s.mapped])]
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
    const { messages, loop } = await this.js.start(safe, from, () => this.stopping, this.intake)
    this.consumers.push(messages)
    this.loops.push(loop)
    if (this.landing) {
      // the keyed stream first, so that the relay's first publishes have a stream to land in
      if (this.landingSetup === undefined) this.landingSetup = await this.landing.ensureStream()
      this.landing.start()
    }
  }

  /** The input subjects the JetStream stream holds (known after ensureStream()). */
  get streamSubjects(): readonly string[] | undefined {
    return this.js.heldSubjects
  }

  /**
   * Creates the stream over the input subjects (<prefix>.ev.> and <prefix>.evp.>) when it does not exist, with max_age = retentionMs; sets
   * max_age on an existing stream whose max_age differs (start() calls it; call it first to log what it did).
   * An existing stream is adopted when one of its subjects covers <prefix>.evp.> (it may hold more) and its
   * retention is limits; otherwise, or when another stream's subjects overlap <prefix>.evp.>, it rejects with
   * NATS_STREAM_CONFLICT (docs/operations.md, "Running"). Each API call times out (NATS_TIMEOUT).
   */
  async ensureStream(): Promise<StreamSetup> {
    const setup = await this.js.ensureStream()
    if (this.landing) this.landingSetup = await this.landing.ensureStream()
    return setup
  }

  /** What ensureStream() found of the landing stream (the landing path only). */
  landingSetup: 'created' | 'adopted' | undefined

  /** The JetStream manager, its calls timed out after jetstreamTimeoutMs (getting it asks the server once). */
  jetstreamManager(): Promise<JetStreamManager> {
    return this.js.jetstreamManager()
  }

  /** The JetStream client (publishers in tests and tools). */
  jetstream(): JetStreamClient {
    return this.nc.jetstream()
  }

  /** Publishes an output; while the connection is down it is held and sent on reconnect (HeldOutputs). */
  /** Outputs published after close(), and not sent (reported once through onError, counted here). */
  droppedAfterClose = 0

  publish(subject: string, data: Uint8Array): void {
    if (this.nc.isClosed()) {
      // a turn that outlived a drain's timeout: not silent, and never a throw inside the actor's turn
      if (this.droppedAfterClose++ === 0) this.o.onError?.(new IdrError('BUS_CLOSED', `an output to ${subject} was published after the bus closed and was dropped (further ones are counted in droppedAfterClose)`))
      return
    }
    if (this.watch.state.state === 'disconnected') {
      this.watch.held.hold(subject, data)
      return
    }
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
    // the relay finishes the batch it holds (published and acknowledged), then fetches no more
    await this.landing?.stop()
    for (const s of this.intake.splice(0)) s.unsubscribe()
    for (const c of this.consumers.splice(0)) c.stop()
    await Promise.allSettled(this.loops)
    this.loops = []
  }

  /** Graceful: flushes outputs, ends the subscriptions, closes. */
  async close(): Promise<void> {
    this.watch.closing = true
    await this.landing?.stop()
    if (this.nc.isClosed()) return
    await this.nc.drain()
  }

  /** Forced: closes now, dropping what is buffered (a start-up that failed has nothing worth flushing). */
  async destroy(): Promise<void> {
    this.watch.closing = true
    await this.landing?.abort()
    if (this.nc.isClosed()) return
    await this.nc.close()
  }
}
