// The demo's report (report.json): what `idr demo` measured, in one JSON document that report.html renders.
// Field names are a contract with the HTML renderer (src/demo/html.ts) and with scripts reading report.json.
import type { ReliabilityBin } from '../sim/metrics-probability.js'

export const REPORT_VERSION = 1

export interface DemoConfig {
  readonly households: number
  readonly days: number
  readonly seed: number
  readonly difficulty: 'easy' | 'default' | 'hard'
  /** 'in-process' (embedded default) or 'nats'. */
  readonly bus: 'in-process' | 'nats'
  /** NATS URL when bus is 'nats' (credentials removed). */
  readonly natsUrl: string | null
  /** The SQLite file the engine snapshotted to; null: a temporary file, removed when the demo ended. */
  readonly db: string | null
  /** Refit worker threads (0: refits inline on the engine's thread). */
  readonly poolThreads: number
  /** Events per published message. */
  readonly batch: number
}

export interface LatencySummary {
  /** Sessions whose first event and 'open' assignment were both seen. */
  readonly count: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly p999: number
  readonly max: number
  /** Histogram for plotting: counts[i] sessions had latency in [edgesMs[i], edgesMs[i + 1]); edges log-spaced. */
  readonly histogram: { readonly edgesMs: readonly number[], readonly counts: readonly number[] }
  /** What the latency spans, in words (from which send to which arrival). */
  readonly definition: string
}

export interface RunSummary {
  readonly events: number
  readonly messages: number
  readonly seconds: number
  readonly eventsPerSec: number
  readonly assignments: number
  readonly dlqRecords: number
  readonly sessions: number
  readonly snapshotBytes: number
}

export interface QualitySummary {
  /** Session accuracy under each household's best one-to-one mapping (docs/metrics.md). */
  readonly accuracy: number
  /** The Bayes oracle's accuracy on the same sessions (knows the true distributions). */
  readonly ceiling: number
  readonly accuracyToCeiling: number
  /** Accuracy of the provisional ('open') assignment. */
  readonly accuracyAtOpen: number
  /** Always guessing the household's most active person (under the same mapping). */
  readonly baselineDominant: number
  /** Share of households whose number of persons was found exactly, and the mean absolute error. */
  readonly sizeExact: number
  readonly sizeMae: number
  readonly ece: number
  readonly brier: number
  /** Accuracy from a person's n-th session on; keys "1", "3", "10" (and the others the evaluator buckets). */
  readonly accuracyAfterSessions: Readonly<Record<string, number | null>>
  readonly reliability: readonly ReliabilityBin[]
  /** Rows: true household size (trueSizes[i]); columns: found size (foundSizes[j]); counts[i][j] households. */
  readonly sizeConfusion: { readonly trueSizes: readonly number[], readonly foundSizes: readonly number[], readonly counts: readonly (readonly number[])[] }
}

/** A person as described in words, found by the engine or true in the simulation. */
export interface PersonDescription {
  readonly person: string
  /** Share of the household's sessions. */
  readonly share: number
  /** e.g. "evenings around 21:00 on the living-room TV (tv); mostly drama, thriller; ~48 min" */
  readonly words: string
  /** For engine persons: the true person it maps to under the best mapping, or null. */
  readonly matches?: string | null
  /** For true persons: the simulator's archetype. */
  readonly archetype?: string
}

export interface ExampleSession {
  readonly session: string
  /** Start, epoch ms. */
  readonly startMs: number
  readonly durationMin: number
  /** Device type and a short label, e.g. "tv 55in". */
  readonly device: string
  readonly genre: string
  /** True person(s), '+'-joined for co-viewing. */
  readonly truth: string
  /** Final probabilities, descending. */
  readonly persons: readonly { readonly person: string, readonly p: number }[]
  /** Whether the top person maps to (one of) the true person(s). */
  readonly correct: boolean
}

export interface ExampleHousehold {
  readonly account: string
  readonly trueSize: number
  readonly foundSize: number
  readonly accuracy: number
  readonly found: readonly PersonDescription[]
  readonly truth: readonly PersonDescription[]
  /** Time ordered; the HTML plots them over time coloured by the top person. */
  readonly sessions: readonly ExampleSession[]
}

export interface DemoReport {
  readonly version: typeof REPORT_VERSION
  /** ISO time the report was written. */
  readonly generatedAt: string
  readonly idrVersion: string
  readonly machine: { readonly node: string, readonly platform: string, readonly cpus: number, readonly cpuModel: string }
  readonly config: DemoConfig
  readonly run: RunSummary
  readonly latencyMs: LatencySummary
  readonly quality: QualitySummary
  readonly examples: readonly ExampleHousehold[]
}

/**
 * How a true person (the simulator's p1, p2, …, '+'-joined for co-viewing) is shown in the summary and
 * report.html: T1, T2, … ("T1+T3"), so it is not read as the engine's p1, p2, … . report.json keeps the
 * simulator's ids, as the NDJSON `truth` field has them.
 */
export function trueLabel(truth: string): string {
  return truth.split('+').map((t) => t.replace(/^p(\d+)$/, 'T$1')).join('+')
}

/** Decimals of the probabilities in the report's example sessions (the engine's are full doubles, e.g. 1 − 0.8). */
export const EXAMPLE_P_DECIMALS = 4
