// Latency samples of the demo: an HDR histogram (hdr-histogram-js, microsecond resolution, 3 significant
// digits) for the percentiles, and log-spaced bins for the report's plot.
import { build, type Histogram } from 'hdr-histogram-js'
import type { LatencySummary } from './report.js'

const BINS = 40
/** Lowest edge of the plotted histogram, ms. */
const PLOT_MIN_MS = 0.01

export class LatencyRecorder {
  private readonly hdr: Histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 })
  private readonly samples: number[] = []

  /** One latency, ms. */
  record(ms: number): void {
    this.samples.push(ms)
    this.hdr.recordValue(Math.max(1, Math.round(ms * 1000)))
  }

  get count(): number {
    return this.samples.length
  }

  summary(definition: string): LatencySummary {
    const at = (q: number): number => (this.samples.length === 0 ? 0 : this.hdr.getValueAtPercentile(q) / 1000)
    const max = this.samples.reduce((m, x) => Math.max(m, x), 0)
    const hi = Math.max(max, PLOT_MIN_MS * 10) * 1.0001
    const ratio = (hi / PLOT_MIN_MS) ** (1 / BINS)
    const edgesMs = Array.from({ length: BINS + 1 }, (_, i) => PLOT_MIN_MS * ratio ** i)
    const counts = new Array<number>(BINS).fill(0)
    for (const x of this.samples) {
      const i = Math.min(BINS - 1, Math.max(0, Math.floor(Math.log(Math.max(x, PLOT_MIN_MS) / PLOT_MIN_MS) / Math.log(ratio))))
      counts[i]! += 1
    }
    return { count: this.samples.length, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max, histogram: { edgesMs, counts }, definition }
  }
}
