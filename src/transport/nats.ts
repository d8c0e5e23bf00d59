// The bus on NATS. Core: plain subscriptions to all input with callbacks on the hot path, at most once.
// JetStream: one ordered consumer over the whole input stream, resumed after the lowest stored position of the
// owned partitions, so a restart replays exactly what no snapshot covers (docs/operations.md, "Recovery"). The bus
// also follows its connection (ConnectionState, ConnectionEvent; docs/operations.md, "NATS connection").
import {
  connect, DebugEvents, DeliverPolicy, ErrorCode, Events, millis, nanos, RetentionPolicy, StorageType,
  type ConsumerMessages, type JetStreamClient, type JetStreamManager, type NatsConnection, type NatsError, type ServersChanged,
  type StreamInfo, type Subscription,
} from 'nats'
import { IdrError } from '../errors.js'
import type { Bus, InboundHandler, RequestHandler } from '../runtime/bus.js'
import { HeldOutputs } from './held-outputs.js'
import { mappedPartition, subjectCovers, subjects, DEFAULT_PREFIX } from '../contracts/subjects.js'
import { checkOptionNames, OptionError } from '../options/check.js'

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
}

const BUS_OPTION_NAMES: readonly (keyof NatsBusOptions)[] = [
  'url', 'user', 'password', 'mode', 'prefix', 'partitions', 'partitionsOf', 'mapped', 'stream', 'name', 'prefetch',
  'onError', 'retentionMs', 'jetstreamTimeoutMs', 'onConnection', 'onUnstoredInput',
]

/**
 * The connection as the bus last saw it; `since` is epoch ms. 'closed' is final: nats.js gave up (or close()
 * was called) and nothing more arrives.
 */
export type ConnectionState =
  | { readonly state: 'connected', readonly server: string, readonly since: number }
  | { readonly state: 'disconnected', readonly server: string, readonly since: number }
  | { readonly state: 'closed', readonly since: number }

/**
 * What happened to the connection, from nats.js's status iterator. `server` is host:port (never credentials);
 * no event carries a payload. A permission error names the refused operation and subject, which may hold an
 * account token (as other logs do), nothing more personal.
 */
export type ConnectionEvent =
  | { readonly type: 'disconnect', readonly server: string }
  /** One reconnect attempt (every reconnectTimeWait, 2 s by default, while down). */
  | { readonly type: 'reconnecting', readonly server: string }
  /** Back after downMs; heldOutputs were sent now, droppedOutputs went past the hold's bound (HeldOutputs). */
  | { readonly type: 'reconnect', readonly server: string, readonly downMs: number, readonly heldOutputs: number, readonly droppedOutputs: number }
  | { readonly type: 'permission-error', readonly operation: string, readonly subject: string }
  /** An asynchronous error the server sent (-ERR), by nats.js code, e.g. AUTHORIZATION_VIOLATION. */
  | { readonly type: 'server-error', readonly code: string }
  /** The server is shutting down gracefully (lame duck mode); the client will move to another. */
  | { readonly type: 'lame-duck', readonly server: string }
  | { readonly type: 'servers-changed', readonly added: readonly string[], readonly deleted: readonly string[] }
  /** The server stopped answering pings; nats.js drops the connection and reconnects. */
  | { readonly type: 'stale' }
  /** Final. `requested`: by close()/destroy(), else nats.js gave up (error: why, when it says). */
  | { readonly type: 'closed', readonly requested: boolean, readonly error?: string }

/** What ensureStream() found or did; max ages in ms, 0 = no age limit. */
export type StreamSetup =
  | { readonly action: 'created', readonly maxAgeMs: number }
  | { readonly action: 'updated', readonly maxAgeMs: number, readonly previousMaxAgeMs: number }
  | { readonly action: 'unchanged', readonly maxAgeMs: number }

export const DEFAULT_STREAM = 'IDR_EV'
/** Time each JetStream API call at start-up may take, ms (nats.js's own request default is 5 s too). */
export const DEFAULT_JETSTREAM_TIMEOUT_MS = 5_000
/** JetStream's error codes (nats-server's server/errors.json): JSStreamNotFoundErr, JSStreamSubjectOverlapErr, JSStreamNameExistErr. */
const JS_STREAM_NOT_FOUND = 10059
const JS_STREAM_SUBJECT_OVERLAP = 10065
const JS_STREAM_NAME_EXIST = 10058

export class NatsBus implements Bus {
  readonly kind: 'core' | 'jetstream'
  /** Input subscriptions (core), ended by stopIntake; service subscriptions end with the connection's drain. */
  private readonly intake: Subscription[] = []
  private readonly consumers: ConsumerMessages[] = []
  private loops: Promise<void>[] = []
  private readonly s: ReturnType<typeof subjects>
  private readonly prefix: string
  private stopping = false
  /** The stream's subjects, once ensureStream() has created or adopted it. */
  private heldSubjects: readonly string[] | undefined
  /** close() or destroy() was called: the connection's end is expected. */
  private closing = false
  private state: ConnectionState
  /** Outputs published while disconnected, sent when the connection is back. */
  private readonly held = new HeldOutputs()
  private readonly jsTimeoutMs: number

  private constructor(readonly nc: NatsConnection, private readonly o: NatsBusOptions) {
    this.kind = o.mode
    this.prefix = o.prefix ?? DEFAULT_PREFIX
    this.s = subjects(this.prefix)
    this.jsTimeoutMs = o.jetstreamTimeoutMs ?? DEFAULT_JETSTREAM_TIMEOUT_MS
    if (o.mode === 'jetstream' && o.mapped === false) {
      throw new OptionError('mapped: false is for core only: with JetStream the stream decides what is read')
    }
    if (o.retentionMs !== undefined && (!Number.isSafeInteger(o.retentionMs) || o.retentionMs < 1)) {
      throw new OptionError(`retentionMs must be a positive integer (ms), got ${o.retentionMs}`)
    }
    if (!Number.isSafeInteger(this.jsTimeoutMs) || this.jsTimeoutMs < 1) {
      throw new OptionError(`jetstreamTimeoutMs must be a positive integer (ms), got ${o.jetstreamTimeoutMs}`)
    }
    this.state = { state: 'connected', server: nc.getServer(), since: Date.now() }
    void this.watchConnection()
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

  /** The connection now: connected, disconnected (nats.js is reconnecting) or closed for good. */
  get connection(): ConnectionState {
    return this.state
  }

  /** Follows nats.js's status iterator (it ends when the connection closes) and then the close itself. */
  private async watchConnection(): Promise<void> {
    void this.nc.closed().then((err) => {
      this.state = { state: 'closed', since: Date.now() }
      this.tell(err ? { type: 'closed', requested: this.closing, error: err.message } : { type: 'closed', requested: this.closing })
    })
    for await (const s of this.nc.status()) {
      const event = this.connectionEvent(s.type, s.data, s.permissionContext)
      if (event) this.tell(event)
    }
  }

  /** Turns one nats.js status into an event, moving `state` on; undefined for the ones not worth telling. */
  private connectionEvent(type: string, data: unknown, permission: { operation: string, subject: string } | undefined): ConnectionEvent | undefined {
    const now = Date.now()
    const server = typeof data === 'string' ? data : this.nc.getServer()
    switch (type) {
      case Events.Disconnect:
        // nats.js reports one disconnect per lost connection; a second while down would restart the clock
        if (this.state.state !== 'connected') return undefined
        this.state = { state: 'disconnected', server, since: now }
        return { type: 'disconnect', server }
      case Events.Reconnect: {
        const downMs = this.state.state === 'disconnected' ? now - this.state.since : 0
        this.state = { state: 'connected', server, since: now }
        const { sent, dropped } = this.held.release((subject, data) => this.nc.publish(subject, data))
        return { type: 'reconnect', server, downMs, heldOutputs: sent, droppedOutputs: dropped }
      }
      case DebugEvents.Reconnecting:
        return { type: 'reconnecting', server }
      case Events.Error:
        return data === ErrorCode.PermissionsViolation && permission
          ? { type: 'permission-error', operation: permission.operation, subject: permission.subject }
          : { type: 'server-error', code: String(data) }
      case Events.LDM:
        return { type: 'lame-duck', server }
      case Events.Update: {
        // nats.js also reports an update with nothing in it after every reconnect
        const { added, deleted } = data as ServersChanged
        return added.length + deleted.length > 0 ? { type: 'servers-changed', added, deleted } : undefined
      }
      case DebugEvents.StaleConnection:
        return { type: 'stale' }
      default:
        return undefined // pingTimer, client-initiated reconnect: nats.js handles them
    }
  }

  private tell(event: ConnectionEvent): void {
    try {
      this.o.onConnection?.(event)
    } catch (err) {
      this.o.onError?.(err)
    }
  }

  /** Resolves as `work` does, or rejects with NATS_TIMEOUT naming `what` after jetstreamTimeoutMs. */
  private async timed<T>(what: string, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.timeoutError(what)), this.jsTimeoutMs)
    })
    try {
      return await Promise.race([work, timeout])
    } catch (err) {
      // nats.js's own request timeout (set to the same) may fire first; it names no call
      if ((err as NatsError).code === ErrorCode.Timeout) throw this.timeoutError(what, err)
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  private timeoutError(what: string, cause?: unknown): IdrError {
    return new IdrError('NATS_TIMEOUT', `${what}: no answer from JetStream at ${this.o.url} within ${this.jsTimeoutMs} ms (jetstreamTimeoutMs); is JetStream enabled and is this user allowed the call?`, { cause })
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
    const js = this.nc.jetstream({ timeout: this.jsTimeoutMs })
    // idr serve calls ensureStream() first, to log what it did; a bus used on its own does it here
    if (this.heldSubjects === undefined) await this.ensureStream()
    const held = this.heldSubjects ?? []
    if (!held.includes(this.s.events) && this.o.onUnstoredInput) {
      const warn = this.o.onUnstoredInput
      this.intake.push(this.nc.subscribe(this.s.events, { callback: (err) => { if (!err) warn() } }))
    }
    // One ordered consumer reads the whole input in stream order, from the lowest position an owned partition
    // needs: a batch of many accounts is applied where it stands, by whichever process owns each event, and
    // events a snapshot already covers are skipped by position (docs/operations.md, "Recovery").
    const startSeq = Math.min(...this.o.partitions.map((p) => from.get(p) ?? 0)) + 1
    // nats-server 2.9 takes one filter subject: none when the stream holds input only, else the mapped subjects
    const onlyInput = held.every((s) => s === this.s.events || s === this.s.mapped)
    const what = `creating the ordered consumer of JetStream stream ${this.stream}`
    const consumer = await this.timed(what, js.consumers.get(this.stream, {
      ...(onlyInput ? {} : { filterSubjects: this.s.mapped }), deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq,
    }))
    // consume() creates the consumer and retries a failure for a long time; the timeout ends that at start-up
    const messages = await this.timed(what, consumer.consume({ max_messages: this.o.prefetch ?? 1_000 }))
    this.consumers.push(messages)
    this.loops.push((async () => {
      for await (const m of messages) {
        const r = safe({ subject: m.subject, data: m.data, partition: mappedPartition(m.subject, this.prefix), seq: m.seq, timestampMs: Math.floor(m.info.timestampNanos / 1e6) })
        if (r) await r
        if (this.stopping) break
      }
    })())
  }

  /** The input subjects the JetStream stream holds (known after ensureStream()). */
  get streamSubjects(): readonly string[] | undefined {
    return this.heldSubjects
  }

  private get stream(): string {
    return this.o.stream ?? DEFAULT_STREAM
  }

  /**
   * Creates the stream over the input subjects (<prefix>.ev.> and <prefix>.evp.>) when it does not exist, with max_age = retentionMs; sets
   * max_age on an existing stream whose max_age differs (start() calls it; call it first to log what it did).
   * An existing stream is adopted when one of its subjects covers <prefix>.evp.> (it may hold more) and its
   * retention is limits; otherwise, or when another stream's subjects overlap <prefix>.evp.>, it rejects with
   * NATS_STREAM_CONFLICT (docs/operations.md, "Running"). Each API call times out (NATS_TIMEOUT).
   */
  async ensureStream(): Promise<StreamSetup> {
    const jsm = await this.jetstreamManager()
    // JetStream counts max_age in nanoseconds (0: no limit)
    const maxAge = this.o.retentionMs === undefined ? undefined : nanos(this.o.retentionMs)
    const info = await this.streamInfo(jsm)
    if (info) return this.adopt(jsm, info, maxAge)
    // plain subjects too: on a server without the partition mapping publishers' events land there
    const subjects = [this.s.events, this.s.mapped]
    try {
      await this.timed(`creating JetStream stream ${this.stream}`, jsm.streams.add({
        name: this.stream, subjects, storage: StorageType.File, retention: RetentionPolicy.Limits, ...(maxAge === undefined ? {} : { max_age: maxAge }),
      }))
    } catch (err) {
      const code = (err as NatsError).api_error?.err_code
      if (code === JS_STREAM_SUBJECT_OVERLAP) throw await this.overlapError(jsm, err)
      if (code === JS_STREAM_NAME_EXIST) {
        // another engine created it between our info and add: judge what it made
        const made = await this.streamInfo(jsm)
        if (made) return this.adopt(jsm, made, maxAge)
      }
      if (err instanceof IdrError) throw err
      throw new IdrError('NATS_STREAM', `cannot create JetStream stream ${this.stream} over ${this.s.mapped}: ${(err as Error).message}`, { cause: err })
    }
    this.heldSubjects = subjects
    return { action: 'created', maxAgeMs: maxAge === undefined ? 0 : millis(maxAge) }
  }

  /** The JetStream manager, its calls timed out after jetstreamTimeoutMs (getting it asks the server once). */
  async jetstreamManager(): Promise<JetStreamManager> {
    try {
      return await this.timed('checking that JetStream is available ($JS.API.INFO)', this.nc.jetstreamManager({ timeout: this.jsTimeoutMs }))
    } catch (err) {
      if (err instanceof IdrError) throw err
      throw new IdrError('NATS_STREAM', `JetStream is not available at ${this.o.url}: ${(err as Error).message}`, { cause: err })
    }
  }

  /** The stream's info, or undefined when it does not exist. */
  private async streamInfo(jsm: JetStreamManager): Promise<StreamInfo | undefined> {
    try {
      return await this.timed(`reading JetStream stream ${this.stream}`, jsm.streams.info(this.stream))
    } catch (err) {
      if (err instanceof IdrError) throw err
      // only a missing stream is created; anything else (permissions, no JetStream) is reported as it is
      if ((err as NatsError).api_error?.err_code === JS_STREAM_NOT_FOUND) return undefined
      throw new IdrError('NATS_STREAM', `cannot read JetStream stream ${this.stream}: ${(err as Error).message}`, { cause: err })
    }
  }

  /** Checks an existing stream holds what the engine reads and can replay it, then sets its max_age if asked. */
  private async adopt(jsm: JetStreamManager, info: StreamInfo, maxAge: number | undefined): Promise<StreamSetup> {
    const wanted = this.s.mapped
    const held = info.config.subjects ?? []
    if (!held.some((subject) => subjectCovers(subject, wanted))) {
      throw new IdrError('NATS_STREAM_CONFLICT',
        `JetStream stream ${this.stream} exists with subjects ${JSON.stringify(held)}, which do not hold ${wanted} (the events idr reads). ` +
        `Start idr serve with --stream NAME to use or create another stream, add ${wanted} to ${this.stream}'s subjects, or delete ${this.stream} if nothing else uses it.`)
    }
    if (info.config.retention !== RetentionPolicy.Limits) {
      throw new IdrError('NATS_STREAM_CONFLICT',
        `JetStream stream ${this.stream} has retention "${info.config.retention}"; idr needs "limits": under interest or workqueue retention the server ` +
        `deletes messages once they are delivered, so a restart could not replay what no snapshot covers. Start idr serve with --stream NAME for a stream of its own.`)
    }
    this.heldSubjects = held
    const current = info.config.max_age
    if (maxAge === undefined || current === maxAge) return { action: 'unchanged', maxAgeMs: millis(current) }
    try {
      await this.timed(`setting max_age of JetStream stream ${this.stream}`, jsm.streams.update(this.stream, { max_age: maxAge }))
    } catch (err) {
      if (err instanceof IdrError) throw err
      throw new IdrError('NATS_STREAM', `cannot set max_age of JetStream stream ${this.stream} to ${this.o.retentionMs} ms: ${(err as Error).message}`, { cause: err })
    }
    return { action: 'updated', maxAgeMs: millis(maxAge), previousMaxAgeMs: millis(current) }
  }

  /** NATS_STREAM_CONFLICT for a refused create: names the overlapping streams when this user may list them. */
  private async overlapError(jsm: JetStreamManager, cause: unknown): Promise<IdrError> {
    const wanted = this.s.mapped
    let others: { name: string, subjects: string[] }[] | undefined
    try {
      others = await this.timed(`listing JetStream streams over ${wanted}`, (async () => {
        const found: { name: string, subjects: string[] }[] = []
        for await (const name of jsm.streams.names(wanted)) {
          if (name !== this.stream) found.push({ name, subjects: (await jsm.streams.info(name)).config.subjects ?? [] })
        }
        return found
      })())
    } catch {
      // a least-privilege engine user may not list other streams (docs/examples/nats-server.conf): say less
    }
    const head = `cannot create JetStream stream ${this.stream} over ${wanted}`
    if (!others || others.length === 0) {
      return new IdrError('NATS_STREAM_CONFLICT',
        `${head}: another stream's subjects overlap it (nats-server: "${(cause as Error).message}"), and this user may not list streams to say which. ` +
        `Find it as an administrator (nats stream ls --all, nats stream info NAME); then start idr serve with --stream NAME if its subjects include ${wanted}, or remove the overlap from it.`,
        { cause })
    }
    const one = others.length === 1
    const described = others.map((o) => `${o.name} (subjects ${JSON.stringify(o.subjects)})`).join(', ')
    // a stream that holds all of <prefix>.evp.> could serve as idr's own; one that holds part of it cannot
    const usable = others.filter((o) => o.subjects.some((subject) => subjectCovers(subject, wanted)))
    const fix = usable.length === 1
      ? `If ${usable[0]!.name} is meant to hold idr's events, start idr serve with --stream ${usable[0]!.name}; otherwise remove the overlapping subjects from it or delete it.`
      : `Remove the overlapping subjects from ${one ? 'it' : 'them'} or delete ${one ? 'it' : 'them'}.`
    return new IdrError('NATS_STREAM_CONFLICT',
      `${head}: ${one ? 'stream' : 'streams'} ${described} ${one ? 'overlaps' : 'overlap'} it, and nats-server lets only one stream hold a subject. ${fix}`,
      { cause })
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
    if (this.state.state === 'disconnected') {
      this.held.hold(subject, data)
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
    for (const s of this.intake.splice(0)) s.unsubscribe()
    for (const c of this.consumers.splice(0)) c.stop()
    await Promise.allSettled(this.loops)
    this.loops = []
  }

  /** Graceful: flushes outputs, ends the subscriptions, closes. */
  async close(): Promise<void> {
    this.closing = true
    if (this.nc.isClosed()) return
    await this.nc.drain()
  }

  /** Forced: closes now, dropping what is buffered (a start-up that failed has nothing worth flushing). */
  async destroy(): Promise<void> {
    this.closing = true
    if (this.nc.isClosed()) return
    await this.nc.close()
  }
}
