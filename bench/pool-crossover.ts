// Question: from what batch size does the worker pool pay off on this machine? Batches of households of
// growing size run inline (one thread, synchronously) and through GmmPool (all cores); for each we record
// the wall time and the main thread's busy time (event-loop utilisation), and the crossover where the pool's
// wall time drops below inline becomes POOL_MIN_WORK.
import { performance } from 'node:perf_hooks'
import { availableParallelism } from 'node:os'
import { createWasmKernels } from '../src/kernels/backend.js'
import { GmmPool, gmmWork, POOL_MIN_WORK, type GmmJob } from '../src/kernels/pool.js'
import { householdFeatures } from '../src/sim/random.js'
import { fmtUs, mdTable, measure, writeResult, type BenchContext } from './lib.js'

/** Batches from tiny to large: households per batch, sessions per household, feature dimension (full covariance, K = 1..6). */
const BATCHES: readonly { households: number, sessions: number, d: number }[] = [
  { households: 1, sessions: 12, d: 4 },
  { households: 2, sessions: 12, d: 4 },
  { households: 4, sessions: 12, d: 8 },
  { households: 4, sessions: 24, d: 8 },
  { households: 8, sessions: 24, d: 8 },
  { households: 8, sessions: 24, d: 16 },
  { households: 8, sessions: 32, d: 26 },
  { households: 8, sessions: 100, d: 26 },
  { households: 8, sessions: 300, d: 26 },
]

/** Median main-thread active time (µs) of `fn` over `reps` runs, from event-loop utilisation. */
async function mainThreadUs(fn: () => Promise<unknown>, reps: number): Promise<number> {
  const samples: number[] = []
  for (let r = 0; r < reps; r++) {
    const before = performance.eventLoopUtilization()
    const t0 = performance.now()
    await fn()
    const wall = (performance.now() - t0) * 1000
    const elu = performance.eventLoopUtilization(before)
    samples.push(Math.min(wall, elu.active * 1000))
  }
  samples.sort((a, b) => a - b)
  return samples[samples.length >> 1]!
}

export async function benchPoolCrossover(ctx: BenchContext): Promise<string> {
  const threads = availableParallelism()
  const inline = new GmmPool({ poolMinWork: Infinity, kernels: createWasmKernels() })
  const pooled = new GmmPool({ poolMinWork: 0, threads })
  const rows: { households: number, sessions: number, d: number, batchWork: number, inlineUs: number, poolUs: number, poolMainUs: number, inlineMainUs: number }[] = []
  try {
    for (const { households, sessions: n, d } of BATCHES) {
      const jobs: GmmJob[] = Array.from({ length: households }, (_, h) => ({ points: householdFeatures(n, d, 3, 100 + h), options: { seed: h } }))
      const batchWork = jobs.reduce((s, j) => s + gmmWork(j.points.rows, j.points.cols, j.options), 0)
      await pooled.selectMany(jobs) // warm the workers
      const [i, p] = await measure(ctx, [
        { name: `inline ${n}`, fn: () => inline.selectMany(jobs) },
        { name: `pool ${n}`, fn: () => pooled.selectMany(jobs) },
      ], 600)
      const reps = ctx.quick ? 3 : 21
      const poolMainUs = await mainThreadUs(() => pooled.selectMany(jobs), reps)
      const inlineMainUs = await mainThreadUs(() => inline.selectMany(jobs), reps)
      rows.push({ households, sessions: n, d, batchWork, inlineUs: i!.medianUs, poolUs: p!.medianUs, poolMainUs, inlineMainUs })
      ctx.log(`  ${households} × ${n} sessions × ${d} dims (work ${batchWork.toExponential(2)}): inline ${fmtUs(i!.medianUs)}, pool ${fmtUs(p!.medianUs)}, pool main thread ${fmtUs(poolMainUs)}`)
    }
  } finally {
    await pooled.close()
    await inline.close()
  }
  const crossover = rows.find((r) => r.poolUs < r.inlineUs)
  writeResult('pool-crossover', { threads, rows, crossoverWork: crossover?.batchWork ?? null, poolMinWork: POOL_MIN_WORK })
  const table = mdTable(
    ['households × sessions × dims', 'batch work', 'inline', `pool (${threads} threads)`, 'pool / inline', 'main thread busy, pool', 'main thread busy, inline'],
    rows.map((r) => [`${r.households} × ${r.sessions} × ${r.d}`, r.batchWork.toExponential(2), fmtUs(r.inlineUs), fmtUs(r.poolUs), `${(r.poolUs / r.inlineUs).toFixed(2)}×`, fmtUs(r.poolMainUs), fmtUs(r.inlineMainUs)]),
  )
  const verdict = crossover
    ? `Crossover: the pool is faster from a batch work of about ${crossover.batchWork.toExponential(1)} (${crossover.households} × ${crossover.sessions} sessions × ${crossover.d} dims); POOL_MIN_WORK is ${POOL_MIN_WORK.toExponential(1)}.`
    : 'The pool was never faster than inline in this run.'
  return `${table}\n\n${verdict}`
}
