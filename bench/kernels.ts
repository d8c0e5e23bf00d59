// Question: how much faster is each WebAssembly kernel than its TypeScript twin, for one session
// (N = 1, K = 6, D = 26) and for a batch (N = 10,000)? Both run on data already in place: the kernel on
// pointers into its arena, the twin on preallocated Float64Arrays (no view creation in the timed loop).
import { createWasmKernels } from '../src/kernels/backend.js'
import * as tDist from '../src/kernels/twin/distance.js'
import * as tDiv from '../src/kernels/twin/divergence.js'
import * as tGmm from '../src/kernels/twin/gmm.js'
import * as tKm from '../src/kernels/twin/kmeans.js'
import * as tLin from '../src/kernels/twin/linalg.js'
import * as tSm from '../src/kernels/twin/softmax.js'
import { rng } from '../src/sim/random.js'
import { fmtUs, mdTable, measure, ratio, writeResult, type BenchContext, type Case } from './lib.js'

const K = 6
const D = 26
const SHAPES = { session: 1, batch: 10_000 } as const

function randomArray(len: number, seed: number, scale = 1): Float64Array {
  const r = rng(seed)
  return Float64Array.from({ length: len }, () => scale * r.normal())
}

/** K symmetric positive-definite d×d covariances, their Cholesky factors and precision factors. */
function covariances(k: number, d: number): { cov: Float64Array, chol: Float64Array, prec: Float64Array, logDet: Float64Array } {
  const cov = new Float64Array(k * d * d)
  const chol = new Float64Array(k * d * d)
  const prec = new Float64Array(k * d * d)
  const logDet = new Float64Array(k)
  for (let j = 0; j < k; j++) {
    const a = randomArray(d * d, 100 + j, 0.3)
    const c = cov.subarray(j * d * d, (j + 1) * d * d)
    for (let i = 0; i < d; i++) {
      for (let m = 0; m < d; m++) {
        let v = i === m ? 1 : 0
        for (let t = 0; t < d; t++) v += a[i * d + t]! * a[m * d + t]!
        c[i * d + m] = v
      }
    }
    const l = chol.subarray(j * d * d, (j + 1) * d * d)
    tLin.cholesky(c, d, l)
    tLin.invertChol(l, d, prec.subarray(j * d * d, (j + 1) * d * d))
    logDet[j] = tLin.logDetChol(l, d)
  }
  return { cov, chol, prec, logDet }
}

interface Pair { kernel: string, shape: string, n: number, wasm: Case, twin: Case }

function pairs(n: number, shape: string): Pair[] {
  const w = createWasmKernels()
  const a = w.arena
  const x = randomArray(n * D, 1)
  const c = randomArray(K * D, 2)
  const c2 = randomArray(K * D, 9)
  const wts = Float64Array.from({ length: D }, (_, t) => 0.5 + (t % 3))
  const { cov, chol, prec, logDet } = covariances(K, D)
  const logW = new Float64Array(K).fill(Math.log(1 / K))
  const weights = logW.map(Math.exp)
  const vars = Float64Array.from({ length: K * D }, (_, i) => 0.5 + (i % 5) * 0.3)
  const dprec = vars.map((v) => 1 / v)
  const dlogDet = Float64Array.from({ length: K }, (_, j) => vars.subarray(j * D, j * D + D).reduce((s, v) => s + Math.log(v), 0))
  const scores = randomArray(n * K, 3, 5)
  const logResp = new Float64Array(n * K)
  const counts = new Float64Array(K).fill(1000)
  const labels = new Int32Array(n)
  const out = new Float64Array(n * K)
  const hist = (seed: number) => Float64Array.from(randomArray(n * K, seed), (v) => Math.abs(v))
  const p = hist(4)
  const q = hist(5)
  // the same inputs in the kernel arena
  const P = {
    x: a.put(x), c: a.put(c), c2: a.put(c2), w: a.put(wts), cov: a.put(cov), chol: a.put(chol), prec: a.put(prec), logDet: a.put(logDet),
    logW: a.put(logW), dprec: a.put(dprec), dlogDet: a.put(dlogDet), weights: a.put(logW.map(Math.exp)), vars: a.put(vars), scores: a.put(scores), logResp: a.alloc(n * K), counts: a.put(counts),
    labels: a.alloc(n, 4), out: a.alloc(n * K), l: a.alloc(D * D), p: a.put(p), q: a.put(q),
    work: a.alloc(n * K + K * D + K + 3 * n + D * D + D),
  }
  // responsibilities for the M-step: a valid log-softmax of the scores
  tSm.softmaxRows(scores, n, K, 1, logResp)
  for (let i = 0; i < logResp.length; i++) logResp[i] = Math.log(logResp[i]!)
  a.view(P.logResp, n * K).set(logResp)
  const reps = n === 1 ? 200 : 1
  const cases: [string, () => unknown, () => unknown][] = [
    ['squared Euclidean (N×K)', () => w.sqEuclidean(P.x, n, P.c, K, D, P.out), () => tDist.sqEuclidean(x, n, c, K, D, out)],
    ['weighted squared Euclidean', () => w.weightedSqEuclidean(P.x, n, P.c, K, D, P.w, P.out), () => tDist.weightedSqEuclidean(x, n, c, K, D, wts, out)],
    ['Gaussian log-density (1 component)', () => w.gaussianLogPdf(P.x, n, P.c, P.chol, D, P.work, P.out), () => tLin.gaussianLogPdf(x, n, c, chol, D, out, out)],
    ['softmax (N×K, T = 1.3)', () => w.softmaxRows(P.scores, n, K, 1.3, P.out), () => tSm.softmaxRows(scores, n, K, 1.3, out)],
    ['mini-batch k-means step', () => w.kmeansMiniBatch(P.x, n, P.c, P.counts, K, D, P.labels, P.work), () => tKm.kmeansMiniBatch(x, n, c, counts, K, D, labels)],
    ['GMM E-step, full', () => w.gmmEStepFull(P.x, n, D, K, P.logW, P.c, P.prec, P.logDet, P.out, 0, P.work), () => tGmm.gmmEStepFull(x, n, D, K, logW, c, prec, logDet, out)],
    ['GMM E-step, diagonal', () => w.gmmEStepDiag(P.x, n, D, K, P.logW, P.c, P.dprec, P.dlogDet, P.out, 0), () => tGmm.gmmEStepDiag(x, n, D, K, logW, c, dprec, dlogDet, out)],
    ['GMM M-step, full', () => w.gmmMStepFull(P.x, n, D, K, P.logResp, 1e-6, P.logW, P.c, P.cov, P.work), () => tGmm.gmmMStepFull(x, n, D, K, logResp, 1e-6, logW, c, cov)],
    ['GMM M-step, diagonal', () => w.gmmMStepDiag(P.x, n, D, K, P.logResp, 1e-6, P.logW, P.c, P.vars, P.work), () => tGmm.gmmMStepDiag(x, n, D, K, logResp, 1e-6, logW, c, vars)],
    ['KL / PSI / JS over N·K bins', () => w.klDiscrete(P.p, P.q, n * K, 1e-4) + w.psi(P.p, P.q, n * K, 1e-4) + w.jsDivergence(P.p, P.q, n * K),
      () => tDiv.klDiscrete(p, q, 1e-4) + tDiv.psi(p, q, 1e-4) + tDiv.jsDivergence(p, q)],
  ]
  if (n === 1) {
    cases.push(
      ['Cholesky + inverse + log-det (D = 26)', () => { w.cholesky(P.cov, D, P.l); w.invertChol(P.l, D, P.work); return w.logDetChol(P.l, D) },
        () => { const l = new Float64Array(D * D); tLin.cholesky(cov, D, l); tLin.invertChol(l, D, out); return tLin.logDetChol(l, D) }],
      ['KL between two Gaussians (D = 26)', () => w.klGaussian(P.c, P.chol, P.x, P.chol + D * D * 8, D, P.work),
        () => tDiv.klGaussian(c, 0, chol, 0, x, 0, chol, D * D, D)],
      ['variational KL, 6 vs 6 components (D = 26)', () => w.klGmmVariational(P.weights, P.c, P.chol, K, P.weights, P.c2, P.chol, K, D, P.work),
        () => tDiv.klGmmVariational({ w: weights, mu: c, l: chol, k: K }, { w: weights, mu: c2, l: chol, k: K }, D)],
    )
  } else {
    cases.push(['k-means++ seeding (K = 6)', () => w.kmeansPlusPlus(P.x, n, D, K, 7, P.c, P.work), () => tKm.kmeansPlusPlus(x, n, D, K, 7, c)])
  }
  const loop = (f: () => unknown) => (reps === 1 ? f : () => { for (let r = 0; r < reps; r++) f() })
  return cases.map(([kernel, fw, ft]) => ({
    kernel, shape, n,
    wasm: { name: `${kernel} · ${shape} · wasm`, fn: loop(fw), reps },
    twin: { name: `${kernel} · ${shape} · twin`, fn: loop(ft), reps },
  }))
}

export async function benchKernels(ctx: BenchContext): Promise<string> {
  const rows: { kernel: string, shape: string, n: number, wasmUs: number, twinUs: number, speedup: number }[] = []
  for (const [shape, n] of Object.entries(SHAPES)) {
    for (const pr of pairs(n, shape)) {
      const [w, t] = await measure(ctx, [pr.wasm, pr.twin], n === 1 ? 200 : 400)
      rows.push({ kernel: pr.kernel, shape, n, wasmUs: w!.medianUs, twinUs: t!.medianUs, speedup: t!.medianUs / w!.medianUs })
      ctx.log(`  ${pr.kernel} · ${shape}: wasm ${fmtUs(w!.medianUs)}, twin ${fmtUs(t!.medianUs)} (${ratio(t!.medianUs, w!.medianUs)})`)
    }
  }
  writeResult('kernels', { k: K, d: D, shapes: SHAPES, rows })
  const kernels = [...new Set(rows.map((r) => r.kernel))]
  const cell = (kernel: string, shape: string) => {
    const r = rows.find((x) => x.kernel === kernel && x.shape === shape)
    return r ? [fmtUs(r.wasmUs), fmtUs(r.twinUs), `**${r.speedup.toFixed(1)}×**`] : ['—', '—', '—']
  }
  return mdTable(
    ['kernel', 'session wasm', 'session twin', 'speed-up', 'batch wasm', 'batch twin', 'speed-up'],
    kernels.map((k) => [k, ...cell(k, 'session'), ...cell(k, 'batch')]),
  )
}
