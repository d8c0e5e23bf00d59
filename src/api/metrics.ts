// The engine's Prometheus metrics, in a registry of its own so that several engines in one process (or one
// test file) never collide in prom-client's global registry. Names and labels are listed in docs/operations.md.
// The engine's counts are not kept here: each scrape reads them from the runtime's Counters, the record
// idr.api.stats reads too, so the two never disagree.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { IdrError } from '../errors.js'
import { Counters } from '../runtime/counters.js'
import type { LandingCounts } from '../transport/landing.js'

/** The Counters fields that are plain counts (each also an idr.api.stats field of the same name). */
export type CountField = { [K in keyof Counters]: Counters[K] extends number ? K : never }[keyof Counters]

/** An unlabelled counter read from one Counters field at each scrape. */
export interface CountSeries {
  readonly name: string
  readonly help: string
  readonly field: CountField
}

/** The unlabelled counters, read from the Counters field each names; the labelled ones are in EngineMetrics. */
export const COUNT_SERIES: readonly CountSeries[] = [
  { name: 'idr_messages_in_total', field: 'messagesIn', help: 'Bus messages received, before decoding (shed ones included)' },
  { name: 'idr_events_in_total', field: 'eventsIn', help: 'Events that passed the ingress: decoded, valid, pseudonymised (the rejected ones are in idr_events_rejected_total)' },
  { name: 'idr_events_applied_total', field: 'eventsApplied', help: 'Events a household took (not a duplicate, late, stamped ahead, erased or of no use to it)' },
  { name: 'idr_duplicates_ignored_total', field: 'duplicatesIgnored', help: 'Events ignored as duplicates: a replayed input position already applied, or an event id already seen' },
  { name: 'idr_events_not_owned_total', field: 'eventsNotOwned', help: 'Events of accounts in partitions this process does not own' },
  { name: 'idr_erased_skipped_total', field: 'erasedSkipped', help: 'Replayed events skipped because an erasure took them back' },
  { name: 'idr_not_playback_ignored_total', field: 'notPlayback', help: 'Touch and convert events of households that keep no journeys' },
  { name: 'idr_dlq_records_total', field: 'dlqRecords', help: 'Records published to the DLQ subject' },
  { name: 'idr_checkpoints_total', field: 'checkpoints', help: 'Complete checkpoints: every changed household written with the positions it covers' },
  { name: 'idr_snapshots_written_total', field: 'snapshotsWritten', help: 'Household snapshots written, by checkpoints and passivation' },
  { name: 'idr_passivated_total', field: 'passivated', help: 'Household actors evicted from memory' },
  { name: 'idr_rehydrated_total', field: 'rehydrated', help: 'Households loaded back from their stored snapshots' },
  { name: 'idr_turns_failed_total', field: 'turnsFailed', help: 'Actor turns that threw (e.g. a snapshot that could not be loaded) and were retried after a backoff' },
  { name: 'idr_timers_fired_total', field: 'timersFired', help: 'Event-time timers fired: quiet accounts whose sessions their partition\'s event time closed' },
  { name: 'idr_refits_total', field: 'refitsRun', help: 'Refits sent to the worker pool' },
]

/** Event-to-assignment latency buckets, s: 10 µs .. 5 s, about three per decade. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
]

/** Point-in-time values the engine reports on each scrape; an absent field keeps its last value. */
export interface GaugeSample {
  /** Events queued over all mailboxes. */
  mailboxDepth?: number
  residentActors?: number
  households?: number
  /** Time since the last complete checkpoint, ms (0 while every change is stored). */
  snapshotLagMs?: number
  /** Refits sent to the pool and not back yet (running or waiting for a worker). */
  poolQueue?: number
  ready?: boolean
  /** The NATS connection is up (absent with the in-process bus: the gauge stays 0). */
  natsConnected?: boolean
}

export interface EngineMetricsOptions {
  /** Read on every scrape (`text()`), so the engine need not push gauges on its hot path. */
  gauges?: () => GaugeSample
  /** Also export prom-client's process_* and nodejs_* metrics. Default false. */
  defaultMetrics?: boolean
}

/** The engine's counters (read from its Counters), gauges and latency histogram, and their Prometheus exposition text. */
export class EngineMetrics {
  readonly registry = new Registry()
  readonly #gaugeSource: (() => GaugeSample) | undefined
  /** The record the counters read: all zeros until an engine hands over its own (readCounters). */
  #counts = new Counters()
  #countsBound = false
  /** Connection events are the transport's own, counted here only (they are no engine count). */
  readonly #natsDisconnects = new Counter({ name: 'idr_nats_disconnects_total', help: 'Times the NATS connection was lost', registers: [this.registry] })
  readonly #natsReconnects = new Counter({ name: 'idr_nats_reconnects_total', help: 'Times the NATS connection was re-established after a loss', registers: [this.registry] })

  readonly #mailboxDepth = this.#gauge('idr_mailbox_depth', 'Events queued over all mailboxes')
  readonly #residentActors = this.#gauge('idr_resident_actors', 'Household actors in memory')
  readonly #households = this.#gauge('idr_households', 'Households known (resident or passivated)')
  readonly #snapshotLag = this.#gauge('idr_snapshot_lag_ms', 'Time since the last complete checkpoint, ms (0 while every change is stored)')
  readonly #poolQueue = this.#gauge('idr_pool_queue', 'Refits sent to the pool and not back yet (running or waiting for a worker)')
  readonly #ready = this.#gauge('idr_ready', '1 when the engine is ready to serve, else 0')
  readonly #natsConnected = this.#gauge('idr_nats_connected', '1 while the NATS connection is up, else 0')

  readonly #landingAge = new Histogram({
    name: 'idr_landing_age_seconds', help: 'How long each relayed raw message was in the landing stream when acknowledged (the landing path), s',
    buckets: [...LATENCY_BUCKETS_SECONDS, 10, 30, 60, 300, 600], registers: [this.registry],
  })

  readonly #latency = new Histogram({
    name: 'idr_event_to_assignment_seconds', help: 'Time from receiving an event to publishing the assignment it caused, s',
    buckets: [...LATENCY_BUCKETS_SECONDS], registers: [this.registry],
  })

  constructor(options: EngineMetricsOptions = {}) {
    this.#gaugeSource = options.gauges
    // registered only: their values are read from #counts at each scrape
    for (const s of COUNT_SERIES) this.#counter(s.name, s.help, () => this.#counts[s.field])
    this.#labelled('idr_events_rejected_total', 'Events dead-lettered, by DLQ reason code (a shed message counts the events it holds)', 'reason',
      () => this.#counts.rejectedByReason)
    this.#labelled('idr_assignments_out_total', 'Assignments published, by stage (open, change, close)', 'stage',
      () => Object.entries(this.#counts.assignmentsByStage))
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry })
  }

  /** The Content-Type of `text()`. */
  get contentType(): string {
    return this.registry.contentType
  }

  /**
   * From now on the counters read this record (the engine hands over its runtime's at construction). One
   * engine per EngineMetrics: a second record is refused, since the series would then belong to neither.
   */
  readCounters(counts: Counters): void {
    if (this.#countsBound && counts !== this.#counts) {
      throw new IdrError('BAD_STATE', 'these metrics already read another engine\'s counters: give each engine its own EngineMetrics')
    }
    this.#counts = counts
    this.#countsBound = true
  }

  natsDisconnected(): void { this.#natsDisconnects.inc() }
  natsReconnected(): void { this.#natsReconnects.inc() }
  /** One event's receive-to-publish latency, s. */
  observeLatency(seconds: number): void { this.#latency.observe(seconds) }

  /** A relayed landing message's age at its acknowledgement, s (the landing path). */
  observeLandingAge(seconds: number): void { this.#landingAge.observe(seconds) }

  /** The landing relay's counts, read at each scrape (the landing path; call once). */
  readLanding(read: () => LandingCounts): void {
    this.#counter('idr_landing_relayed_total', 'Landing messages relayed into the keyed stream and acknowledged', () => read().relayed)
    this.#counter('idr_landing_keyed_messages_total', 'Keyed messages published (one per account per landing message)', () => read().keyedMessages)
    this.#counter('idr_landing_duplicates_total', 'Keyed publishes the stream refused as duplicates (a landing message relayed again after a crash)', () => read().duplicates)
    this.#counter('idr_landing_rejects_total', 'Dead-letter records the relay published', () => read().rejects)
    this.#counter('idr_landing_retried_total', 'Landing messages given back for redelivery because a keyed publish failed', () => read().retried)
  }

  /** Sets the gauges given; the others keep their values. */
  setGauges(sample: GaugeSample): void {
    if (sample.mailboxDepth !== undefined) this.#mailboxDepth.set(sample.mailboxDepth)
    if (sample.residentActors !== undefined) this.#residentActors.set(sample.residentActors)
    if (sample.households !== undefined) this.#households.set(sample.households)
    if (sample.snapshotLagMs !== undefined) this.#snapshotLag.set(sample.snapshotLagMs)
    if (sample.poolQueue !== undefined) this.#poolQueue.set(sample.poolQueue)
    if (sample.ready !== undefined) this.#ready.set(sample.ready ? 1 : 0)
    if (sample.natsConnected !== undefined) this.#natsConnected.set(sample.natsConnected ? 1 : 0)
  }

  /** The Prometheus exposition text, after reading the gauges from the engine's callback. */
  async text(): Promise<string> {
    if (this.#gaugeSource) this.setGauges(this.#gaugeSource())
    return this.registry.metrics()
  }

  /** A counter; with `read`, one whose value is read at each scrape instead of incremented. */
  #counter(name: string, help: string, read?: () => number): Counter {
    if (!read) return new Counter({ name, help, registers: [this.registry] })
    return new Counter({ name, help, registers: [this.registry], collect() { this.reset(); this.inc(read()) } })
  }

  /**
   * A counter with one label, read at each scrape: label value → count. The values come from a closed set
   * (DLQ codes, stages), never free text, since each one is a time series.
   */
  #labelled(name: string, help: string, label: string, read: () => Iterable<[string, number]>): Counter {
    return new Counter({
      name, help, labelNames: [label], registers: [this.registry],
      collect() {
        this.reset()
        for (const [value, n] of read()) this.inc({ [label]: value }, n)
      },
    })
  }

  #gauge(name: string, help: string): Gauge {
    return new Gauge({ name, help, registers: [this.registry] })
  }
}
