// The engine's Prometheus metrics, in a registry of its own so that several engines in one process (or one
// test file) never collide in prom-client's global registry. Names and labels are listed in docs/operations.md.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

/** When an assignment was published: on session open, on a material change, on close (../shared/DESIGN.md). */
export type AssignmentStage = 'open' | 'change' | 'close'

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
  /** Age of the newest committed snapshot batch, ms. */
  snapshotLagMs?: number
  /** Refits waiting for a pool worker. */
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

/** The engine's counters, gauges and latency histogram, and their Prometheus exposition text. */
export class EngineMetrics {
  readonly registry = new Registry()
  readonly #gaugeSource: (() => GaugeSample) | undefined

  readonly #eventsIn = this.#counter('idr_events_in_total', 'Input events received (before validation)')
  readonly #applied = this.#counter('idr_events_applied_total', 'Events applied to a household actor')
  readonly #rejected = new Counter({
    name: 'idr_events_rejected_total', help: 'Events rejected at ingress, by reason code (each also a DLQ record)',
    labelNames: ['reason'] as const, registers: [this.registry],
  })
  readonly #duplicates = this.#counter('idr_duplicates_ignored_total', 'Events ignored as duplicates of an event id already applied')
  readonly #assignments = new Counter({
    name: 'idr_assignments_out_total', help: 'Assignments published, by stage (open, change, close)',
    labelNames: ['stage'] as const, registers: [this.registry],
  })
  readonly #dlq = this.#counter('idr_dlq_records_total', 'Records published to the DLQ subject')
  readonly #natsDisconnects = this.#counter('idr_nats_disconnects_total', 'Times the NATS connection was lost')
  readonly #natsReconnects = this.#counter('idr_nats_reconnects_total', 'Times the NATS connection was re-established after a loss')

  readonly #mailboxDepth = this.#gauge('idr_mailbox_depth', 'Events queued over all mailboxes')
  readonly #residentActors = this.#gauge('idr_resident_actors', 'Household actors in memory')
  readonly #households = this.#gauge('idr_households', 'Households known (resident or passivated)')
  readonly #snapshotLag = this.#gauge('idr_snapshot_lag_ms', 'Age of the newest committed snapshot batch, ms')
  readonly #poolQueue = this.#gauge('idr_pool_queue', 'Refits waiting for a pool worker')
  readonly #ready = this.#gauge('idr_ready', '1 when the engine is ready to serve, else 0')
  readonly #natsConnected = this.#gauge('idr_nats_connected', '1 while the NATS connection is up, else 0')

  readonly #latency = new Histogram({
    name: 'idr_event_to_assignment_seconds', help: 'Time from receiving an event to publishing the assignment it caused, s',
    buckets: [...LATENCY_BUCKETS_SECONDS], registers: [this.registry],
  })

  constructor(options: EngineMetricsOptions = {}) {
    this.#gaugeSource = options.gauges
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry })
  }

  /** The Content-Type of `text()`. */
  get contentType(): string {
    return this.registry.contentType
  }

  eventsIn(n = 1): void { this.#eventsIn.inc(n) }
  applied(n = 1): void { this.#applied.inc(n) }
  /** `reason` is a code from a closed set (the DLQ's), never free text: each value is a time series. */
  rejected(reason: string, n = 1): void { this.#rejected.inc({ reason }, n) }
  duplicates(n = 1): void { this.#duplicates.inc(n) }
  assignments(stage: AssignmentStage, n = 1): void { this.#assignments.inc({ stage }, n) }
  dlq(n = 1): void { this.#dlq.inc(n) }
  natsDisconnected(): void { this.#natsDisconnects.inc() }
  natsReconnected(): void { this.#natsReconnects.inc() }
  /** One event's receive-to-publish latency, s. */
  observeLatency(seconds: number): void { this.#latency.observe(seconds) }

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

  #counter(name: string, help: string): Counter {
    return new Counter({ name, help, registers: [this.registry] })
  }

  #gauge(name: string, help: string): Gauge {
    return new Gauge({ name, help, registers: [this.registry] })
  }
}
