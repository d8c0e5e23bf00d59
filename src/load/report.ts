// The result of one `idr load` run (the --json contract) and its text rendering.
import type { LatencySummary } from '../histogram.js'
import type { LandingStats } from '../transport/landing.js'

/** One `idr load` run. mode, eventsPerSec, ceilingEventsPerSec, ratioToCeiling, latencyMs, rssMb and households are a contract. */
export interface LoadResult {
  /** core-single, core-batch100, jetstream-batch100, … */
  mode: string
  transport: 'core' | 'jetstream' | 'landing'
  batch: number
  scenario: 'steady' | 'storm'
  /** Target events/s, or 'max'. */
  rate: number | 'max'
  durationSec: number
  /** Excluded from throughput and latency at the start of each phase, s. */
  warmupSec: number
  households: number
  /** Households in a session at once (the rest idle). */
  active: number
  publishers: number
  partitions: number
  maxResident: number
  /** Engine throughput over the measured window, events/s (events applied to households). */
  eventsPerSec: number
  /** The null consumer's rate in the same run, events/s; null without a ceiling phase. */
  ceilingEventsPerSec: number | null
  /** eventsPerSec / ceilingEventsPerSec. */
  ratioToCeiling: number | null
  /** Event → open assignment, after the warm-up. */
  latencyMs: LatencySummary & { missing: number }
  /** Only sessions opened right after a refit point (3, 8, 13, … closed sessions). */
  refitLatencyMs: LatencySummary
  /** The engine's RSS at the end of the run, MB. */
  rssMb: number | null
  publish: {
    /** Events/s the publishers achieved in the engine phase. */
    eventsPerSec: number
    events: number
    messages: number
    /** A fixed rate the publishers could not hold (≥ 5 % short): every figure of the run is suspect. */
    limited: boolean
    /** Publisher CPU, % of one core (sum over publishers). */
    cpuPct: number
  }
  ceiling: null | {
    eventsPerSec: number
    eventsPublished: number
    eventsReceived: number
    /** The publishers' rate in that phase, events/s. */
    publishEventsPerSec: number
    /** The null consumer kept up with the publishers: the ceiling is a lower bound, set by the publishers. */
    publisherBound: boolean
    cpuPct: number
  }
  engine: {
    eventsPublished: number
    eventsApplied: number
    eventsRejected: number
    /** DLQ reason code → events rejected with it during the run. */
    rejectedByReason: Record<string, number>
    dlqRecords: number
    assignmentsOut: number
    /** Applied every published event at the publishers' rate. */
    keptUp: boolean
    /** Households the engine knows (more than `households` when event time rolled over to fresh accounts). */
    households: number
    residentActors: number
    passivated: number
    rehydrated: number
    cpuPct: number | null
    rssMbBefore: number | null
    rssMbPeak: number | null
    /** (RSS after − RSS before) / resident actors: an estimate that includes heap slack and caches. */
    bytesPerResidentHousehold: number | null
    /** Time from the end of publishing until the engine had applied what it was going to, s. */
    catchUpSec: number
    /** Warnings and errors the engine logged during the run (first few). */
    problems: string[]
  }
  /** The landing path only: what the relay did, and how long raw messages waited in the landing stream (ms). */
  landing?: LandingStats
  natsServerCpuPct: number | null
  versions: { node: string, natsServer: string, commit: string }
  /** 1-minute load average before and after (2 cores: above ~0.5 means other work shared the machine). */
  loadAvg: { before: number, after: number }
  at: string
}

const f0 = (n: number): string => Math.round(n).toLocaleString('en-US')

/** " (CODE n, …)" for the reasons events were rejected, or ''. */
function rejectedBy(r: LoadResult): string {
  const parts = Object.entries(r.engine.rejectedByReason).filter(([, n]) => n > 0).map(([code, n]) => `${code} ${f0(n)}`)
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`
}

/** A short human-readable summary. */
export function renderLoad(r: LoadResult): string {
  const lines = [
    `idr load: ${r.mode}, ${r.scenario}, rate ${r.rate === 'max' ? 'max' : f0(r.rate) + '/s'}, ${f0(r.households)} households (${f0(r.active)} active), ${r.durationSec} s (warm-up ${r.warmupSec} s excluded)`,
    `  publishers:      ${f0(r.publish.eventsPerSec)} events/s${r.publish.limited ? '  (SHORT OF THE TARGET RATE: publisher-limited)' : ''}`,
    r.ceiling
      ? `  null consumer:   ${f0(r.ceiling.eventsPerSec)} events/s${r.ceiling.publisherBound ? ' (kept up with the publishers: a lower bound)' : ''}`
      : '  null consumer:   skipped',
    `  engine:          ${f0(r.eventsPerSec)} events/s${r.ratioToCeiling === null ? '' : `  = ${r.ratioToCeiling.toFixed(2)} × ceiling`}${r.engine.keptUp ? ' (kept up)' : ''}`,
    `  applied:         ${f0(r.engine.eventsApplied)} of ${f0(r.engine.eventsPublished)} published, ${f0(r.engine.eventsRejected)} rejected${rejectedBy(r)}, catch-up ${r.engine.catchUpSec.toFixed(1)} s`,
    `  latency (ms):    p50 ${r.latencyMs.p50}  p90 ${r.latencyMs.p90}  p99 ${r.latencyMs.p99}  p99.9 ${r.latencyMs.p999}  max ${r.latencyMs.max}  (n = ${f0(r.latencyMs.count)}, missing ${f0(r.latencyMs.missing)})`,
    `  after refits:    p50 ${r.refitLatencyMs.p50}  p99 ${r.refitLatencyMs.p99}  p99.9 ${r.refitLatencyMs.p999}  max ${r.refitLatencyMs.max}  (n = ${f0(r.refitLatencyMs.count)})`,
    `  engine process:  CPU ${r.engine.cpuPct ?? '?'} %, RSS ${r.rssMb ?? '?'} MB (before ${r.engine.rssMbBefore ?? '?'}, peak ${r.engine.rssMbPeak ?? '?'}), ` +
      `${f0(r.engine.residentActors)} resident of ${f0(r.engine.households)} households, ~${r.engine.bytesPerResidentHousehold === null ? '?' : f0(r.engine.bytesPerResidentHousehold)} B each`,
    `  nats-server CPU: ${r.natsServerCpuPct ?? '?'} %, publishers CPU ${r.publish.cpuPct} %, load average ${r.loadAvg.before} → ${r.loadAvg.after}`,
  ]
  if (r.landing) {
    const a = r.landing.ageMs
    lines.push(`  landing age (ms): p50 ${a.p50}  p99 ${a.p99}  max ${a.max} at acknowledgement (${f0(r.landing.relayed)} relayed, ${f0(r.landing.retried)} retried)`)
  }
  for (const p of r.engine.problems) lines.push(`  engine logged:   ${p}`)
  return lines.join('\n')
}
