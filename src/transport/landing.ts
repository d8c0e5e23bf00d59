// The landing path's first hop (docs/privacy.md, "The landing path"): publishers' raw events land in a
// work-queue stream that keeps them in memory for seconds; this relay (on its own thread by default,
// landing-thread.ts, or on the engine's event loop) validates and pseudonymises each landing
// message (src/ingress/relay.ts), publishes the result into the durable keyed stream with a Nats-Msg-Id, publishes
// the dead-letter records of what it refused, and only then acknowledges the landing message, which the
// work-queue retention removes. The durable, replayable log therefore never holds a raw device id or IP.
//
// Crash at each step: before the keyed publish is acknowledged, the landing message is unacknowledged and is
// delivered again after LANDING_ACK_WAIT_MS (raw for that long more, within max_age); after it but before the
// landing ack, the redelivery is published again with the same Nats-Msg-Id and the keyed stream refuses it as a
// duplicate within its duplicate window (past the window the engine's event-id de-duplication still drops it);
// after the ack, nothing raw remains. A landing message older than max_age is dropped by the server unrelayed.
import {
  AckPolicy, ConsumerEvents, DeliverPolicy, DiscardPolicy, nanos, RetentionPolicy, StorageType,
  type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg, type NatsConnection, type NatsError, type StreamConfig,
} from 'nats'
import { IdrError } from '../errors.js'
import { OptionError } from '../options/check.js'
import { encode } from '@msgpack/msgpack'
import { subjectCovers, subjects, type Subjects } from '../contracts/subjects.js'
import { Ingress, type AccountBinding } from '../ingress/ingress.js'
import { messageSha256 } from '../ingress/origin.js'
import { KeyedRelay, type Relayed } from '../ingress/relay.js'
import { KeyRing, type PseudonymKey } from '../privacy/keyring.js'
import { latencyHistogram, summarise, type LatencySummary } from '../histogram.js'
import { JS_STREAM_NOT_FOUND, JS_STREAM_SUBJECT_OVERLAP, timedCall } from './jetstream.js'

export const DEFAULT_LANDING_STREAM = 'IDR_LAND'
/** How long a raw event may wait in the landing stream, unrelayed, before the server drops it (ms): the bound on raw data at rest. */
export const DEFAULT_LANDING_MAX_AGE_MS = 10 * 60_000
/** Bytes the landing stream may hold; beyond it new publishes are refused (JetStream publishers see the error and retry). */
export const DEFAULT_LANDING_MAX_BYTES = 256 * 1024 * 1024
/** A landing message delivered but not acknowledged within this is delivered again (a relay that crashed mid-message). */
export const LANDING_ACK_WAIT_MS = 15_000
/** Landing messages a consumer prefetches. */
export const RELAY_BATCH = 256
/** Keyed publishes one relay loop has awaiting their acknowledgement at most (beyond, it waits for the oldest). */
export const RELAY_IN_FLIGHT = 512
/** A relay failure is logged at most this often, ms. */
export const REPORT_EVERY_MS = 5_000
/** Pause before a relay loop tries again after a failure (stream gone after a server restart, no connection), ms. */
export const RELAY_RETRY_MS = 500
/** The keyed stream's duplicate window at most (nats-server's default, and what its memory for message ids allows), ms. */
export const KEYED_DUPLICATE_WINDOW_MS = 120_000

export type LandingStorage = 'memory' | 'file'

export interface LandingOptions {
  /** The landing stream's name. Default DEFAULT_LANDING_STREAM. */
  readonly stream?: string
  readonly maxAgeMs?: number
  readonly maxBytes?: number
  /**
   * 'memory' (default): raw events never reach a disk; a nats-server restart loses those not yet relayed (a
   * JetStream publisher saw them acknowledged). 'file': they survive a restart, and sit in the server's files
   * until relayed.
   */
  readonly storage?: LandingStorage
  /** Landing messages each consumer prefetches. Default RELAY_BATCH. */
  readonly batch?: number
}

/** The landing options with their defaults, checked (OptionError). */
export function landingSettings(o: LandingOptions): Required<LandingOptions> {
  const r = { stream: o.stream ?? DEFAULT_LANDING_STREAM, maxAgeMs: o.maxAgeMs ?? DEFAULT_LANDING_MAX_AGE_MS, maxBytes: o.maxBytes ?? DEFAULT_LANDING_MAX_BYTES, storage: o.storage ?? 'memory', batch: o.batch ?? RELAY_BATCH }
  if (!Number.isSafeInteger(r.maxAgeMs) || r.maxAgeMs < 1_000) throw new OptionError(`landing maxAgeMs must be an integer ≥ 1000 (ms), got ${o.maxAgeMs}`)
  if (!Number.isSafeInteger(r.maxBytes) || r.maxBytes < 1) throw new OptionError(`landing maxBytes must be a positive integer, got ${o.maxBytes}`)
  if (r.storage !== 'memory' && r.storage !== 'file') throw new OptionError(`landing storage must be "memory" or "file", got ${JSON.stringify(o.storage)}`)
  if (!Number.isSafeInteger(r.batch) || r.batch < 1) throw new OptionError(`landing batch must be a positive integer, got ${o.batch}`)
  return r
}

/** What the relay has done since it started. */
export interface LandingStats {
  /** Landing messages relayed and acknowledged (those whose events were all refused included). */
  readonly relayed: number
  /** Keyed messages published (one per partition per landing message). */
  readonly keyedMessages: number
  /** Keyed publishes the stream refused as duplicates (a landing message relayed twice). */
  readonly duplicates: number
  /** Dead-letter records published. */
  readonly rejects: number
  /** Landing messages given back to be delivered again, because a keyed publish failed. */
  readonly retried: number
  /** How long relayed messages were in the landing stream when acknowledged (ms percentiles). */
  readonly ageMs: LatencySummary
}

/** The relay's counts alone. */
export type LandingCounts = Omit<LandingStats, 'ageMs'>

export const NO_LANDING_COUNTS: LandingCounts = Object.freeze({ relayed: 0, keyedMessages: 0, duplicates: 0, rejects: 0, retried: 0 })

/** Counts of two relays (a restarted relay thread counts from zero) added up. */
export function addLandingCounts(a: LandingCounts, b: LandingCounts): LandingCounts {
  return { relayed: a.relayed + b.relayed, keyedMessages: a.keyedMessages + b.keyedMessages, duplicates: a.duplicates + b.duplicates, rejects: a.rejects + b.rejects, retried: a.retried + b.retried }
}

/** What the relay needs of its bus. */
export interface RelayContext {
  readonly nc: NatsConnection
  readonly s: Subjects
  readonly url: string
  readonly partitions: readonly number[]
  readonly jsTimeoutMs: number
  readonly relay: (subject: string, data: Uint8Array, nowMs: number) => Relayed
  readonly encodeDlq: (record: object) => Uint8Array
  readonly onError: (err: unknown) => void
  /** Told each relayed message's age in the landing stream at its acknowledgement, ms. */
  readonly onAge?: (ms: number) => void
}

/** What a relay is made of, wherever it runs (this event loop or its thread): where it reads and writes, and the keys and limits it pseudonymises with. */
export interface RelaySetup {
  readonly url: string
  readonly prefix: string
  readonly partitions: readonly number[]
  readonly partitionsOf: number
  readonly jsTimeoutMs: number
  readonly landing: LandingOptions
  /** The engine's key ring (epochs and keys; secrets): the relay pseudonymises under its current epoch. */
  readonly keys: readonly PseudonymKey[]
  readonly ingress: { readonly maxMessageBytes?: number, readonly accountBinding?: AccountBinding }
}

/** The relay of `setup` on connection `nc`, its ingress configured as the engine's. */
export function relayOn(nc: NatsConnection, setup: RelaySetup, onError: (err: unknown) => void, onAge?: (ms: number) => void): LandingRelay {
  const keyed = new KeyedRelay(new Ingress({ pseudonymKey: new KeyRing(setup.keys), prefix: setup.prefix, ...setup.ingress }), setup.partitionsOf)
  return new LandingRelay({
    nc, s: subjects(setup.prefix), url: setup.url, partitions: setup.partitions, jsTimeoutMs: setup.jsTimeoutMs,
    relay: (subject, data, nowMs) => keyed.relay(subject, data, nowMs), encodeDlq: (record) => encode(record), onError, ...(onAge ? { onAge } : {}),
  }, setup.landing)
}

/** The landing stream and the relay loops of the partitions this process owns. */
export class LandingRelay {
  readonly stream: string
  readonly maxAgeMs: number
  readonly maxBytes: number
  readonly storage: LandingStorage
  private readonly batch: number
  private stopping = false
  private loops: Promise<void>[] = []
  private readonly ages = latencyHistogram()
  private counts = { ...NO_LANDING_COUNTS }
  private readonly js: JetStreamClient
  /** The consumers' message iterators being read (stopped by stop()). */
  private readonly reading = new Set<ConsumerMessages>()
  /** Keyed publishes awaiting their acknowledgement. */
  private readonly inFlight = new Set<Promise<unknown>>()
  /** Landing messages whose keyed publishes are under way, to be acknowledged or given back. */
  private readonly acking = new Set<Promise<void>>()
  private reportedAt = -Infinity

  constructor(private readonly c: RelayContext, o: LandingOptions) {
    ;({ stream: this.stream, maxAgeMs: this.maxAgeMs, maxBytes: this.maxBytes, storage: this.storage, batch: this.batch } = landingSettings(o))
    this.js = c.nc.jetstream({ timeout: c.jsTimeoutMs })
  }

  get stats(): LandingStats {
    return { ...this.counts, ageMs: summarise(this.ages) }
  }

  /** The counts alone (cheap: for metrics scrapes). */
  get counters(): LandingCounts {
    return { ...this.counts }
  }

  /**
   * Creates the landing stream over <prefix>.ev.> and <prefix>.evp.> (work queue, max_age, max_bytes, discard new),
   * or adopts one with work-queue retention whose subjects cover <prefix>.evp.>, setting its limits. A stream
   * that already holds those subjects (the raw input stream of `--jetstream`) is a NATS_STREAM_CONFLICT.
   */
  async ensureStream(): Promise<'created' | 'adopted'> {
    const jsm = await this.manager()
    const limits = { max_age: nanos(this.maxAgeMs), max_bytes: this.maxBytes }
    let info
    try {
      info = await this.timed(`reading JetStream stream ${this.stream}`, jsm.streams.info(this.stream))
    } catch (err) {
      if ((err as NatsError).api_error?.err_code !== JS_STREAM_NOT_FOUND) throw this.failure(`reading landing stream ${this.stream}`, err)
    }
    if (info) {
      if (info.config.retention !== RetentionPolicy.Workqueue || !(info.config.subjects ?? []).some((s) => subjectCovers(s, this.c.s.mapped))) {
        throw new IdrError('NATS_STREAM_CONFLICT', `JetStream stream ${this.stream} exists with retention "${info.config.retention}" and subjects ${JSON.stringify(info.config.subjects)}; ` +
          `the landing stream must be a work queue over ${this.c.s.events} and ${this.c.s.mapped}. Delete it, or start idr serve with --landing-stream NAME for another.`)
      }
      if (info.config.max_age !== limits.max_age || info.config.max_bytes !== limits.max_bytes) {
        await this.timed(`setting the limits of landing stream ${this.stream}`, jsm.streams.update(this.stream, { ...info.config, ...limits }))
      }
      return 'adopted'
    }
    const config: Partial<StreamConfig> & { name: string } = {
      name: this.stream, subjects: [this.c.s.events, this.c.s.mapped], retention: RetentionPolicy.Workqueue,
      storage: this.storage === 'memory' ? StorageType.Memory : StorageType.File, discard: DiscardPolicy.New,
      duplicate_window: nanos(Math.min(this.maxAgeMs, KEYED_DUPLICATE_WINDOW_MS)), ...limits,
    }
    try {
      await this.timed(`creating landing stream ${this.stream}`, jsm.streams.add(config))
    } catch (err) {
      if ((err as NatsError).api_error?.err_code === JS_STREAM_SUBJECT_OVERLAP) {
        throw new IdrError('NATS_STREAM_CONFLICT', `cannot create landing stream ${this.stream} over ${this.c.s.events} and ${this.c.s.mapped}: another stream holds them ` +
          `(the raw input stream of --jetstream, IDR_EV, does). Move to the landing path as docs/privacy.md, "Moving to the landing path", says: drain, then delete the raw stream.`, { cause: err })
      }
      throw this.failure(`creating landing stream ${this.stream}`, err)
    }
    return 'created'
  }

  /** Starts a relay loop for every owned partition (idr_land_<p>, over <prefix>.evp.<p>.>), and for the plain subjects on partition 0's owner. */
  start(): void {
    const filters: [string, string][] = this.c.partitions.map((p) => [`idr_land_${p}`, this.c.s.partition(p)])
    // without the server's mapping, events arrive on <prefix>.ev.<account>: one process relays them, partition 0's owner
    if (this.c.partitions.includes(0)) filters.push(['idr_land_plain', this.c.s.events])
    this.loops = filters.map(([name, filter]) => this.loop(name, filter))
  }

  /** Stops reading; the messages being relayed are finished (published and acknowledged, or given back) first. */
  async stop(): Promise<void> {
    this.stopping = true
    for (const m of this.reading) m.stop()
    await Promise.allSettled(this.loops)
    this.loops = []
    // the messages relayed so far are acknowledged (or given back) before the connection closes
    await Promise.allSettled([...this.acking])
  }

  /** Stops reading at once, without waiting for acknowledgements (what is unacknowledged is delivered again later). */
  async abort(): Promise<void> {
    this.stopping = true
    for (const m of this.reading) m.stop()
    await Promise.allSettled(this.loops)
    this.loops = []
  }

  private async loop(name: string, filter: string): Promise<void> {
    while (!this.stopping) {
      let messages: ConsumerMessages | undefined
      try {
        const consumer = await this.consumer(name, filter)
        // consume() keeps a prefetch of messages and delivers each as it arrives (a fetch would wait for a full batch)
        const got = messages = await consumer.consume({ max_messages: this.batch })
        this.reading.add(got)
        // the stream or consumer gone (a memory stream does not outlive a server restart): make them again
        void got.status().then(async (events) => {
          for await (const e of events) if (e.type === ConsumerEvents.ConsumerNotFound || e.type === ConsumerEvents.StreamNotFound) return got.stop()
        }).catch(() => undefined)
        for await (const m of got) {
          await this.relayOne(m)
          if (this.stopping) break
        }
      } catch (err) {
        if (!this.stopping && !this.c.nc.isClosed()) this.report(this.failure(`relaying ${filter} from landing stream ${this.stream}`, err))
      } finally {
        if (messages) {
          this.reading.delete(messages)
          messages.stop()
        }
      }
      if (this.stopping || this.c.nc.isClosed()) return
      await new Promise((resolve) => setTimeout(resolve, RELAY_RETRY_MS))
    }
  }

  /** The durable pull consumer `name`, created (with the stream, if missing) when it does not exist. */
  private async consumer(name: string, filter: string): Promise<Consumer> {
    const jsm = await this.manager()
    const add = (): Promise<unknown> => this.timed(`creating consumer ${name} of landing stream ${this.stream}`, jsm.consumers.add(this.stream, {
      durable_name: name, filter_subject: filter, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(LANDING_ACK_WAIT_MS), max_ack_pending: this.batch * 4,
    }))
    try {
      await add()
    } catch (err) {
      if ((err as NatsError).api_error?.err_code !== JS_STREAM_NOT_FOUND) throw err
      await this.ensureStream()
      await add()
    }
    return this.timed(`reading consumer ${name} of landing stream ${this.stream}`, this.js.consumers.get(this.stream, name))
  }

  /**
   * Relays one landing message: its dead-letter records and keyed messages are sent at once (in order; the keyed
   * publishes wait only when RELAY_IN_FLIGHT are unacknowledged), and the message is acknowledged once all its keyed
   * publishes are, or given back to be delivered again when one fails.
   */
  private async relayOne(m: JsMsg): Promise<void> {
    let r: Relayed
    try {
      r = this.c.relay(m.subject, m.data, Date.now())
    } catch (err) {
      // the ingress never throws on bad input, so this is a bug: the message is dead-lettered and taken out of
      // the landing stream rather than delivered again forever, and the relay goes on with the next
      this.c.nc.publish(this.c.s.dlq, this.c.encodeDlq({
        v: 1, code: 'RELAY_FAILED', message: 'the landing relay failed on this message', subject: m.subject.slice(0, 256),
        bytes: m.data.byteLength, sha256: messageSha256(m.data), at: Date.now(),
      }))
      this.counts.rejects++
      m.term()
      this.report(this.failure('relaying a landing message', err))
      return
    }
    for (const record of r.rejects) this.c.nc.publish(this.c.s.dlq, this.c.encodeDlq(record))
    this.counts.rejects += r.rejects.length
    const acks: Promise<unknown>[] = []
    for (const k of r.keyed) {
      while (this.inFlight.size >= RELAY_IN_FLIGHT) await Promise.race(this.inFlight)
      const p = this.js.publish(k.subject, k.data, { msgID: k.msgId }).then((a) => {
        if (a.duplicate) this.counts.duplicates++
        this.counts.keyedMessages++
      })
      const tracked: Promise<unknown> = p.catch(() => undefined).finally(() => this.inFlight.delete(tracked))
      this.inFlight.add(tracked)
      acks.push(p)
    }
    const settled: Promise<void> = Promise.all(acks).then(() => {
      m.ack()
      this.counts.relayed++
      const ageMs = Math.max(0, Date.now() - m.info.timestampNanos / 1e6)
      this.ages.recordValue(Math.max(1, Math.round(ageMs * 1000)))
      this.c.onAge?.(ageMs)
    }, (err: unknown) => {
      m.nak(RELAY_RETRY_MS)
      this.counts.retried++
      this.report(this.failure(`publishing keyed events (${this.counts.retried} landing messages given back so far)`, err))
    }).finally(() => this.acking.delete(settled))
    this.acking.add(settled)
  }

  /** Tells onError, at most once per REPORT_EVERY_MS (a stream that refuses every publish would otherwise flood the log). */
  private report(err: IdrError): void {
    const now = Date.now()
    if (now - this.reportedAt < REPORT_EVERY_MS) return
    this.reportedAt = now
    this.c.onError(err)
  }

  private manager(): Promise<JetStreamManager> {
    return this.timed('checking that JetStream is available ($JS.API.INFO)', this.c.nc.jetstreamManager({ timeout: this.c.jsTimeoutMs }))
  }

  private timed<T>(what: string, work: Promise<T>): Promise<T> {
    return timedCall(what, work, this.c.jsTimeoutMs, this.c.url)
  }

  private failure(doing: string, cause: unknown): IdrError {
    if (cause instanceof IdrError) return cause
    return new IdrError('NATS_STREAM', `${doing}: ${(cause as Error).message}`, { cause })
  }
}
