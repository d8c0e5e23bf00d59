// Latency histograms: HDR (hdr-histogram-js, 3 significant digits, µs), encoded to send over IPC and merged
// in the load tool's orchestrator, so percentiles over all publishers are exact to the histogram's precision;
// the landing relay keeps its ages in one too (src/transport/landing.ts).
import hdr from 'hdr-histogram-js'

/** A fresh latency histogram in microseconds (1 µs .. auto-resized). */
export function latencyHistogram(): hdr.Histogram {
  return hdr.build({ bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false })
}

export function encodeHistogram(h: hdr.Histogram): string {
  return hdr.encodeIntoCompressedBase64(h)
}

/** Merges encoded histograms (µs) into one. */
export function mergeHistograms(encoded: readonly (string | undefined)[]): hdr.Histogram {
  const total = latencyHistogram()
  for (const e of encoded) if (e) total.add(hdr.decodeFromCompressedBase64(e, 32, false))
  return total
}

/** Latency percentiles in ms (docs/benchmarks.md; `idr load --json` field latencyMs). */
export interface LatencySummary {
  count: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
  mean: number
}

const ms = (us: number): number => Math.round(us) / 1000

export function summarise(h: hdr.Histogram): LatencySummary {
  const n = h.totalCount
  if (n === 0) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 }
  return {
    count: n,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  }
}
