// Question: can idr attribute 1,000,000 journeys over 12 channels fast enough to run on demand?
// Targets (issue 6): aggregation + first-order Markov with exact removal effects + simplified Shapley + all
// heuristics ≤ 2 s; order-3 Markov ≤ 10 s; exact Shapley over 12 channels ≤ 5 s. Journeys are generated
// deterministically (lengths 1..10, skewed channel mix, ~10 % converting); each timing is the median of a few
// runs after a warm-up, and resident memory is sampled around aggregation. Issue 16's edge shapes (one
// 1,000,000-step path at order 3; 500 channels × 20,000 long rows at order 1) run the solver before it
// (Gauss–Seidel above 256 states, dense LU below) and 'auto' side by side.
import { loadavg } from 'node:os'
import { AttributionError, buildChain, heuristic, markov, PathTableBuilder, shapleyExact, shapleySimplified, type HeuristicName, type MarkovChain, type PathTable } from '../src/attribution/index.js'
import { absorb, DENSE_MAX_STATES, type SolverChoice } from '../src/attribution/solve.js'
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

/** Issue 16: one path this long over BENCH_CHANNELS channels, at order 3. */
export const EDGE_PATH_STEPS = 1_000_000
/** Issue 16: this many channels and rows at order 1, paths geometric with mean ≈ 10 touches, at most EDGE_MAX_TOUCHES. */
export const EDGE_WIDE_CHANNELS = 500
export const EDGE_WIDE_ROWS = 20_000
const EDGE_MAX_TOUCHES = 40
const EDGE_CONTINUE_PROBABILITY = 0.9

/** One journey of `steps` uniform touches over `channels` channels, ending with one conversion and one null. */
export function longPathTable(steps: number, channels = BENCH_CHANNELS, seed = 16): PathTable {
  const rand = mulberry32(seed)
  const b = new PathTableBuilder()
  for (let c = 0; c < channels; c++) b.channelId(`ch${String(c).padStart(2, '0')}`)
  const ids = Uint16Array.from({ length: steps }, () => Math.floor(rand() * channels))
  return b.addIds(ids, 0, steps, 1, 100, 1).build()
}

/** `rows` journeys over `channels` channels (popularity ∝ 1/rank), 10 % converting at 50 currency units. */
export function wideTable(channels = EDGE_WIDE_CHANNELS, rows = EDGE_WIDE_ROWS, seed = 17): PathTable {
  const rand = mulberry32(seed)
  const b = new PathTableBuilder()
  for (let c = 0; c < channels; c++) b.channelId(`ch${String(c).padStart(3, '0')}`)
  const cumulative: number[] = []
  let total = 0
  for (let c = 0; c < channels; c++) cumulative.push((total += 1 / (c + 1)))
  const ids = new Uint16Array(EDGE_MAX_TOUCHES)
  for (let j = 0; j < rows; j++) {
    let n = 0
    do {
      const u = rand() * total
      let c = 0
      while (cumulative[c]! < u) c++
      ids[n++] = c
    } while (n < EDGE_MAX_TOUCHES && rand() < EDGE_CONTINUE_PROBABILITY)
    const converted = rand() < 0.1 ? 1 : 0
    b.addIds(ids, 0, n, converted, converted * 50, 1 - converted)
  }
  return b.build()
}

/** The solver markov() used before issue 16: dense LU up to DENSE_MAX_STATES states, Gauss–Seidel above. */
function oldSolver(states: number): SolverChoice {
  return states <= DENSE_MAX_STATES ? 'dense' : 'iterative'
}

interface EdgeRun { readonly ms: number, readonly outcome: string }

/** Times markov() on a table with one solver; a refusal is a result (its code), not a crash. */
function timeMarkov(table: PathTable, order: number, solver: SolverChoice): EdgeRun {
  const t0 = performance.now()
  try {
    const m = markov(table, { order, solver })
    return { ms: performance.now() - t0, outcome: `ok (${m.solved.full}, removals ${m.solved.removed})` }
  } catch (e) {
    if (e instanceof AttributionError) return { ms: performance.now() - t0, outcome: e.code }
    throw e
  }
}

/** Issue 16's two edge cases, old solver against 'auto', `runs` times each (no warm-up beyond the first case's). */
function benchEdges(ctx: BenchContext, runs: number): { rows: string[][], result: Record<string, unknown> } {
  const steps = ctx.quick ? EDGE_PATH_STEPS / 10 : EDGE_PATH_STEPS
  const wideRows = ctx.quick ? EDGE_WIDE_ROWS / 5 : EDGE_WIDE_ROWS
  const cases = [
    { name: `one ${steps.toLocaleString('en')}-step path, ${BENCH_CHANNELS} channels, order 3`, table: longPathTable(steps), order: 3 },
    { name: `${EDGE_WIDE_CHANNELS} channels × ${wideRows.toLocaleString('en')} rows, order 1`, table: wideTable(EDGE_WIDE_CHANNELS, wideRows), order: 1 },
  ]
  const rows: string[][] = []
  const result: Record<string, unknown> = {}
  for (const c of cases) {
    const states = buildChain(c.table, c.order).states
    const old = oldSolver(states)
    const before = Array.from({ length: runs }, () => timeMarkov(c.table, c.order, old))
    const after = Array.from({ length: runs }, () => timeMarkov(c.table, c.order, 'auto'))
    const a = markov(c.table, { order: c.order })
    const oldMs = median(before.map((r) => r.ms))
    const newMs = median(after.map((r) => r.ms))
    ctx.log(`  ${c.name}: ${states} states; old ${old} ${oldMs.toFixed(0)} ms (${before[0]!.outcome}), auto ${newMs.toFixed(0)} ms (${after[0]!.outcome})`)
    rows.push([c.name, String(states), `${old}: ${before[0]!.outcome}`, oldMs.toFixed(0), after[0]!.outcome, newMs.toFixed(0), `${before[0]!.outcome.startsWith('ok') ? '' : 'old refused after '}${(oldMs / newMs).toFixed(1)}×`])
    result[c.name] = {
      rows: c.table.rows, states, order: c.order, oldSolver: old,
      oldMs: before.map((r) => r.ms), oldOutcome: before.map((r) => r.outcome), oldMedianMs: oldMs,
      autoMs: after.map((r) => r.ms), autoOutcome: after.map((r) => r.outcome), autoMedianMs: newMs,
      ratioOldOverAuto: oldMs / newMs, conversionProbability: a.conversionProbability,
    }
  }
  return { rows, result }
}

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
    'markov order 1, old solver (dense LU)': () => markov(table, { solver: 'dense' }),
    'simplified Shapley': () => shapleySimplified(table),
    'heuristics (first, last, linear, decay, position)': () => { for (const h of HEURISTICS) heuristic(table, h) },
    'markov order 2': () => markov(table, { order: 2 }),
    'markov order 3': () => markov(table, { order: 3 }),
    'markov order 3, old solver (Gauss–Seidel)': () => markov(table, { order: 3, solver: 'iterative' }),
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
  const edges = benchEdges(ctx, ctx.quick ? 1 : 3)
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
    edgeCases: edges.result, solvedOrder3: o3.solved,
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
    mdTable(['edge case (issue 16)', 'states', 'old solver', 'old median ms', 'auto', 'auto median ms', 'old / auto'], edges.rows),
    '',
    `load average ${loadBefore[0]!.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after (2 cores shared); order-2 chain ${o2.states} states, order-3 chain ${o3.states} states; memory (no forced GC, indicative): generated journeys +${memory.generatedJourneysMB.toFixed(0)} MB RSS, path table +${memory.pathTableHeapDeltaMB.toFixed(1)} MB heap + ${memory.pathTableArrayBuffersMB.toFixed(1)} MB typed arrays, RSS ${memory.rssAfterAggregationMB.toFixed(0)} MB`,
  ].join('\n')
}
