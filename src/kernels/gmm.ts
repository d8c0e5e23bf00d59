// Gaussian-mixture fitting by EM and model selection by BIC, written once against the pointer-level
// `Kernels` interface so that the WebAssembly kernels and their TypeScript twins run the same driver.
// Follows scikit-learn's GaussianMixture (k-means initialisation, tol on the mean log-likelihood, regCovar
// on the diagonal), with one difference: a covariance that is not positive definite gets diagonal jitter
// (see cholesky) instead of an error.
import { KernelError } from '../errors.js'
import type { Ptr } from './arena.js'
import type { Kernels } from './backend.js'
import { checkMatrix, type Matrix } from './validate.js'
import { checkOptionNames, checkRange, positiveInt, OptionError } from '../options/check.js'

export type CovarianceType = 'full' | 'diag'

export interface GmmOptions {
  /** 'full' (d×d per component) or 'diag' (d variances per component). Default 'full'. */
  covariance?: CovarianceType
  /** Initialisations (k-means++ seeds); the one with the highest log-likelihood wins. Default 1. */
  nInit?: number
  /** EM iteration cap. Default 100. */
  maxIter?: number
  /** Stop when the mean log-likelihood per point changes by less than this. Default 1e-3. */
  tol?: number
  /** Added to every covariance diagonal. Default 1e-6. */
  regCovar?: number
  /** Seed of the k-means++ draws; the same seed gives the same fit. Default 0. */
  seed?: number
  /**
   * Diagonal covariance only: per-dimension exponents on the likelihood, ln p(x | j) = Σ_t w_t ln N(x_t | μ_jt, σ²_jt)
   * (a tempered product; feature-group weights). The M-step is unchanged; log-likelihoods and BIC are tempered.
   */
  dimWeights?: Float64Array | undefined
}

export interface GmmSelectOptions extends GmmOptions {
  /** Smallest number of components tried. Default 1. */
  kMin?: number
  /** Largest number tried (clamped to the number of points). Default 6. */
  kMax?: number
  /** A K whose fit has a component with fewer points than this (N_j = Σ_i r_ij) cannot be chosen. Default 0. */
  minComponentPoints?: number
}

export const GMM_DEFAULTS = {
  covariance: 'full' as CovarianceType,
  nInit: 1,
  maxIter: 100,
  tol: 1e-3,
  regCovar: 1e-6,
  seed: 0,
  kMin: 1,
  kMax: 6,
  minComponentPoints: 0,
  dimWeights: undefined as Float64Array | undefined,
}

/** Lloyd iterations cap for the k-means initialisation. */
export const KMEANS_MAX_ITER = 300

const OPTION_NAMES = Object.keys(GMM_DEFAULTS)

/** A fitted mixture. covariances: k×d×d ('full') or k×d ('diag'), row-major. */
export interface GaussianMixture {
  readonly k: number
  readonly d: number
  readonly covariance: CovarianceType
  readonly weights: Float64Array
  readonly means: Float64Array
  readonly covariances: Float64Array
  /** Σ_i ln p(x_i) over the fitted points, under the returned parameters. */
  readonly logLik: number
  readonly nParams: number
  /** −2 ln L + p ln n */
  readonly bic: number
  /** −2 ln L + 2p */
  readonly aic: number
  readonly converged: boolean
  readonly iterations: number
  /** Component of highest responsibility per fitted point. */
  readonly labels: Int32Array
  /** Responsibilities, n×k. */
  readonly resp: Float64Array
  /** Likelihood exponents per dimension it was fitted with (diagonal only), if any. */
  readonly dimWeights?: Float64Array | undefined
}

export interface GmmCandidate {
  readonly k: number
  readonly bic: number
  /** False when a component had fewer than minComponentPoints points. */
  readonly eligible: boolean
  readonly logLik: number
  readonly converged: boolean
  readonly iterations: number
}

export interface GmmSelection {
  readonly best: GaussianMixture
  /** Every K tried, in order, with its criterion. */
  readonly candidates: readonly GmmCandidate[]
}

/** Free parameters: K·d(d+1)/2 (full) or K·d (diag) covariance terms + K·d means + K − 1 weights. */
export function gmmParamCount(k: number, d: number, covariance: CovarianceType): number {
  const cov = covariance === 'full' ? (k * d * (d + 1)) / 2 : k * d
  return cov + k * d + k - 1
}

/** Per-init seed: distinct, deterministic streams for every (k, init). */
function initSeed(seed: number, k: number, init: number): number {
  return (seed + Math.imul(0x9e3779b9, k * 64 + init + 1)) >>> 0
}

type Resolved = typeof GMM_DEFAULTS

function resolve(where: string, x: Matrix, options: GmmSelectOptions): Resolved {
  checkOptionNames(where, options, OPTION_NAMES)
  checkMatrix('points', x)
  const o = { ...GMM_DEFAULTS, ...options }
  if (o.covariance !== 'full' && o.covariance !== 'diag') {
    throw new OptionError(`covariance must be 'full' or 'diag', got ${String(o.covariance)}`)
  }
  positiveInt('nInit', o.nInit)
  positiveInt('maxIter', o.maxIter)
  checkRange('tol', o.tol, 0, Infinity, 'change of mean log-likelihood per point')
  checkRange('regCovar', o.regCovar, 0, Infinity)
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) {
    throw new OptionError(`seed must be an integer in [0, 2^32), got ${o.seed}`)
  }
  positiveInt('kMin', o.kMin)
  positiveInt('kMax', o.kMax)
  if (o.dimWeights !== undefined) {
    if (o.covariance !== 'diag') throw new OptionError('dimWeights needs covariance \'diag\'')
    if (o.dimWeights.length !== x.cols) throw new KernelError('BAD_SHAPE', `dimWeights has ${o.dimWeights.length} values, points ${x.cols} columns`)
    for (const w of o.dimWeights) if (!(w >= 0 && Number.isFinite(w))) throw new KernelError('BAD_VALUE', `dimWeights must be finite and ≥ 0, got ${w}`)
  }
  return o
}

/** Arena buffers for one K. */
interface Buffers {
  x: Ptr; n: number; d: number; k: number; full: boolean; dimWeights: Float64Array | undefined
  logResp: Ptr; weights: Ptr; logW: Ptr; means: Ptr; covs: Ptr; chol: Ptr; prec: Ptr; logDet: Ptr; work: Ptr; labels: Ptr
}

function allocBuffers(kern: Kernels, x: Ptr, n: number, d: number, k: number, full: boolean, dimWeights?: Float64Array): Buffers {
  const a = kern.arena
  const covLen = full ? k * d * d : k * d
  const workLen = Math.max(n * k + k + 2 * d + n, k * d + k + 1, 3 * n)
  return {
    x, n, d, k, full, dimWeights,
    logResp: a.alloc(n * k), weights: a.alloc(k), logW: a.alloc(k), means: a.alloc(k * d),
    covs: a.alloc(covLen), chol: full ? a.alloc(k * d * d) : 0, prec: a.alloc(covLen), logDet: a.alloc(k),
    work: a.alloc(workLen), labels: a.alloc(n, 4),
  }
}

/** ln weights, precisions (factors L⁻¹ for full covariances, 1/σ² for diagonal) and log-determinants. */
function prepare(kern: Kernels, b: Buffers): void {
  const a = kern.arena
  const w = a.view(b.weights, b.k)
  const logW = a.view(b.logW, b.k)
  for (let j = 0; j < b.k; j++) logW[j] = Math.log(w[j]!)
  if (!b.full) {
    kern.diagPrecision(b.covs, b.k, b.d, b.prec, b.logDet)
    if (b.dimWeights) temper(kern, b, b.dimWeights)
    return
  }
  const dd = b.d * b.d
  const logDet = a.view(b.logDet, b.k)
  for (let j = 0; j < b.k; j++) {
    if (kern.cholesky(b.covs + j * dd * 8, b.d, b.chol + j * dd * 8) < 0) {
      throw new KernelError('NOT_POSITIVE_DEFINITE', `component ${j} covariance cannot be factored even with jitter`)
    }
    logDet[j] = kern.logDetChol(b.chol + j * dd * 8, b.d)
    kern.invertChol(b.chol + j * dd * 8, b.d, b.prec + j * dd * 8)
  }
}

/** Returns Σ_i ln p(x_i); per-point values go to logProb unless it is 0. */
/** prec_jt ← w_t·prec_jt and logDet_j ← Σ_t w_t ln σ²_jt: the E-step then scores Σ_t w_t ln N(x_t) (up to a constant). */
function temper(kern: Kernels, b: Buffers, w: Float64Array): void {
  const a = kern.arena
  const prec = a.view(b.prec, b.k * b.d)
  const logDet = a.view(b.logDet, b.k)
  for (let j = 0; j < b.k; j++) {
    let s = 0
    for (let t = 0; t < b.d; t++) {
      const i = j * b.d + t
      s -= w[t]! * Math.log(prec[i]!) // ln σ² = −ln(1/σ²)
      prec[i] = prec[i]! * w[t]!
    }
    logDet[j] = s
  }
}

function eStep(kern: Kernels, b: Buffers, logProb: Ptr = 0): number {
  prepare(kern, b)
  return b.full
    ? kern.gmmEStepFull(b.x, b.n, b.d, b.k, b.logW, b.means, b.prec, b.logDet, b.logResp, logProb, b.work)
    : kern.gmmEStepDiag(b.x, b.n, b.d, b.k, b.logW, b.means, b.prec, b.logDet, b.logResp, logProb)
}

function mStep(kern: Kernels, b: Buffers, regCovar: number): void {
  if (b.full) kern.gmmMStepFull(b.x, b.n, b.d, b.k, b.logResp, regCovar, b.weights, b.means, b.covs, b.work)
  else kern.gmmMStepDiag(b.x, b.n, b.d, b.k, b.logResp, regCovar, b.weights, b.means, b.covs, b.work)
}

/** k-means++ then Lloyd to a fixed point; the labels become one-hot responsibilities and an M-step. */
function initFromKMeans(kern: Kernels, b: Buffers, seed: number, regCovar: number): void {
  kern.kmeansPlusPlus(b.x, b.n, b.d, b.k, seed, b.means, b.work)
  let prev = Infinity
  for (let it = 0; it < KMEANS_MAX_ITER; it++) {
    const inertia = kern.kmeansLloyd(b.x, b.n, b.means, b.k, b.d, b.labels, b.work)
    if (!(inertia < prev)) break
    prev = inertia
  }
  const labels = kern.arena.ints(b.labels, b.n)
  const logResp = kern.arena.view(b.logResp, b.n * b.k).fill(-Infinity)
  for (let i = 0; i < b.n; i++) logResp[i * b.k + labels[i]!] = 0
  mStep(kern, b, regCovar)
}

/** One initialisation run to convergence; leaves parameters and final log-responsibilities in b. */
function runEm(kern: Kernels, b: Buffers, o: Resolved, seed: number): { logLik: number, converged: boolean, iterations: number } {
  initFromKMeans(kern, b, seed, o.regCovar)
  let lowerBound = -Infinity
  let converged = false
  let iterations = 0
  while (iterations < o.maxIter) {
    iterations++
    const prev = lowerBound
    lowerBound = eStep(kern, b) / b.n
    mStep(kern, b, o.regCovar)
    if (Math.abs(lowerBound - prev) < o.tol) {
      converged = true
      break
    }
  }
  const logLik = eStep(kern, b) // under the parameters returned
  return { logLik, converged, iterations }
}

function fitK(kern: Kernels, xPtr: Ptr, n: number, d: number, k: number, o: Resolved): GaussianMixture {
  return kern.arena.frame(() => {
    const full = o.covariance === 'full'
    const b = allocBuffers(kern, xPtr, n, d, k, full, o.dimWeights)
    const a = kern.arena
    const covLen = full ? k * d * d : k * d
    let best: GaussianMixture | undefined
    for (let init = 0; init < o.nInit; init++) {
      const run = runEm(kern, b, o, initSeed(o.seed, k, init))
      if (best && !(run.logLik > best.logLik)) continue
      const resp = a.view(b.logResp, n * k).map(Math.exp)
      const labels = new Int32Array(n)
      for (let i = 0; i < n; i++) {
        let arg = 0
        for (let j = 1; j < k; j++) if (resp[i * k + j]! > resp[i * k + arg]!) arg = j
        labels[i] = arg
      }
      const nParams = gmmParamCount(k, d, o.covariance)
      best = {
        k, d, covariance: o.covariance,
        weights: a.copy(b.weights, k), means: a.copy(b.means, k * d), covariances: a.copy(b.covs, covLen),
        logLik: run.logLik, nParams,
        bic: -2 * run.logLik + nParams * Math.log(n),
        aic: -2 * run.logLik + 2 * nParams,
        converged: run.converged, iterations: run.iterations, labels, resp, dimWeights: o.dimWeights,
      }
    }
    return best!
  })
}

/** Fits a k-component mixture to the rows of x by EM (best of nInit k-means++ initialisations). */
export function fitGmm(kern: Kernels, x: Matrix, k: number, options: GmmOptions = {}): GaussianMixture {
  const o = resolve('fitGmm', x, options)
  positiveInt('k', k)
  if (k > x.rows) throw new KernelError('TOO_FEW_POINTS', `k = ${k} components need at least ${k} points, got ${x.rows}`)
  return kern.arena.frame(() => fitK(kern, kern.arena.put(x.data), x.rows, x.cols, k, o))
}

/** Fits K = kMin..min(kMax, n) and keeps the lowest BIC among eligible fits (ties: the smaller K; K = kMin is always eligible). */
export function selectGmm(kern: Kernels, x: Matrix, options: GmmSelectOptions = {}): GmmSelection {
  const o = resolve('selectGmm', x, options)
  if (o.kMin > o.kMax) throw new OptionError(`kMin (${o.kMin}) must not exceed kMax (${o.kMax})`)
  if (o.kMin > x.rows) throw new KernelError('TOO_FEW_POINTS', `kMin = ${o.kMin} needs at least ${o.kMin} points, got ${x.rows}`)
  const kMax = Math.min(o.kMax, x.rows)
  return kern.arena.frame(() => {
    const xPtr = kern.arena.put(x.data)
    const candidates: GmmCandidate[] = []
    let best: GaussianMixture | undefined
    for (let k = o.kMin; k <= kMax; k++) {
      const fit = fitK(kern, xPtr, x.rows, x.cols, k, o)
      const eligible = k === o.kMin || fit.weights.every((w) => w * x.rows >= o.minComponentPoints)
      candidates.push({ k, bic: fit.bic, eligible, logLik: fit.logLik, converged: fit.converged, iterations: fit.iterations })
      if (eligible && (!best || fit.bic < best.bic)) best = fit
    }
    return { best: best!, candidates }
  })
}

/** Per-point ln p(x_i) and responsibilities (n×k) of new points under a fitted mixture. */
export function scoreGmm(kern: Kernels, model: GaussianMixture, x: Matrix): { logLik: Float64Array, resp: Float64Array } {
  checkMatrix('points', x)
  if (x.cols !== model.d) throw new KernelError('BAD_SHAPE', `points have ${x.cols} columns, the mixture ${model.d}`)
  return kern.arena.frame(() => {
    const a = kern.arena
    const { k, d } = model
    const n = x.rows
    const b = allocBuffers(kern, a.put(x.data), n, d, k, model.covariance === 'full', model.dimWeights)
    const logProb = a.alloc(n)
    a.view(b.weights, k).set(model.weights)
    a.view(b.means, k * d).set(model.means)
    a.view(b.covs, model.covariances.length).set(model.covariances)
    eStep(kern, b, logProb)
    return { logLik: a.copy(logProb, n), resp: a.view(b.logResp, n * k).map(Math.exp) }
  })
}
