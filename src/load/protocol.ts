// Messages between the load orchestrator and its child processes (publishers, the null consumer), over
// the IPC channel of child_process.fork. Times are epoch ms (Date.now()), comparable across processes on
// this one machine; latencies are measured inside one process with performance.now().

/** What one publisher process does. */
export interface PublisherConfig {
  url: string
  /** Subject prefix: events go to <prefix>.evp.<partition>.<account>, assignments come on <prefix>.out.assign.*. */
  prefix: string
  index: number
  households: number
  /** Index of this publisher's first household (ranges are disjoint). */
  firstHousehold: number
  seed: number
  partitionsOf: number
  /** Events per message; 1 = a single event map, otherwise an array (per partition). */
  batch: number
  /** Target events/s of this publisher; 0 = as fast as it can. */
  rate: number
  durationMs: number
  /** Plays published before this (ms after start) are not measured (warm-up). */
  warmupMs: number
  scenario: 'steady' | 'storm'
  /** Households of this publisher in a session at once; undefined = all. */
  active?: number
  /** Subscribe to assignments and measure event → assignment latency. */
  latency: boolean
  /** Unique per run and publisher; prefixes every event id. */
  idPrefix: string
}

export type ToPublisher =
  | { type: 'start', config: PublisherConfig }
  | { type: 'go' }
  /** Stop listening for assignments and send the result. */
  | { type: 'finish' }

export interface PublisherResult {
  events: number
  messages: number
  /** Epoch ms of the first and last publish. */
  startedAt: number
  endedAt: number
  /** Events published before the warm-up ended. */
  warmupEvents: number
  /** Accounts used (households, plus new accounts when event time caught up with now). */
  accounts: number
  /** CPU time of this process over the run, ms (user + system). */
  cpuMs: number
  /** HDR histograms (µs), hdr-histogram-js compressed base64; absent without latency. */
  latency?: string
  /** The same, only sessions opened right after a refit point (the storm's victims). */
  refitLatency?: string
  /** Measured plays (after warm-up) whose open assignment never came. */
  missing: number
  /** Open assignments of plays this publisher did not measure (other publishers', warm-up). */
  unmatched: number
}

export type FromPublisher =
  | { type: 'ready' }
  | { type: 'published', events: number, endedAt: number }
  | { type: 'result', result: PublisherResult }
  | { type: 'error', message: string }

/** What the null consumer does. */
export interface NullConfig {
  url: string
  prefix: string
  /** Read a JetStream stream (ordered consumer) instead of core subscriptions. */
  stream?: string
}

export type ToNull = { type: 'start', config: NullConfig } | { type: 'finish' }

export type FromNull =
  | { type: 'ready' }
  /** Events decoded so far, at epoch ms `at` (sent every NULL_REPORT_MS). */
  | { type: 'count', events: number, messages: number, at: number }
  | { type: 'result', events: number, messages: number, cpuMs: number }
  | { type: 'error', message: string }

/** How often the null consumer reports its count, ms. */
export const NULL_REPORT_MS = 100
