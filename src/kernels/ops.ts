// The typed kernel API: matrices and vectors in, matrices and numbers out; pointers and the arena stay
// inside. One KernelOps runs on one backend (the thread's WebAssembly kernels by default, or the twins).
import { KernelError } from '../errors.js'
import type { Ptr } from './arena.js'
import { defaultKernels, type Kernels } from './backend.js'
import {
  fitGmm, KMEANS_MAX_ITER, scoreGmm, selectGmm,
  type GaussianMixture, type GmmOptions, type GmmSelectOptions, type GmmSelection,
} from './gmm.js'
import { checkFinite, checkHistogram, checkLength, checkMatrix, checkNonNegative, type Matrix } from './validate.js'
import { checkOptionNames, checkRange, positiveInt, OptionError } from '../options/check.js'

/** Probability given to an empty histogram bin before renormalising (KL, PSI). */
export const DEFAULT_EMPTY_BIN_EPS = 1e-4

/** A Gaussian: mean (d) and covariance (d×d). */
export interface Gaussian {
  readonly mean: Float64Array
  readonly cov: Matrix
}

/** A Gaussian mixture as the KL approximation needs it (a fitted GaussianMixture qualifies). */
export type Mixture = Pick<GaussianMixture, 'k' | 'd' | 'covariance' | 'weights' | 'means' | 'covariances'>

/** State of an online k-means: centroids (k×d) and how many points each has absorbed. Updated in place. */
export interface MiniBatchState {
  readonly centroids: Matrix
  readonly counts: Float64Array
}

export interface KMeansResult {
  readonly centroids: Matrix
  readonly labels: Int32Array
  readonly inertia: number
  readonly iterations: number
}

export class KernelOps {
  constructor(readonly kernels: Kernels = defaultKernels()) {}

  /** N×K squared Euclidean distances, or Σ_t w_t (x_t − c_t)² with per-dimension weights. */
  sqDistances(x: Matrix, c: Matrix, weights?: Float64Array): Matrix {
    checkMatrix('points', x)
    checkMatrix('centroids', c)
    sameCols(x, c)
    if (weights) {
      checkLength('weights', weights, x.cols)
      checkHistogram('weights', weights)
    }
    const kern = this.kernels
    return kern.arena.frame(() => {
      const a = kern.arena
      const xp = a.put(x.data)
      const cp = a.put(c.data)
      const out = a.alloc(x.rows * c.rows)
      if (weights) kern.weightedSqEuclidean(xp, x.rows, cp, c.rows, x.cols, a.put(weights), out)
      else kern.sqEuclidean(xp, x.rows, cp, c.rows, x.cols, out)
      return { rows: x.rows, cols: c.rows, data: a.copy(out, x.rows * c.rows) }
    })
  }

  /** Lower Cholesky factor of a symmetric matrix, with the diagonal jitter that was needed (0 if none). */
  cholesky(cov: Matrix): { l: Matrix, jitter: number } {
    checkSquare('cov', cov)
    return this.kernels.arena.frame(() => {
      const d = cov.rows
      const l = this.factor(cov)
      return { l: { rows: d, cols: d, data: this.kernels.arena.copy(l.ptr, d * d) }, jitter: l.jitter }
    })
  }

  /** Precision factor P = L⁻¹ of Σ = LLᵀ (so Σ⁻¹ = PᵀP), with ln|Σ| and the jitter needed: what scoring keeps per component. */
  precision(cov: Matrix): { prec: Matrix, logDet: number, jitter: number } {
    checkSquare('cov', cov)
    const kern = this.kernels
    return kern.arena.frame(() => {
      const d = cov.rows
      const l = this.factor(cov)
      const p = kern.arena.alloc(d * d)
      kern.invertChol(l.ptr, d, p)
      return { prec: { rows: d, cols: d, data: kern.arena.copy(p, d * d) }, logDet: kern.logDetChol(l.ptr, d), jitter: l.jitter }
    })
  }

  /** ln|Σ| of a symmetric positive-definite matrix (after any jitter cholesky needed). */
  logDet(cov: Matrix): number {
    checkSquare('cov', cov)
    return this.kernels.arena.frame(() => this.kernels.logDetChol(this.factor(cov).ptr, cov.rows))
  }

  /** Squared Mahalanobis distance of every row of x to N(mean, cov). */
  mahalanobis(x: Matrix, g: Gaussian): Float64Array {
    return this.perPoint(x, g, 'mahalanobis')
  }

  /** ln N(x_i | mean, cov) for every row of x. */
  gaussianLogPdf(x: Matrix, g: Gaussian): Float64Array {
    return this.perPoint(x, g, 'gaussianLogPdf')
  }

  /** ln Σ_j exp(x_ij) per row. */
  logSumExp(x: Matrix): Float64Array {
    checkRows('x', x)
    const kern = this.kernels
    return kern.arena.frame(() => {
      const out = kern.arena.alloc(x.rows)
      kern.logSumExpRows(kern.arena.put(x.data), x.rows, x.cols, out)
      return kern.arena.copy(out, x.rows)
    })
  }

  /** Row-wise softmax(x/T); −∞ entries are allowed (probability 0). */
  softmax(x: Matrix, temperature = 1): Matrix {
    checkRows('x', x)
    if (!(temperature > 0) || !Number.isFinite(temperature)) {
      throw new OptionError(`temperature must be a positive finite number, got ${temperature}`)
    }
    const kern = this.kernels
    return kern.arena.frame(() => {
      const p = kern.arena.put(x.data)
      kern.softmaxRows(p, x.rows, x.cols, temperature, p)
      return { rows: x.rows, cols: x.cols, data: kern.arena.copy(p, x.data.length) }
    })
  }

  /** k initial centroids by greedy k-means++. */
  kmeansPlusPlus(x: Matrix, k: number, seed = 0): Matrix {
    checkKPoints(x, k)
    const kern = this.kernels
    return kern.arena.frame(() => {
      const a = kern.arena
      const c = a.alloc(k * x.cols)
      kern.kmeansPlusPlus(a.put(x.data), x.rows, x.cols, k, seed >>> 0, c, a.alloc(3 * x.rows))
      return { rows: k, cols: x.cols, data: a.copy(c, k * x.cols) }
    })
  }

  /** Lloyd's k-means from k-means++ seeds, to a fixed point or maxIter iterations. */
  kmeans(x: Matrix, k: number, options: { seed?: number, maxIter?: number } = {}): KMeansResult {
    checkOptionNames('kmeans', options, ['seed', 'maxIter'])
    const { seed = 0, maxIter = KMEANS_MAX_ITER } = options
    positiveInt('maxIter', maxIter)
    const init = this.kmeansPlusPlus(x, k, seed)
    const kern = this.kernels
    return kern.arena.frame(() => {
      const a = kern.arena
      const xp = a.put(x.data)
      const c = a.put(init.data)
      const labels = a.alloc(x.rows, 4)
      const work = a.alloc(k * x.cols + k + 1)
      let inertia = Infinity
      let iterations = 0
      while (iterations < maxIter) {
        iterations++
        const next = kern.kmeansLloyd(xp, x.rows, c, k, x.cols, labels, work)
        if (!(next < inertia)) {
          inertia = next
          break
        }
        inertia = next
      }
      return {
        centroids: { rows: k, cols: x.cols, data: a.copy(c, k * x.cols) },
        labels: a.ints(labels, x.rows).slice(), inertia, iterations,
      }
    })
  }

  /** Online k-means step over a batch: each point moves its nearest centroid by 1/(n+1). Mutates state. */
  miniBatchKMeans(state: MiniBatchState, batch: Matrix): { labels: Int32Array, inertia: number } {
    checkMatrix('centroids', state.centroids)
    checkMatrix('batch', batch)
    sameCols(batch, state.centroids)
    const k = state.centroids.rows
    checkLength('counts', state.counts, k)
    checkNonNegative('counts', state.counts)
    const kern = this.kernels
    return kern.arena.frame(() => {
      const a = kern.arena
      const c = a.put(state.centroids.data)
      const counts = a.put(state.counts)
      const labels = a.alloc(batch.rows, 4)
      const inertia = kern.kmeansMiniBatch(a.put(batch.data), batch.rows, c, counts, k, batch.cols, labels, a.alloc(1))
      state.centroids.data.set(a.view(c, k * batch.cols))
      state.counts.set(a.view(counts, k))
      return { labels: a.ints(labels, batch.rows).slice(), inertia }
    })
  }

  /** KL(p‖q) of two histograms, empty bins smoothed to probability eps. */
  klDiscrete(p: Float64Array, q: Float64Array, eps = DEFAULT_EMPTY_BIN_EPS): number {
    return this.histograms(p, q, eps, (pp, qp) => this.kernels.klDiscrete(pp, qp, p.length, eps))
  }

  /** Population stability index of two histograms, empty bins smoothed to probability eps. */
  psi(p: Float64Array, q: Float64Array, eps = DEFAULT_EMPTY_BIN_EPS): number {
    return this.histograms(p, q, eps, (pp, qp) => this.kernels.psi(pp, qp, p.length, eps))
  }

  /** Jensen–Shannon divergence (natural log, ≤ ln 2). */
  jsDivergence(p: Float64Array, q: Float64Array): number {
    return this.histograms(p, q, 0, (pp, qp) => this.kernels.jsDivergence(pp, qp, p.length))
  }

  /** Jensen–Shannon distance √JS (natural log). */
  jsDistance(p: Float64Array, q: Float64Array): number {
    return Math.sqrt(Math.max(0, this.jsDivergence(p, q)))
  }

  /** KL(N0 ‖ N1) in closed form. */
  klGaussian(g0: Gaussian, g1: Gaussian): number {
    checkGaussian('g0', g0)
    checkGaussian('g1', g1)
    if (g0.mean.length !== g1.mean.length) throw new KernelError('BAD_SHAPE', `dimensions differ: ${g0.mean.length} vs ${g1.mean.length}`)
    const kern = this.kernels
    return kern.arena.frame(() => {
      const a = kern.arena
      const d = g0.mean.length
      return kern.klGaussian(a.put(g0.mean), this.factor(g0.cov).ptr, a.put(g1.mean), this.factor(g1.cov).ptr, d, a.alloc(d))
    })
  }

  /** KL(f‖g) between Gaussian mixtures by the variational approximation (Hershey & Olsen 2007). */
  klGmm(f: Mixture, g: Mixture): number {
    checkMixture('f', f)
    checkMixture('g', g)
    if (f.d !== g.d) throw new KernelError('BAD_SHAPE', `dimensions differ: ${f.d} vs ${g.d}`)
    const kern = this.kernels
    return kern.arena.frame(() => {
      const a = kern.arena
      const d = f.d
      const mf = this.mixtureFactors(f)
      const mg = this.mixtureFactors(g)
      return kern.klGmmVariational(mf.w, mf.mu, mf.l, f.k, mg.w, mg.mu, mg.l, g.k, d, a.alloc(d))
    })
  }

  /** EM fit of k components (see gmm.ts). */
  fitGmm(x: Matrix, k: number, options?: GmmOptions): GaussianMixture {
    return fitGmm(this.kernels, x, k, options)
  }

  /** K = kMin..kMax fits, lowest BIC wins. */
  selectGmm(x: Matrix, options?: GmmSelectOptions): GmmSelection {
    return selectGmm(this.kernels, x, options)
  }

  /** Per-point log-likelihoods and responsibilities under a fitted mixture. */
  scoreGmm(model: GaussianMixture, x: Matrix): { logLik: Float64Array, resp: Float64Array } {
    return scoreGmm(this.kernels, model, x)
  }

  /** Cholesky factor of cov in the current arena frame; throws if no jitter helps. */
  private factor(cov: Matrix): { ptr: Ptr, jitter: number } {
    const kern = this.kernels
    const d = cov.rows
    const ptr = kern.arena.alloc(d * d)
    const jitter = kern.cholesky(kern.arena.put(cov.data), d, ptr)
    if (jitter < 0) throw new KernelError('NOT_POSITIVE_DEFINITE', `a ${d}×${d} covariance cannot be factored even with jitter`)
    return { ptr, jitter }
  }

  private perPoint(x: Matrix, g: Gaussian, kernel: 'mahalanobis' | 'gaussianLogPdf'): Float64Array {
    checkMatrix('points', x)
    checkGaussian('gaussian', g)
    if (x.cols !== g.mean.length) throw new KernelError('BAD_SHAPE', `points have ${x.cols} columns, the Gaussian ${g.mean.length}`)
    const kern = this.kernels
    return kern.arena.frame(() => {
      const a = kern.arena
      const d = x.cols
      const out = a.alloc(x.rows)
      kern[kernel](a.put(x.data), x.rows, a.put(g.mean), this.factor(g.cov).ptr, d, a.alloc(d), out)
      return a.copy(out, x.rows)
    })
  }

  private histograms(p: Float64Array, q: Float64Array, eps: number, run: (p: Ptr, q: Ptr) => number): number {
    checkHistogram('p', p)
    checkHistogram('q', q)
    checkLength('q', q, p.length)
    checkRange('eps', eps, 0, 1, 'probability of an empty bin')
    const a = this.kernels.arena
    return a.frame(() => run(a.put(p), a.put(q)))
  }

  /** Weights, means and per-component Cholesky factors of a mixture, in the arena. */
  private mixtureFactors(m: Mixture): { w: Ptr, mu: Ptr, l: Ptr } {
    const a = this.kernels.arena
    const { k, d } = m
    const w = a.put(m.weights)
    const mu = a.put(m.means)
    const l = a.alloc(k * d * d)
    for (let j = 0; j < k; j++) {
      const cov = m.covariance === 'full'
        ? m.covariances.subarray(j * d * d, (j + 1) * d * d)
        : diagonal(m.covariances.subarray(j * d, (j + 1) * d))
      const src = a.put(cov)
      if (this.kernels.cholesky(src, d, l + j * d * d * 8) < 0) {
        throw new KernelError('NOT_POSITIVE_DEFINITE', `mixture component ${j} covariance cannot be factored`)
      }
    }
    return { w, mu, l }
  }
}

function diagonal(v: Float64Array): Float64Array {
  const d = v.length
  const m = new Float64Array(d * d)
  for (let i = 0; i < d; i++) m[i * d + i] = v[i]!
  return m
}

function sameCols(x: Matrix, c: Matrix): void {
  if (x.cols !== c.cols) throw new KernelError('BAD_SHAPE', `points have ${x.cols} columns, centroids ${c.cols}`)
}

function checkSquare(name: string, m: Matrix): void {
  checkMatrix(name, m)
  if (m.rows !== m.cols) throw new KernelError('BAD_SHAPE', `${name} must be square, got ${m.rows}×${m.cols}`)
}

/** Rows of scores: NaN refused, ±∞ allowed (log-probabilities of 0 or 1). */
function checkRows(name: string, m: Matrix): void {
  positiveInt(`${name}.rows`, m.rows)
  positiveInt(`${name}.cols`, m.cols)
  if (m.data.length !== m.rows * m.cols) throw new KernelError('BAD_SHAPE', `${name} is ${m.rows}×${m.cols} but holds ${m.data.length} values`)
  for (let i = 0; i < m.data.length; i++) {
    if (Number.isNaN(m.data[i])) throw new KernelError('NOT_FINITE', `${name}[${i}] is NaN`)
  }
}

function checkKPoints(x: Matrix, k: number): void {
  checkMatrix('points', x)
  positiveInt('k', k)
  if (k > x.rows) throw new KernelError('TOO_FEW_POINTS', `k = ${k} centroids need at least ${k} points, got ${x.rows}`)
}

function checkGaussian(name: string, g: Gaussian): void {
  checkFinite(`${name}.mean`, g.mean)
  checkSquare(`${name}.cov`, g.cov)
  if (g.cov.rows !== g.mean.length) throw new KernelError('BAD_SHAPE', `${name}: mean has ${g.mean.length} values, cov is ${g.cov.rows}×${g.cov.cols}`)
}

function checkMixture(name: string, m: Mixture): void {
  positiveInt(`${name}.k`, m.k)
  positiveInt(`${name}.d`, m.d)
  checkLength(`${name}.weights`, m.weights, m.k)
  checkHistogram(`${name}.weights`, m.weights)
  checkLength(`${name}.means`, m.means, m.k * m.d)
  checkFinite(`${name}.means`, m.means)
  checkLength(`${name}.covariances`, m.covariances, m.covariance === 'full' ? m.k * m.d * m.d : m.k * m.d)
  checkFinite(`${name}.covariances`, m.covariances)
}
