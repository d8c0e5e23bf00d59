// Every WebAssembly kernel agrees with its TypeScript twin on random inputs, over shapes that include
// N = 1, K = 1, D = 1, the per-session shape (N = 1, K = 6, D = 26) and large magnitudes.
import { describe, expect, it } from 'vitest'
import { createTwinKernels, createWasmKernels } from '../src/kernels/backend.js'
import { KernelOps } from '../src/kernels/ops.js'
import { matrix, type Matrix } from '../src/kernels/validate.js'
import { expectAllClose, expectClose } from './helpers/close.js'
import { blobs, spdMatrix, uniformMatrix } from './helpers/data.js'

const wasm = new KernelOps(createWasmKernels())
const twin = new KernelOps(createTwinKernels())

const SHAPES: [n: number, k: number, d: number][] = [[1, 1, 1], [1, 6, 26], [7, 3, 1], [5, 1, 4], [60, 6, 26], [33, 4, 5], [9, 2, 3]]
const SCALES = [1, 1e6]

function scaled(m: Matrix, s: number): Matrix {
  return matrix(m.rows, m.cols, m.data.map((v) => v * s))
}

describe('WebAssembly kernels agree with their TypeScript twins', () => {
  it.each(SHAPES)('distances, plain and weighted (N=%i K=%i D=%i)', (n, k, d) => {
    for (const s of SCALES) {
      const x = scaled(uniformMatrix(n, d, n * 31 + d), s)
      const c = scaled(uniformMatrix(k, d, k * 17 + d), s)
      const w = uniformMatrix(1, d, 99, 0, 3).data
      expectAllClose(wasm.sqDistances(x, c).data, twin.sqDistances(x, c).data, 1e-12)
      expectAllClose(wasm.sqDistances(x, c, w).data, twin.sqDistances(x, c, w).data, 1e-12)
    }
  })

  it.each([1, 2, 5, 26])('Cholesky, log-determinant, Mahalanobis and log-density (D=%i)', (d) => {
    for (const s of SCALES) {
      const cov = matrix(d, d, spdMatrix(d, d).map((v) => v * s))
      const mean = uniformMatrix(1, d, 5).data.map((v) => v * Math.sqrt(s))
      const x = scaled(uniformMatrix(40, d, 6), Math.sqrt(s))
      const a = wasm.cholesky(cov)
      const b = twin.cholesky(cov)
      expectAllClose(a.l.data, b.l.data, 1e-12)
      expect(a.jitter).toBe(b.jitter)
      expectClose(wasm.logDet(cov), twin.logDet(cov), 1e-12)
      const pw = wasm.precision(cov)
      expectAllClose(pw.prec.data, twin.precision(cov).prec.data, 1e-10)
      // P·L = I
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          let v = 0
          for (let t = 0; t < d; t++) v += pw.prec.data[i * d + t]! * a.l.data[t * d + j]!
          expect(Math.abs(v - (i === j ? 1 : 0))).toBeLessThan(1e-9)
        }
      }
      expectAllClose(wasm.mahalanobis(x, { mean, cov }), twin.mahalanobis(x, { mean, cov }), 1e-10)
      expectAllClose(wasm.gaussianLogPdf(x, { mean, cov }), twin.gaussianLogPdf(x, { mean, cov }), 1e-10)
    }
  })

  it('Cholesky regularises matrices that are not positive definite identically', () => {
    for (const d of [2, 3, 8]) {
      const u = uniformMatrix(1, d, d).data // rank one: u·uᵀ
      const cov = matrix(d, d, Array.from({ length: d * d }, (_, i) => u[Math.floor(i / d)]! * u[i % d]!))
      const a = wasm.cholesky(cov)
      const b = twin.cholesky(cov)
      expect(a.jitter).toBeGreaterThan(0)
      expect(a.jitter).toBe(b.jitter)
      expectAllClose(a.l.data, b.l.data, 1e-10)
    }
  })

  it.each(SHAPES)('softmax and log-sum-exp, including very negative rows (N=%i K=%i)', (n, k) => {
    for (const s of [1, 1e3, 1e6]) {
      const x = matrix(n, k, uniformMatrix(n, k, n + k).data.map((v) => v * s - s))
      for (const t of [0.25, 1, 4]) expectAllClose(wasm.softmax(x, t).data, twin.softmax(x, t).data, 1e-12)
      expectAllClose(wasm.logSumExp(x), twin.logSumExp(x), 1e-13)
    }
  })

  it.each(SHAPES.filter(([n, k]) => k <= n))('k-means++, Lloyd and mini-batch updates (N=%i K=%i D=%i)', (n, k, d) => {
    const x = uniformMatrix(n, d, n * 7 + k)
    for (const seed of [0, 1, 12345]) {
      expectAllClose(wasm.kmeansPlusPlus(x, k, seed).data, twin.kmeansPlusPlus(x, k, seed).data, 0)
      const a = wasm.kmeans(x, k, { seed })
      const b = twin.kmeans(x, k, { seed })
      expect(Array.from(a.labels)).toEqual(Array.from(b.labels))
      expectAllClose(a.centroids.data, b.centroids.data, 1e-12)
      expectClose(a.inertia, b.inertia, 1e-12)
    }
    const sa = { centroids: uniformMatrix(k, d, 3), counts: new Float64Array(k).fill(2) }
    const sb = { centroids: uniformMatrix(k, d, 3), counts: new Float64Array(k).fill(2) }
    const ra = wasm.miniBatchKMeans(sa, x)
    const rb = twin.miniBatchKMeans(sb, x)
    expect(Array.from(ra.labels)).toEqual(Array.from(rb.labels))
    expectAllClose(sa.centroids.data, sb.centroids.data, 1e-12)
    expectAllClose(sa.counts, sb.counts, 0)
  })

  it.each(['full', 'diag'] as const)('GMM EM fits and BIC selection (%s covariance)', (covariance) => {
    for (const d of [1, 2, 6]) {
      const centres = [Array(d).fill(0), Array(d).fill(4), Array.from({ length: d }, (_, t) => (t % 2 ? 4 : -4))]
      const { x } = blobs(centres, 40, 1, d)
      const a = wasm.selectGmm(x, { covariance, nInit: 2, seed: 7 })
      const b = twin.selectGmm(x, { covariance, nInit: 2, seed: 7 })
      expect(a.best.k).toBe(b.best.k)
      expectAllClose(a.candidates.map((c) => c.bic), b.candidates.map((c) => c.bic), 1e-9)
      expectAllClose(a.best.means, b.best.means, 1e-8)
      expectAllClose(a.best.covariances, b.best.covariances, 1e-8)
      const sa = wasm.scoreGmm(a.best, x)
      const sb = twin.scoreGmm(b.best, x)
      expectAllClose(sa.logLik, sb.logLik, 1e-9)
      expectAllClose(sa.resp, sb.resp, 1e-8)
    }
  })

  it('the debug build (assertions on) gives the same answers as the release build', () => {
    const debug = new KernelOps(createWasmKernels('debug'))
    const { x } = blobs([[0, 0, 0], [5, 5, 5]], 30, 1, 3)
    const a = debug.selectGmm(x, { nInit: 2 })
    const b = wasm.selectGmm(x, { nInit: 2 })
    expect(a.candidates).toEqual(b.candidates)
    expectAllClose(debug.softmax(x, 2).data, wasm.softmax(x, 2).data, 0)
  })

  it('GMM on one point and one component stays finite', () => {
    const x = matrix(1, 3, [1, 2, 3])
    for (const ops of [wasm, twin]) {
      const fit = ops.fitGmm(x, 1)
      expect(Number.isFinite(fit.logLik)).toBe(true)
      expectAllClose(fit.means, [1, 2, 3], 1e-12)
    }
  })

  it('discrete divergences on histograms with empty bins', () => {
    for (const n of [1, 2, 10, 33]) {
      for (let seed = 0; seed < 5; seed++) {
        const p = uniformMatrix(1, n, seed, 0, 10).data.map((v, i) => (i % 3 === 1 ? 0 : v))
        const q = uniformMatrix(1, n, seed + 100, 0, 10).data.map((v, i) => (i % 4 === 2 ? 0 : v))
        if (!(p.some((v) => v > 0) && q.some((v) => v > 0))) continue
        expectClose(wasm.klDiscrete(p, q), twin.klDiscrete(p, q), 1e-12)
        expectClose(wasm.psi(p, q), twin.psi(p, q), 1e-12)
        expectClose(wasm.jsDivergence(p, q), twin.jsDivergence(p, q), 1e-12)
      }
    }
  })

  it.each([1, 3, 26])('Gaussian and mixture KL (D=%i)', (d) => {
    const g0 = { mean: uniformMatrix(1, d, 1).data, cov: matrix(d, d, spdMatrix(d, 2)) }
    const g1 = { mean: uniformMatrix(1, d, 3).data, cov: matrix(d, d, spdMatrix(d, 4)) }
    expectClose(wasm.klGaussian(g0, g1), twin.klGaussian(g0, g1), 1e-10)
    const mix = (seed: number, k: number) => ({
      k, d, covariance: 'full' as const,
      weights: uniformMatrix(1, k, seed, 0.1, 1).data,
      means: uniformMatrix(k, d, seed + 1, -3, 3).data,
      covariances: Float64Array.from(Array.from({ length: k }, (_, j) => [...spdMatrix(d, seed + j)]).flat()),
    })
    const f = mix(10, 3)
    const g = mix(20, 2)
    expectClose(wasm.klGmm(f, g), twin.klGmm(f, g), 1e-10)
  })
})

describe('tempered diagonal mixtures (dimWeights)', () => {
  const { x } = blobs([[0, 0, 0], [4, 4, 0], [0, 4, 4]], 30, 1, 21)

  it('with all weights 1 equals the untempered fit', () => {
    const plain = wasm.selectGmm(x, { covariance: 'diag', nInit: 2 })
    const ones = wasm.selectGmm(x, { covariance: 'diag', nInit: 2, dimWeights: Float64Array.of(1, 1, 1) })
    // equal up to rounding: the tempered path takes ln σ² as −ln(1/σ²)
    expectAllClose(ones.candidates.map((c) => c.bic), plain.candidates.map((c) => c.bic), 1e-12)
    expect(ones.best.k).toBe(plain.best.k)
  })

  it('scores Σ_t w_t ln N(x_t) per point, the same in the kernel and the twin', () => {
    const w = Float64Array.of(2, 0.5, 1)
    const a = wasm.selectGmm(x, { covariance: 'diag', nInit: 2, dimWeights: w })
    const b = twin.selectGmm(x, { covariance: 'diag', nInit: 2, dimWeights: w })
    expectAllClose(a.candidates.map((c) => c.logLik), b.candidates.map((c) => c.logLik), 1e-9)
    // by hand for the first point under the fitted mixture: log Σ_j π_j Π_t N(x_t | μ_jt, σ²_jt)^{w_t}
    const m = a.best
    const terms = Array.from({ length: m.k }, (_, j) => {
      let s = Math.log(m.weights[j]!)
      for (let t = 0; t < 3; t++) {
        const v = m.covariances[j * 3 + t]!
        const diff = x.data[t]! - m.means[j * 3 + t]!
        s += w[t]! * (-0.5 * Math.log(2 * Math.PI * v) - (0.5 * diff * diff) / v)
      }
      return s
    })
    const hi = Math.max(...terms)
    const byHand = hi + Math.log(terms.reduce((acc, v) => acc + Math.exp(v - hi), 0))
    // the kernel omits the component-independent constant −½ Σ_t (w_t − 1) ln 2π
    const constant = -0.5 * (2 - 1 + 0.5 - 1 + 0) * Math.log(2 * Math.PI)
    expect(wasm.scoreGmm(m, x).logLik[0]! + constant).toBeCloseTo(byHand, 9)
  })

  it('refuses weights with full covariance or of the wrong length', () => {
    expect(() => wasm.fitGmm(x, 2, { dimWeights: Float64Array.of(1, 1, 1) })).toThrow(/needs covariance 'diag'/)
    expect(() => wasm.fitGmm(x, 2, { covariance: 'diag', dimWeights: Float64Array.of(1) })).toThrow(/dimWeights has 1 values/)
  })
})
