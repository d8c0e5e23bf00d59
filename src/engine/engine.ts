// The engine: bus → ingress → actor runtime → outputs, periodic checkpoints, graceful drain. Transport- and
// storage-agnostic: it is given a Bus and a Store (SnapshotStore & JourneyStore) (src/transport/, src/store/ implement them).
import { performance } from 'node:perf_hooks'
import { decode } from '@msgpack/msgpack'
import { IdrError } from '../errors.js'
import { checkOptionNames, OptionError, positiveInt } from '../options/check.js'
import { messageEventCount } from '../ingress/count.js'
import { Ingress, type IngressOptions, type Route } from '../ingress/ingress.js'
import { MessageOrigin, messageSha256 } from '../ingress/origin.js'
import type { InputSubject } from '../contracts/input-subject.js'
import type { IdrEvent } from '../model/events.js'
import type { AccountOptions } from '../account/account.js'
import type { Household } from '../model/household.js'
import type { RefitResult, RefitTask } from '../model/refit.js'
import type { Envelope } from '../runtime/actor.js'
import type { Bus, InboundMessage } from '../runtime/bus.js'
import { Counters } from '../runtime/counters.js'
import type { OffloadRunner } from '../runtime/handler.js'
import { partitionOf } from '../contracts/partition.js'
import type { RuntimeOptions } from '../runtime/runtime.js'
import { accountRuntime, type AccountRuntime } from './account-handler.js'
import { Outputs } from './outputs.js'
import { engineStats, type EngineStats } from './stats.js'

export type { EngineStats } from './stats.js'
import { POSITION_STRIDE, type JourneyQuery, type Store } from '../ports/store.js'
import { pathOf, selects, type JourneyPath } from '../attribution/ledger.js'
import { DEFAULT_PREFIX, subjects, watermarkPartition, type Subjects } from '../contracts/subjects.js'

export const DEFAULT_SNAPSHOT_INTERVAL_MS = 1_000
/**
 * Checkpoints run in slices: every CHECKPOINT_TICK_MS (or the snapshot interval, if shorter) the engine writes
 * changed households for at most CHECKPOINT_SLICE_MS, so the event path pauses briefly and often instead of
 * once a second for all of them. A slice that could not write them all brings the next one forward
 * (CHECKPOINT_BUSY_TICK_MS); when a full interval has passed without a complete pass, one is forced.
 */
export const CHECKPOINT_TICK_MS = 100
export const CHECKPOINT_BUSY_TICK_MS = 10
export const CHECKPOINT_SLICE_MS = 2
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000
/**
 * The idle-partition policy on buses without replay (NATS core, in-process): a partition that has had no event
 * for this long (processing time) moves its event time on with the clock, so quiet sessions still close.
 * JetStream does not: its event time moves only with the stream, so that a replay closes the same sessions
 * at the same positions (docs/operations.md, "Event time").
 */
export const DEFAULT_IDLE_PARTITION_MS = 60_000

/** Where the engine reports its measurements; api/metrics.ts's EngineMetrics (Prometheus) implements it. */
export interface EngineMetricsPort {
  /** The engine's one counter record, read at every scrape. */
  readCounters(counts: Counters): void
  /** One event → assignment latency, seconds. */
  observeLatency(seconds: number): void
}

/** What the engine logs; a pino logger satisfies it. Never given personal data (device ids, ips, payloads). */
export interface EngineLog {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface EngineOptions {
  bus: Bus
  store: Store
  /** Key of the HMAC that pseudonymises device ids and ips (from config or environment, never the database), or a KeyRing of epochs. */
  pseudonymKey: IngressOptions['pseudonymKey']
  /** Partition count (fnv1a32(account) mod partitionsOf). Default 1. */
  partitionsOf?: number
  /** Partitions this process owns. Default all. */
  partitions?: readonly number[]
  /** Subject prefix. Default 'idr'. */
  prefix?: string
  /** Options of every account's model and journeys. */
  household?: AccountOptions
  /** Where refits run (a RefitPool); absent: inline, on the event path. */
  refits?: OffloadRunner<RefitTask, RefitResult>
  maxResident?: number
  mailboxMax?: number
  maxQueued?: number
  snapshotIntervalMs?: number
  ingress?: Omit<IngressOptions, 'pseudonymKey' | 'prefix'>
  metrics?: EngineMetricsPort
  log?: EngineLog
  /** What erasures took back from an account's input (Eraser.erasedInput): replayed events it covers are skipped. */
  erasedInput?: RuntimeOptions<unknown, unknown>['erasedInput']
  /** Silence after which a partition's event time runs on with the clock, ms (not on JetStream). Default DEFAULT_IDLE_PARTITION_MS. */
  idlePartitionMs?: number
}

const ENGINE_OPTION_NAMES: readonly (keyof EngineOptions)[] = [
  'bus', 'store', 'pseudonymKey', 'partitionsOf', 'partitions', 'prefix', 'household', 'refits', 'maxResident', 'mailboxMax',
  'maxQueued', 'snapshotIntervalMs', 'ingress', 'metrics', 'log', 'erasedInput', 'idlePartitionMs',
]

const SILENT: EngineLog = { debug() {}, info() {}, warn() {}, error() {} }

export type EnginePhase = { readonly phase: 'created' } | { readonly phase: 'running' } | { readonly phase: 'draining' } | { readonly phase: 'stopped' }

export class Engine {
  readonly runtime: AccountRuntime
  readonly ingress: Ingress
  readonly prefix: string
  readonly partitionsOf: number
  readonly owned: ReadonlySet<number>
  private readonly bus: Bus
  private readonly store: Store
  private readonly metrics: EngineMetricsPort | undefined
  private readonly log: EngineLog
  private readonly snapshotIntervalMs: number
  private readonly idlePartitionMs: number
  /** partition → when its last watermark record was published (performance.now()). */
  private readonly watermarkSentAt = new Map<number, number>()
  private readonly s: Subjects
  /** Assignments, person changes and DLQ records on their subjects (./outputs.ts). */
  private readonly outputs: Outputs
  private timer: NodeJS.Timeout | undefined
  private state: EnginePhase = { phase: 'created' }
  /** The drain under way or done (what a second drain() returns). */
  private stopping: Promise<void> | undefined
  /** The runtime's record; the engine counts what it sees before and after the runtime here, nowhere else. */
  private readonly counts: Counters

  constructor(o: EngineOptions) {
    checkOptionNames('Engine', o, ENGINE_OPTION_NAMES)
    this.bus = o.bus
    this.store = o.store
    this.prefix = o.prefix ?? DEFAULT_PREFIX
    this.s = subjects(this.prefix)
    this.partitionsOf = o.partitionsOf ?? 1
    positiveInt('partitionsOf', this.partitionsOf)
    const owned = o.partitions ?? Array.from({ length: this.partitionsOf }, (_, i) => i)
    for (const p of owned) {
      if (!Number.isInteger(p) || p < 0 || p >= this.partitionsOf) throw new OptionError(`partition ${p} is not in [0, ${this.partitionsOf})`)
    }
    this.owned = new Set(owned)
    this.metrics = o.metrics
    this.log = o.log ?? SILENT
    this.snapshotIntervalMs = o.snapshotIntervalMs ?? DEFAULT_SNAPSHOT_INTERVAL_MS
    this.idlePartitionMs = o.idlePartitionMs ?? DEFAULT_IDLE_PARTITION_MS
    positiveInt('idlePartitionMs', this.idlePartitionMs)
    this.ingress = new Ingress({ ...o.ingress, pseudonymKey: o.pseudonymKey, prefix: this.prefix })
    this.counts = new Counters()
    this.outputs = new Outputs(this.bus, this.s, this.counts, this.log, this.metrics)
    this.runtime = accountRuntime({
      store: o.store, account: o.household, refits: o.refits, counters: this.counts, maxResident: o.maxResident, mailboxMax: o.mailboxMax, maxQueued: o.maxQueued,
      erasedInput: o.erasedInput,
      sink: {
        output: (account, out, cause) => this.outputs.output(account, out, cause),
        offloadFailed: (account, error) => this.log.error({ account, err: String(error) }, 'refit failed on the pool; ran inline'),
        turnFailed: (account, error, retryInMs) => this.log.error({ account, err: String(error), retryInMs }, 'actor turn failed; its input is kept and retried'),
      },
    })
    this.metrics?.readCounters(this.counts)
  }

  get phase(): EnginePhase['phase'] {
    return this.state.phase
  }

  /** Subscribes (JetStream: from the stored positions) and starts periodic checkpoints. */
  async start(): Promise<void> {
    if (this.state.phase !== 'created') throw new IdrError('BAD_STATE', `engine cannot start when ${this.state.phase}`)
    const from = new Map([...this.runtime.positions()].filter(([p]) => this.owned.has(p)))
    await this.bus.start((m) => this.onMessage(m), from)
    this.nextCheckpoint(true)
    this.state = { phase: 'running' }
    this.log.info({ partitions: [...this.owned], of: this.partitionsOf, bus: this.bus.kind, from: Object.fromEntries(from) }, 'engine started')
  }

  /**
   * Writes changed snapshots with the positions they cover: a slice, or everything once an interval has passed.
   * Returns whether nothing was left (a failure counts as done: the next try waits a whole tick).
   */
  checkpoint(): boolean {
    try {
      const overdue = this.runtime.snapshotLagMs >= this.snapshotIntervalMs
      const c = this.runtime.checkpoint(overdue ? Infinity : CHECKPOINT_SLICE_MS)
      if (c.complete) this.log.debug({ households: c.households, positions: Object.fromEntries(c.positions) }, 'checkpoint')
      return c.complete
    } catch (err) {
      this.log.error({ err: String(err) }, 'checkpoint failed; will retry')
      return true
    }
  }

  private nextCheckpoint(caughtUp: boolean): void {
    const delay = caughtUp ? Math.min(CHECKPOINT_TICK_MS, this.snapshotIntervalMs) : CHECKPOINT_BUSY_TICK_MS
    this.timer = setTimeout(() => {
      if (this.state.phase !== 'running') return
      if (this.bus.kind === 'jetstream') this.publishWatermarks()
      else this.runtime.idleAdvance(this.idlePartitionMs)
      this.nextCheckpoint(this.checkpoint())
    }, delay)
    this.timer.unref()
  }

  /**
   * The idle-partition policy on JetStream: a silent owned partition's event time is not moved here but written
   * into the stream as a watermark record (<prefix>.evp.<p>, {v: 1, eventTime}), at most one per idlePartitionMs,
   * and applied when it is read back, so a replay meets it at the same position (docs/operations.md, Event time).
   */
  private publishWatermarks(): void {
    const now = performance.now()
    for (const p of this.owned) {
      if (now - (this.watermarkSentAt.get(p) ?? -Infinity) < this.idlePartitionMs) continue
      const t = this.runtime.idleEventTime(p, this.idlePartitionMs)
      if (t === undefined) continue
      this.watermarkSentAt.set(p, now)
      this.bus.publish(this.bus.keyedInput === true ? this.s.keyedWatermark(p) : this.s.watermark(p), this.outputs.encoder.encode({ v: 1, eventTime: Math.floor(t) }))
    }
  }

  /**
   * A watermark record read from the stream (publishWatermarks): the partition's event time moves to its
   * eventTime and due timers fire at its position. Only the engine role may publish on its subject; a malformed
   * one is dead-lettered as BAD_WATERMARK by the partition's owner.
   */
  private onWatermark(m: InboundMessage, partition: number): void {
    const t = partition < this.partitionsOf ? watermarkTime(m.data) : undefined
    const owned = this.owned.has(partition % this.partitionsOf)
    if (t === undefined) {
      if (owned) this.outputs.dlq({ v: 1, code: 'BAD_WATERMARK', message: 'a watermark record is {v: 1, eventTime: epoch ms}', subject: m.subject, bytes: m.data.byteLength, sha256: messageSha256(m.data), at: Date.now() }, 0)
    } else if (owned) {
      this.runtime.advanceEventTime(partition, t)
      this.runtime.fireTimers(m.seq)
    }
    if (m.seq > 0) for (const p of this.owned) this.runtime.markDelivered(p, m.seq)
  }

  /**
   * Graceful stop: no more input, finish the mailboxes and refits, final checkpoint, flush outputs. Rejects
   * with DRAIN_TIMEOUT when the mailboxes do not empty in time (what could be snapshotted still is). Called
   * again while draining, it returns the same promise; once stopped, it resolves at once. Whatever fails on
   * the way (the final checkpoint, say), the bus is closed and the engine ends stopped, and drain rejects with
   * the first failure (as nats.js's drain settles its connection closed either way).
   */
  drain(timeoutMs = DEFAULT_DRAIN_TIMEOUT_MS): Promise<void> {
    if (this.state.phase === 'draining' || this.state.phase === 'stopped') return this.stopping ?? Promise.resolve()
    this.state = { phase: 'draining' }
    clearTimeout(this.timer)
    this.stopping = this.drainNow(timeoutMs)
    return this.stopping
  }

  /**
   * Forced stop (Piscina's destroy, nats.js's close): input stops and the bus closes now, without waiting for
   * the mailboxes or writing a last checkpoint. What was applied since the last checkpoint is not stored: on
   * JetStream the next start replays it; on NATS core it is lost. During a drain it cuts the drain short.
   */
  async destroy(): Promise<void> {
    if (this.state.phase === 'stopped') return
    this.state = { phase: 'stopped' }
    clearTimeout(this.timer)
    await this.bus.close()
    this.log.warn({ queued: this.runtime.queued }, 'engine destroyed: queued input and unsaved state dropped')
  }

  private async drainNow(timeoutMs: number): Promise<void> {
    let failure: unknown
    let timedOut = false
    try {
      await this.bus.stopIntake()
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs) })
      timedOut = (await Promise.race([this.runtime.whenIdle().then(() => 'idle' as const), timeout])) === 'timeout'
      clearTimeout(timer)
      if (this.state.phase === 'draining') this.runtime.checkpoint()
    } catch (err) {
      failure = err
    }
    if (this.state.phase === 'draining') {
      try {
        await this.bus.close()
      } catch (err) {
        failure ??= err
      }
      this.state = { phase: 'stopped' }
    }
    if (failure !== undefined) {
      this.log.error({ err: String(failure) }, 'drain failed; the engine is stopped')
      throw failure
    }
    if (timedOut) throw new IdrError('DRAIN_TIMEOUT', `drain did not finish in ${timeoutMs} ms: ${this.runtime.queued} events still queued`)
    this.log.info({ stats: this.stats() }, 'engine drained')
  }

  /**
   * Every journey the query selects: stored ones, then those resident households completed since their last
   * checkpoint (synchronous, so nothing moves from one to the other in between).
   */
  journeys(q: JourneyQuery, each: (p: JourneyPath) => void): void {
    this.store.journeyPaths(q, each)
    this.runtime.unstoredJourneys((r, account) => { if (selects(q, r, account)) each(pathOf(r)) })
  }

  /**
   * The query facade of the API: an account's household as it is between turns (the resident one, else one
   * rehydrated from its snapshot without making it resident), or undefined. Read it at once; do not keep it.
   */
  household(account: string): Household | undefined {
    return this.runtime.peek(account)?.household
  }

  stats(): EngineStats {
    return engineStats(this.counts, this.runtime, this.store.count())
  }


  /**
   * Where a valid event goes (docs/subjects.md, "Batches"): every process reads all input and keeps the events
   * of the partitions it owns, whatever subject they came on, so a batch of many accounts is applied in the order
   * it was published, by the owners of its events, and nothing is forwarded or dead-lettered for its partition.
   */
  private readonly route = (e: IdrEvent): Route => (this.owned.has(partitionOf(e.account, this.partitionsOf)) ? 'apply' : 'skip')

  /**
   * Whether this process dead-letters what is wrong with a message: the owner of the subject's partition does (the
   * mapped partition, else the account token's; a subject that names no account: the whole subject's), so that
   * with several processes reading the same input each bad message or event gets exactly one record.
   */
  private ownsRecordsOf(from: InputSubject, subject: string): boolean {
    if (this.owned.size === this.partitionsOf) return true
    const p = from.kind === 'mapped' || from.kind === 'keyed' || from.kind === 'keyed-mixed' ? from.partition : partitionOf(from.kind === 'plain' ? from.account : subject, this.partitionsOf)
    return this.owned.has(p % this.partitionsOf)
  }

  /** One inbound message: decode and validate, route its events, dead-letter what is bad. */
  private onMessage(m: InboundMessage): void | Promise<void> {
    this.counts.messagesIn++
    const watermark = watermarkPartition(m.subject, this.prefix)
    if (watermark !== undefined) return this.onWatermark(m, watermark)
    const now = Date.now()
    const receivedAt = performance.now()
    if (this.bus.kind === 'core' && !this.runtime.writable) {
      // NATS core cannot wait: shed the message, visibly (at-most-once delivery, docs/operations.md); it counts
      // as the events its header declares, read without decoding it (the point of shedding is not to)
      const message = `mailboxes full (${this.runtime.queued} events queued)`
      this.outputs.dlq({ v: 1, code: 'OVERLOADED', message, subject: m.subject, bytes: m.data.byteLength, sha256: messageSha256(m.data), at: now }, messageEventCount(m.data))
      return
    }
    const { events, skipped, rejects, from } = this.ingress.decode(m.subject, m.data, now, this.route)
    if (rejects.length > 0 && this.ownsRecordsOf(from, m.subject)) for (const r of rejects) this.outputs.dlq(r)
    this.counts.eventsIn += events.length
    this.counts.eventsNotOwned += skipped
    const arrivalMs = m.seq > 0 ? m.timestampMs : now
    const origin = new MessageOrigin(m.subject, m.data)
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!
      const env: Envelope = { event, pos: m.seq > 0 ? m.seq * POSITION_STRIDE + i : 0, arrivalMs, receivedAt, origin }
      this.runtime.enqueue(partitionOf(event.account, this.partitionsOf), env)
    }
    // the message's event time may have made timers due: their ticks queue behind its events
    if (events.length > 0) this.runtime.fireTimers(m.seq)
    // one stream read whole: every owned partition's events up to this sequence are queued
    if (m.seq > 0) for (const p of this.owned) this.runtime.markDelivered(p, m.seq)
    if (!this.runtime.writable && this.bus.kind !== 'core') return this.runtime.whenWritable()
  }
}

/** A watermark record's event time: a msgpack {v: 1, eventTime} of at most 64 bytes, or undefined. */
function watermarkTime(data: Uint8Array): number | undefined {
  if (data.byteLength > 64) return undefined
  try {
    const r = decode(data, { maxStrLength: 16, maxBinLength: 0, maxArrayLength: 0, maxMapLength: 2, maxExtLength: 0 }) as { v?: unknown, eventTime?: unknown }
    return r !== null && typeof r === 'object' && r.v === 1 && typeof r.eventTime === 'number' && Number.isSafeInteger(r.eventTime) ? r.eventTime : undefined
  } catch {
    return undefined
  }
}
