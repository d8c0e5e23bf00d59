// The pointer-level kernel interface and its two implementations: the compiled WebAssembly module, and the
// TypeScript twins run over the same kind of arena. Code written against `Kernels` (the GMM driver, the
// typed API) runs unchanged on either, which is how the twins serve as the oracle.
import { readFileSync } from 'node:fs'
import { KernelError } from '../errors.js'
import { builtFile } from '../paths.js'
import { Arena, type Ptr } from './arena.js'
import * as distance from './twin/distance.js'
import * as divergence from './twin/divergence.js'
import * as gmm from './twin/gmm.js'
import * as kmeans from './twin/kmeans.js'
import * as linalg from './twin/linalg.js'
import * as mixtureTwin from './twin/mixture.js'
import * as softmax from './twin/softmax.js'

/** The exported kernel functions; pointers are byte offsets, counts are elements. Work sizes are in f64. */
export interface KernelFunctions {
  sqEuclidean(x: Ptr, n: number, c: Ptr, k: number, d: number, out: Ptr): void
  weightedSqEuclidean(x: Ptr, n: number, c: Ptr, k: number, d: number, w: Ptr, out: Ptr): void
  /** Returns the diagonal jitter added (0 if none), or −1 if the matrix could not be factored. */
  cholesky(a: Ptr, d: number, l: Ptr): number
  /** P = L⁻¹ of a lower Cholesky factor (the precision factor: Σ⁻¹ = PᵀP). */
  invertChol(l: Ptr, d: number, p: Ptr): void
  logDetChol(l: Ptr, d: number): number
  /** work: d */
  mahalanobis(x: Ptr, n: number, mu: Ptr, l: Ptr, d: number, work: Ptr, out: Ptr): void
  /** work: d */
  gaussianLogPdf(x: Ptr, n: number, mu: Ptr, l: Ptr, d: number, work: Ptr, out: Ptr): void
  logSumExpRows(x: Ptr, n: number, k: number, out: Ptr): void
  softmaxRows(x: Ptr, n: number, k: number, temperature: number, out: Ptr): void
  /** work: 3n */
  kmeansPlusPlus(x: Ptr, n: number, d: number, k: number, seed: number, c: Ptr, work: Ptr): void
  /** labels: n i32; work: k·d + k + 1 */
  kmeansLloyd(x: Ptr, n: number, c: Ptr, k: number, d: number, labels: Ptr, work: Ptr): number
  /** labels: n i32; work: 1 */
  kmeansMiniBatch(x: Ptr, n: number, c: Ptr, counts: Ptr, k: number, d: number, labels: Ptr, work: Ptr): number
  /** precChol: k·d·d precision factors L⁻¹; logProb: n, or 0 to skip; work: d */
  gmmEStepFull(x: Ptr, n: number, d: number, k: number, logW: Ptr, means: Ptr, precChol: Ptr, logDet: Ptr, logResp: Ptr, logProb: Ptr, work: Ptr): number
  /** prec[j,t] = 1/vars[j,t], logDet[j] = Σ_t ln vars[j,t] */
  diagPrecision(vars: Ptr, k: number, d: number, prec: Ptr, logDet: Ptr): void
  /** prec: k·d inverse variances; logProb: n, or 0 to skip */
  gmmEStepDiag(x: Ptr, n: number, d: number, k: number, logW: Ptr, means: Ptr, prec: Ptr, logDet: Ptr, logResp: Ptr, logProb: Ptr): number
  /** work: n·k + k + 2d + n */
  gmmMStepFull(x: Ptr, n: number, d: number, k: number, logResp: Ptr, regCovar: number, weights: Ptr, means: Ptr, covs: Ptr, work: Ptr): void
  /** work: n·k + k */
  gmmMStepDiag(x: Ptr, n: number, d: number, k: number, logResp: Ptr, regCovar: number, weights: Ptr, means: Ptr, vars: Ptr, work: Ptr): void
  klDiscrete(p: Ptr, q: Ptr, n: number, eps: number): number
  psi(p: Ptr, q: Ptr, n: number, eps: number): number
  jsDivergence(p: Ptr, q: Ptr, n: number): number
  /** work: d */
  klGaussian(mu0: Ptr, l0: Ptr, mu1: Ptr, l1: Ptr, d: number, work: Ptr): number
  /** work: d */
  klGmmVariational(wf: Ptr, muf: Ptr, lf: Ptr, kf: number, wg: Ptr, mug: Ptr, lg: Ptr, kg: number, d: number, work: Ptr): number
  /** Person-mixture E-step: slot n·p i32, w n·p, dur n (NaN = unknown), logTab k·vocab; resp n·k out. Returns Σ ln p. */
  mixtureEStep(slot: Ptr, w: Ptr, dur: Ptr, n: number, p: number, k: number, vocab: number, logTab: Ptr, logPi: Ptr,
    durMean: Ptr, durPrec: Ptr, durConst: Ptr, durWeight: number, resp: Ptr): number
  /** Person-mixture statistics of resp: counts k·vocab, nk k, dur3 3·k (Σ r, Σ r·x, Σ r·x²). */
  mixtureStats(slot: Ptr, w: Ptr, dur: Ptr, n: number, p: number, k: number, vocab: number, resp: Ptr, counts: Ptr, nk: Ptr, dur3: Ptr): void
}

/** A kernel implementation together with the arena its pointers refer to. */
export interface Kernels extends KernelFunctions {
  readonly name: 'wasm' | 'twin'
  readonly arena: Arena
}

let compiled: WebAssembly.Module | undefined

/** The compiled module, read and compiled once per thread. */
export function wasmModule(target: 'release' | 'debug' = 'release'): WebAssembly.Module {
  if (target === 'release' && compiled) return compiled
  const file = builtFile(`${target}.wasm`)
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (cause) {
    throw new KernelError('WASM_UNAVAILABLE', `kernel module ${file} is missing: run \`npm run build\``, { cause })
  }
  const mod = new WebAssembly.Module(bytes)
  if (target === 'release') compiled = mod
  return mod
}

/** A fresh instance of the WebAssembly kernels with its own memory and arena. */
export function createWasmKernels(target: 'release' | 'debug' = 'release'): Kernels {
  const instance = new WebAssembly.Instance(wasmModule(target), {})
  const exports = instance.exports as unknown as KernelFunctions & { memory: WebAssembly.Memory, heapBase(): number }
  const arena = new Arena(exports.memory, exports.heapBase())
  return { ...exports, name: 'wasm', arena }
}

let threadKernels: Kernels | undefined

/** This thread's shared WebAssembly kernels (created on first use). */
export function defaultKernels(): Kernels {
  threadKernels ??= createWasmKernels()
  return threadKernels
}

/** The TypeScript twins behind the same pointer interface, over an arena of their own. */
export function createTwinKernels(): Kernels {
  const arena = new Arena(new WebAssembly.Memory({ initial: 16 }), 16) // from 16 so that pointer 0 means "none"
  const f = (p: Ptr, len: number): Float64Array => arena.view(p, len)
  const ints = (p: Ptr, len: number): Int32Array => arena.ints(p, len)
  const mixture = (w: Ptr, mu: Ptr, l: Ptr, k: number, d: number): divergence.MixtureArrays =>
    ({ w: f(w, k), mu: f(mu, k * d), l: f(l, k * d * d), k })
  return {
    name: 'twin',
    arena,
    sqEuclidean: (x, n, c, k, d, out) => distance.sqEuclidean(f(x, n * d), n, f(c, k * d), k, d, f(out, n * k)),
    weightedSqEuclidean: (x, n, c, k, d, w, out) =>
      distance.weightedSqEuclidean(f(x, n * d), n, f(c, k * d), k, d, f(w, d), f(out, n * k)),
    cholesky: (a, d, l) => linalg.cholesky(f(a, d * d), d, f(l, d * d)),
    invertChol: (l, d, p) => linalg.invertChol(f(l, d * d), d, f(p, d * d)),
    logDetChol: (l, d) => linalg.logDetChol(f(l, d * d), d),
    mahalanobis: (x, n, mu, l, d, work, out) =>
      linalg.mahalanobis(f(x, n * d), n, f(mu, d), f(l, d * d), d, f(work, d), f(out, n)),
    gaussianLogPdf: (x, n, mu, l, d, work, out) =>
      linalg.gaussianLogPdf(f(x, n * d), n, f(mu, d), f(l, d * d), d, f(work, d), f(out, n)),
    logSumExpRows: (x, n, k, out) => softmax.logSumExpRows(f(x, n * k), n, k, f(out, n)),
    softmaxRows: (x, n, k, t, out) => softmax.softmaxRows(f(x, n * k), n, k, t, f(out, n * k)),
    kmeansPlusPlus: (x, n, d, k, seed, c) => kmeans.kmeansPlusPlus(f(x, n * d), n, d, k, seed, f(c, k * d)),
    kmeansLloyd: (x, n, c, k, d, labels) => kmeans.kmeansLloyd(f(x, n * d), n, f(c, k * d), k, d, ints(labels, n)),
    kmeansMiniBatch: (x, n, c, counts, k, d, labels) =>
      kmeans.kmeansMiniBatch(f(x, n * d), n, f(c, k * d), f(counts, k), k, d, ints(labels, n)),
    gmmEStepFull: (x, n, d, k, logW, means, prec, logDet, logResp, logProb) =>
      gmm.gmmEStepFull(f(x, n * d), n, d, k, f(logW, k), f(means, k * d), f(prec, k * d * d), f(logDet, k),
        f(logResp, n * k), logProb === 0 ? undefined : f(logProb, n)),
    diagPrecision: (vars, k, d, prec, logDet) => gmm.diagPrecision(f(vars, k * d), k, d, f(prec, k * d), f(logDet, k)),
    gmmEStepDiag: (x, n, d, k, logW, means, prec, logDet, logResp, logProb) =>
      gmm.gmmEStepDiag(f(x, n * d), n, d, k, f(logW, k), f(means, k * d), f(prec, k * d), f(logDet, k), f(logResp, n * k),
        logProb === 0 ? undefined : f(logProb, n)),
    gmmMStepFull: (x, n, d, k, logResp, reg, w, means, covs) =>
      gmm.gmmMStepFull(f(x, n * d), n, d, k, f(logResp, n * k), reg, f(w, k), f(means, k * d), f(covs, k * d * d)),
    gmmMStepDiag: (x, n, d, k, logResp, reg, w, means, vars) =>
      gmm.gmmMStepDiag(f(x, n * d), n, d, k, f(logResp, n * k), reg, f(w, k), f(means, k * d), f(vars, k * d)),
    klDiscrete: (p, q, n, eps) => divergence.klDiscrete(f(p, n), f(q, n), eps),
    psi: (p, q, n, eps) => divergence.psi(f(p, n), f(q, n), eps),
    jsDivergence: (p, q, n) => divergence.jsDivergence(f(p, n), f(q, n)),
    klGaussian: (mu0, l0, mu1, l1, d) => divergence.klGaussian(f(mu0, d), 0, f(l0, d * d), 0, f(mu1, d), 0, f(l1, d * d), 0, d),
    klGmmVariational: (wf, muf, lf, kf, wg, mug, lg, kg, d) =>
      divergence.klGmmVariational(mixture(wf, muf, lf, kf, d), mixture(wg, mug, lg, kg, d), d),
    mixtureEStep: (slot, w, dur, n, p, k, vocab, logTab, logPi, durMean, durPrec, durConst, durWeight, resp) =>
      mixtureTwin.mixtureEStep(ints(slot, n * p), f(w, n * p), f(dur, n), n, p, k, vocab, f(logTab, k * vocab), f(logPi, k),
        f(durMean, k), f(durPrec, k), f(durConst, k), durWeight, f(resp, n * k)),
    mixtureStats: (slot, w, dur, n, p, k, vocab, resp, counts, nk, dur3) =>
      mixtureTwin.mixtureStats(ints(slot, n * p), f(w, n * p), f(dur, n), n, p, k, vocab, f(resp, n * k), f(counts, k * vocab), f(nk, k), f(dur3, 3 * k)),
  }
}
