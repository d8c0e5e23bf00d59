// Question: can idr attribute 1,000,000 journeys over 12 channels fast enough to run on demand?
// Targets (issue 6): aggregation + first-order Markov with exact removal effects + simplified Shapley + all
// heuristics ≤ 2 s; order-3 Markov ≤ 10 s; exact Shapley over 12 channels ≤ 5 s. Journeys are generated
// deterministically (lengths 1..10, skewed channel mix, ~10 % converting); each timing is the median of a few
// runs after a warm-up, and resident memory is sampled around aggregation.
import { loadavg } from 'node:os'
import { buildChain, heuristic, markov, PathTableBuilder, shapleyExact, shapleySimplified, type HeuristicName, type MarkovChain, type PathTable } from '../src/attribution/index.js'
import { absorb } from '../src/attribution/solve.js'
import { mdTable, writeResult, type BenchContext } from './lib.js'
import { mulberry32 } from '../src/kernels/random.js'

export const BENCH_CHANNELS = 12
export const BENCH_JOURNEYS = 1_000_000
const MAX_PATH_TOUCHES = 10
/** P(another touch) after each touch: lengths are geometric, truncated at MAX_PATH_TOUCHES (mean ≈ 2.9). */
const CONTINUE_PROBABILITY = 0.65
/** P(the next touch repeats the channel just seen). */
const REPEAT_PROBABILITY = 0.25
const BASE_CONVERSION = 0.03
const HEURISTICS: readonly HeuristicName[] = ['first', 'last', 'linear', 'decay', 'position']

/** Journeys in flat arrays: touches[offsets[i] .. offsets[i + 1]) are journey i's channel ids. */
export interface GeneratedJourneys {
  readonly count: number
  readonly offsets: Int32Array
  readonly touches: Uint8Array
  readonly converted: Uint8Array
  readonly value: Float64Array
}

/** Deterministic journeys: channel popularity ∝ 1/(rank+1), conversion lift grows with distinct channels touched. */
export function generateJourneys(count: number, channels = BENCH_CHANNELS, seed = 6): GeneratedJourneys {
  const rand = mulberry32(seed)
  const popularity = Array.from({ length: channels }, (_, c) => 1 / (c + 1))
  const cumulative = new Float64Array(channels)
  popularity.reduce((s, p, c) => (cumulative[c] = s + p), 0)
  const total = cumulative[channels - 1]!
  const lift = Array.from({ length: channels }, (_, c) => 0.01 + 0.04 * ((c * 7) % channels) / channels) // per-channel lift
  const offsets = new Int32Array(count + 1)
  const touches = new Uint8Array(count * MAX_PATH_TOUCHES)
  const converted = new Uint8Array(count)
  const value = new Float64Array(count)
  let n = 0
  for (let j = 0; j < count; j++) {
    let p = BASE_CONVERSION
    let prev = -1
    let seen = 0
    do {
      let c: number
      if (prev >= 0 && rand() < REPEAT_PROBABILITY) c = prev
      else {
        const u = rand() * total
        c = 0
        while (cumulative[c]! < u) c++
      }
      touches[n++] = c
      if (!(seen & (1 << c))) { seen |= 1 << c; p += lift[c]! }
      prev = c
    } while (n - offsets[j]! < MAX_PATH_TOUCHES && rand() < CONTINUE_PROBABILITY)
    offsets[j + 1] = n
    if (rand() < p) {
      converted[j] = 1
      value[j] = Math.round(20 + 80 * rand() * rand() * 4) // currency units, skewed
    }
  }
  return { count, offsets, touches: touches.slice(0, n), converted, value }
}

/** Aggregates generated journeys into a path table (the step the engine will do incrementally). */
export function aggregate(g: GeneratedJourneys, channels = BENCH_CHANNELS): PathTable {
  const b = new PathTableBuilder()
  for (let c = 0; c < channels; c++) b.channelId(`ch${String(c).padStart(2, '0')}`)
  for (let j = 0; j < g.count; j++) {
    const conv = g.converted[j]!
    b.addIds(g.touches, g.offsets[j]!, g.offsets[j + 1]!, conv, g.value[j]!, 1 - conv)
  }
  return b.build()
}

/** The absorbing-chain solves of a Markov attribution on a built chain: the full chain, then each channel removed. */
function solveAll(chain: MarkovChain): void {
  const removed = new Uint8Array(chain.states)
  absorb(chain, chain.toConversion, chain.toValue, null)
  for (let c = 0; c + 1 < chain.channelPtr.length; c++) {
    for (let k = chain.channelPtr[c]!; k < chain.channelPtr[c + 1]!; k++) removed[chain.channelStates[k]!] = 1
    absorb(chain, chain.toConversion, chain.toValue, removed)
    removed.fill(0)
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function time(fn: () => unknown): number {
  const t0 = performance.now()
  fn()
  return performance.now() - t0
}

const MB = 1024 * 1024

export async function benchAttribution(ctx: BenchContext): Promise<string> {
  const journeys = ctx.quick ? 100_000 : BENCH_JOURNEYS
  const runs = ctx.quick ? 2 : 5
  const loadBefore = loadavg()
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const before = process.memoryUsage()
  const g = generateJourneys(journeys)
  const generated = process.memoryUsage()
  const table = aggregate(g)
  gc?.()
  const aggregated = process.memoryUsage()
  const touches = g.offsets[g.count]!
  const convertedShare = g.converted.reduce((s, x) => s + x, 0) / g.count
  ctx.log(`  ${journeys.toLocaleString('en')} journeys, ${touches.toLocaleString('en')} touches, ${(100 * convertedShare).toFixed(1)} % converting → ${table.rows.toLocaleString('en')} distinct paths`)

  const phases: Record<string, () => unknown> = {
    aggregate: () => aggregate(g),
    'markov order 1 (exact removal effects)': () => markov(table),
    'simplified Shapley': () => shapleySimplified(table),
    'heuristics (first, last, linear, decay, position)': () => { for (const h of HEURISTICS) heuristic(table, h) },
    'markov order 2': () => markov(table, { order: 2 }),
    'markov order 3': () => markov(table, { order: 3 }),
    'order 3: chain build only': () => buildChain(table, 3),
    'order 3: the 13 solves only (base + one per channel)': () => solveAll(chain3),
    'exact Shapley (12 channels, 4,096 coalitions)': () => shapleyExact(table),
  }
  const chain3 = buildChain(table, 3)
  const samples: Record<string, number[]> = {}
  for (const [name, fn] of Object.entries(phases)) {
    fn() // warm-up
    samples[name] = Array.from({ length: runs }, () => time(fn))
  }
  const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]))
  const firstBundle = ['aggregate', 'markov order 1 (exact removal effects)', 'simplified Shapley', 'heuristics (first, last, linear, decay, position)']
  const bundleMs = firstBundle.reduce((s, k) => s + med[k]!, 0)
  const o3 = markov(table, { order: 3 })
  const o2 = markov(table, { order: 2 })
  const targets = [
    { name: 'aggregate + Markov order 1 + simplified Shapley + heuristics', ms: bundleMs, targetMs: 2000 },
    { name: 'Markov order 3 (from the path table)', ms: med['markov order 3']!, targetMs: 10_000 },
    { name: 'exact Shapley, 12 channels', ms: med['exact Shapley (12 channels, 4,096 coalitions)']!, targetMs: 5000 },
  ]
  const memory = {
    generatedJourneysMB: (generated.rss - before.rss) / MB,
    pathTableHeapDeltaMB: (aggregated.heapUsed - generated.heapUsed) / MB,
    pathTableArrayBuffersMB: (aggregated.arrayBuffers - generated.arrayBuffers) / MB,
    rssAfterAggregationMB: aggregated.rss / MB,
    gcExposed: gc !== undefined,
  }
  writeResult('attribution', {
    loadAverage: { before: loadBefore, after: loadavg() },
    journeys, touches, distinctPaths: table.rows, channels: BENCH_CHANNELS, convertedShare, runs, quick: ctx.quick,
    statesOrder2: o2.states, statesOrder3: o3.states,
    phasesMedianMs: med, phasesSamplesMs: samples,
    targets: targets.map((t) => ({ ...t, met: t.ms <= t.targetMs })),
    journeysPerSec: { firstBundle: journeys / (bundleMs / 1000), aggregation: journeys / (med.aggregate! / 1000) },
    memory,
  })
  const rows = Object.entries(med).map(([k, ms]) => [k, ms.toFixed(1), `${((journeys / ms) * 1000 / 1e6).toFixed(2)}M`])
  const targetRows = targets.map((t) => [t.name, t.ms.toFixed(0), String(t.targetMs), t.ms <= t.targetMs ? 'yes' : 'no'])
  return [
    mdTable(['phase', 'median ms', 'journeys/s'], rows),
    '',
    mdTable(['target', 'median ms', 'target ms', 'met'], targetRows),
    '',
    `load average ${loadBefore[0]!.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after (2 cores shared); order-2 chain ${o2.states} states, order-3 chain ${o3.states} states; memory (no forced GC, indicative): generated journeys +${memory.generatedJourneysMB.toFixed(0)} MB RSS, path table +${memory.pathTableHeapDeltaMB.toFixed(1)} MB heap + ${memory.pathTableArrayBuffersMB.toFixed(1)} MB typed arrays, RSS ${memory.rssAfterAggregationMB.toFixed(0)} MB`,
  ].join('\n')
}
