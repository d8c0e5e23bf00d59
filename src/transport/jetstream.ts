// The bus's JetStream side: the input stream (created, or adopted and checked, with its max_age) and the one
// ordered consumer that reads it, resumed after the lowest stored position of the owned partitions, so a restart
// replays exactly what no snapshot covers (docs/operations.md, "Running" and "Recovery"). Every JetStream API
// call at start-up is timed out (NATS_TIMEOUT) instead of waiting on nats.js's retries.
import {
  DeliverPolicy, ErrorCode, millis, nanos, RetentionPolicy, StorageType,
  type ConsumerMessages, type JetStreamManager, type NatsConnection, type NatsError, type StreamInfo, type Subscription,
} from 'nats'
import { IdrError } from '../errors.js'
import type { InboundHandler } from '../runtime/bus.js'
import { mappedPartition, subjectCovers, type subjects } from '../contracts/subjects.js'

/** What ensureStream() found or did; max ages in ms, 0 = no age limit. */
export type StreamSetup =
  | { readonly action: 'created', readonly maxAgeMs: number }
  | { readonly action: 'updated', readonly maxAgeMs: number, readonly previousMaxAgeMs: number }
  | { readonly action: 'unchanged', readonly maxAgeMs: number }

export const DEFAULT_STREAM = 'IDR_EV'
/** The durable stream of the landing path: keyed (pseudonymised) events only, <prefix>.evk.> (docs/privacy.md, "The landing path"). */
export const DEFAULT_KEYED_STREAM = 'IDR_KEYED'
/** Time each JetStream API call at start-up may take, ms (nats.js's own request default is 5 s too). */
export const DEFAULT_JETSTREAM_TIMEOUT_MS = 5_000
/** JetStream's error codes (nats-server's server/errors.json): JSStreamNotFoundErr, JSStreamSubjectOverlapErr, JSStreamNameExistErr. */
export const JS_STREAM_NOT_FOUND = 10059
export const JS_STREAM_SUBJECT_OVERLAP = 10065
const JS_STREAM_NAME_EXIST = 10058

/** What the JetStream side needs of the bus's options (NatsBusOptions, checked there). */
export interface JetStreamInputOptions {
  readonly url: string
  readonly stream?: string
  readonly retentionMs?: number
  readonly prefetch?: number
  readonly partitions: readonly number[]
  readonly onUnstoredInput?: () => void
  /** Read the keyed stream the landing relay writes (<prefix>.evk.>) instead of the raw input. Default false. */
  readonly keyed?: boolean
}

/** What start() set going: the consumer's messages and the loop that delivers them. */
export interface JetStreamIntake {
  readonly messages: ConsumerMessages
  readonly loop: Promise<void>
}

/** The input stream and its ordered consumer, for one NatsBus in JetStream mode. */
export class JetStreamInput {
  /** The stream's subjects, once ensureStream() has created or adopted it. */
  heldSubjects: readonly string[] | undefined

  constructor(
    private readonly nc: NatsConnection,
    private readonly o: JetStreamInputOptions,
    private readonly s: ReturnType<typeof subjects>,
    private readonly prefix: string,
    private readonly jsTimeoutMs: number,
  ) {}

  get stream(): string {
    return this.o.stream ?? (this.o.keyed === true ? DEFAULT_KEYED_STREAM : DEFAULT_STREAM)
  }

  /** The subjects a stream this creates holds: the raw input with and without the mapping, or the keyed input. */
  private get inputSubjects(): readonly string[] {
    return this.o.keyed === true ? [this.s.keyed] : [this.s.events, this.s.mapped]
  }

  /** What the consumer reads, and what an adopted stream must hold: <prefix>.evp.> (raw) or <prefix>.evk.> (keyed). */
  private get readSubject(): string {
    return this.o.keyed === true ? this.s.keyed : this.s.mapped
  }

  /**
   * Reads the stream from the lowest position `from` holds for an owned partition, each message to `deliver`
   * (awaited when it returns a promise) until `stopping()`; creates the stream first when ensureStream() has not run.
   * The watch for unstored input is pushed onto `intake` at once, so that stopping the intake ends it even when start() fails later.
   */
  async start(deliver: InboundHandler, from: ReadonlyMap<number, number>, stopping: () => boolean, intake: Subscription[]): Promise<JetStreamIntake> {
    const js = this.nc.jetstream({ timeout: this.jsTimeoutMs })
    // idr serve calls ensureStream() first, to log what it did; a bus used on its own does it here
    if (this.heldSubjects === undefined) await this.ensureStream()
    const held = this.heldSubjects ?? []
    if (this.o.keyed !== true && !held.includes(this.s.events) && this.o.onUnstoredInput) {
      const warn = this.o.onUnstoredInput
      intake.push(this.nc.subscribe(this.s.events, { callback: (err) => { if (!err) warn() } }))
    }
    // One ordered consumer reads the whole input in stream order, from the lowest position an owned partition
    // needs: a batch of many accounts is applied where it stands, by whichever process owns each event, and
    // events a snapshot already covers are skipped by position (docs/operations.md, "Recovery").
    const startSeq = Math.min(...this.o.partitions.map((p) => from.get(p) ?? 0)) + 1
    // nats-server 2.9 takes one filter subject: none when the stream holds input only, else the mapped (or keyed) subjects
    const onlyInput = held.every((s) => this.inputSubjects.includes(s))
    const what = `creating the ordered consumer of JetStream stream ${this.stream}`
    const consumer = await this.timed(what, js.consumers.get(this.stream, {
      ...(onlyInput ? {} : { filterSubjects: this.readSubject }), deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq,
    }))
    // consume() creates the consumer and retries a failure for a long time; the timeout ends that at start-up
    const messages = await this.timed(what, consumer.consume({ max_messages: this.o.prefetch ?? 1_000 }))
    const loop = (async () => {
      for await (const m of messages) {
        const r = deliver({ subject: m.subject, data: m.data, partition: mappedPartition(m.subject, this.prefix), seq: m.seq, timestampMs: Math.floor(m.info.timestampNanos / 1e6) })
        if (r) await r
        if (stopping()) break
      }
    })()
    return { messages, loop }
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
    const subjects = [...this.inputSubjects]
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
      throw new IdrError('NATS_STREAM', `cannot create JetStream stream ${this.stream} over ${this.readSubject}: ${(err as Error).message}`, { cause: err })
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
    const wanted = this.readSubject
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
    const wanted = this.readSubject
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

  /** Resolves as `work` does, or rejects with NATS_TIMEOUT naming `what` after jetstreamTimeoutMs. */
  private timed<T>(what: string, work: Promise<T>): Promise<T> {
    return timedCall(what, work, this.jsTimeoutMs, this.o.url)
  }
}

/** Resolves as `work` does, or rejects with NATS_TIMEOUT naming `what` (a JetStream call to `url`) after `timeoutMs`. */
export async function timedCall<T>(what: string, work: Promise<T>, timeoutMs: number, url: string): Promise<T> {
  const timeoutError = (cause?: unknown): IdrError => new IdrError('NATS_TIMEOUT',
    `${what}: no answer from JetStream at ${url} within ${timeoutMs} ms (jetstreamTimeoutMs); is JetStream enabled and is this user allowed the call?`, { cause })
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), timeoutMs)
  })
  try {
    return await Promise.race([work, timeout])
  } catch (err) {
    // nats.js's own request timeout (set to the same) may fire first; it names no call
    if ((err as NatsError).code === ErrorCode.Timeout) throw timeoutError(err)
    throw err
  } finally {
    clearTimeout(timer)
  }
}
