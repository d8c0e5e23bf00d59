// Question: what does one household refit cost (N = 300 sessions, D = 26, K = 1..6 by BIC, one k-means++
// init per K as scikit-learn's default), inline in WebAssembly, through the pool, in the TypeScript twin,
// and in scikit-learn's GaussianMixture on the same data with the same K range, tolerance and inits?
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTwinKernels, createWasmKernels } from '../src/kernels/backend.js'
import { selectGmm, type CovarianceType, type GmmSelectOptions } from '../src/kernels/gmm.js'
import { GmmPool } from '../src/kernels/pool.js'
import type { Matrix } from '../src/kernels/validate.js'
import { householdFeatures } from '../src/sim/random.js'
import { projectRoot } from '../src/paths.js'
import { fmtUs, mdTable, measure, writeResult, type BenchContext } from './lib.js'

const SESSIONS = 300
const D = 26
const PEOPLE = 3

interface SklearnResult { medianMs: number, k: number, bic: number[], sklearn: string }

/** scikit-learn on the same data, or why it could not run. */
function sklearn(x: Matrix, o: Required<Pick<GmmSelectOptions, 'covariance' | 'kMin' | 'kMax' | 'nInit' | 'tol' | 'regCovar'>>, reps: number): SklearnResult | { unavailable: string } {
  const python = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0)
  if (!python) return { unavailable: 'python3-sklearn not installed (apt-get install python3-sklearn)' }
  const dir = mkdtempSync(join(tmpdir(), 'idr-sk-'))
  try {
    const spec = join(dir, 'spec.json')
    writeFileSync(spec, JSON.stringify({ rows: x.rows, cols: x.cols, data: Array.from(x.data), ...o, reps }))
    const run = spawnSync(python, [join(projectRoot, 'bench', 'sklearn_refit.py'), spec], { encoding: 'utf8' })
    if (run.status !== 0) return { unavailable: `sklearn run failed: ${run.stderr.trim().split('\n').pop()}` }
    return JSON.parse(run.stdout) as SklearnResult
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function benchRefit(ctx: BenchContext): Promise<string> {
  const x = householdFeatures(SESSIONS, D, PEOPLE, 1)
  const wasm = createWasmKernels()
  const twin = createTwinKernels()
  const pool = new GmmPool({ poolMinWork: 0, threads: 1 })
  const rows: Record<string, unknown>[] = []
  try {
    for (const covariance of ['full', 'diag'] as CovarianceType[]) {
      const o = { covariance, kMin: 1, kMax: 6, nInit: 1, tol: 1e-3, regCovar: 1e-6 }
      const k = selectGmm(wasm, x, o).best.k
      await pool.select(x, o) // start the worker and compile its module before timing
      const [w, p, t] = await measure(ctx, [
        { name: `wasm inline ${covariance}`, fn: () => selectGmm(wasm, x, o) },
        { name: `pool ${covariance}`, fn: () => pool.select(x, o) },
        { name: `twin ${covariance}`, fn: () => selectGmm(twin, x, o) },
      ], 2000)
      const sk = sklearn(x, o, ctx.quick ? 3 : 15)
      const skMs = 'medianMs' in sk ? sk.medianMs : undefined
      rows.push({ covariance, k, wasmMs: w!.medianUs / 1000, poolMs: p!.medianUs / 1000, twinMs: t!.medianUs / 1000, sklearn: sk })
      ctx.log(`  ${covariance}: wasm ${fmtUs(w!.medianUs)}, pool ${fmtUs(p!.medianUs)}, twin ${fmtUs(t!.medianUs)}, sklearn ${skMs === undefined ? 'n/a' : `${skMs.toFixed(1)} ms`}`)
    }
  } finally {
    await pool.close()
  }
  writeResult('refit', { sessions: SESSIONS, d: D, people: PEOPLE, nInit: 1, rows })
  return mdTable(
    ['covariance', 'K chosen (BIC)', 'wasm inline', 'pool (1 household)', 'twin', 'twin / wasm', 'scikit-learn', 'sklearn / wasm', 'sklearn K'],
    rows.map((r) => {
      const sk = r['sklearn'] as SklearnResult | { unavailable: string }
      const w = r['wasmMs'] as number
      return [
        r['covariance'] as string, r['k'] as number, `${w.toFixed(2)} ms`, `${(r['poolMs'] as number).toFixed(2)} ms`,
        `${(r['twinMs'] as number).toFixed(2)} ms`, `${((r['twinMs'] as number) / w).toFixed(1)}×`,
        'medianMs' in sk ? `${sk.medianMs.toFixed(1)} ms (${sk.sklearn})` : sk.unavailable,
        'medianMs' in sk ? `${(sk.medianMs / w).toFixed(1)}×` : '—',
        'medianMs' in sk ? sk.k : '—',
      ]
    }),
  )
}
