// TypeScript twin of assembly/divergence.ts.
import { logDetChol, solveMaha } from './linalg.js'

/** p normalised, empty bins set to the probability eps, renormalised. */
function normalised(p: Float64Array, eps: number): Float64Array {
  const sum = p.reduce((acc, v) => acc + v, 0)
  const smoothed = p.map((v) => (v === 0 ? eps : v / sum))
  const norm = smoothed.reduce((acc, v) => acc + v, 0)
  return smoothed.map((v) => v / norm)
}

/** KL(p‖q) after replacing empty bins by eps and normalising. */
export function klDiscrete(p: Float64Array, q: Float64Array, eps: number): number {
  const a = normalised(p, eps)
  const b = normalised(q, eps)
  let kl = 0
  for (let i = 0; i < a.length; i++) kl += a[i]! * Math.log(a[i]! / b[i]!)
  return kl
}

/** PSI = Σ (p − q) ln(p/q), empty bins smoothed by eps. */
export function psi(p: Float64Array, q: Float64Array, eps: number): number {
  const a = normalised(p, eps)
  const b = normalised(q, eps)
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) * Math.log(a[i]! / b[i]!)
  return s
}

/** Jensen–Shannon divergence (natural log); its square root is the JS distance. */
export function jsDivergence(p: Float64Array, q: Float64Array): number {
  const sp = p.reduce((acc, v) => acc + v, 0)
  const sq = q.reduce((acc, v) => acc + v, 0)
  const a = p.map((v) => v / sp)
  const b = q.map((v) => v / sq)
  let s = 0
  for (let i = 0; i < a.length; i++) {
    const m = 0.5 * (a[i]! + b[i]!)
    if (a[i]! > 0) s += a[i]! * Math.log(a[i]! / m)
    if (b[i]! > 0) s += b[i]! * Math.log(b[i]! / m)
  }
  return 0.5 * s
}

/** KL(N(μ0, L0L0ᵀ) ‖ N(μ1, L1L1ᵀ)) in closed form. */
export function klGaussian(
  mu0: Float64Array, mo0: number, l0: Float64Array, lo0: number,
  mu1: Float64Array, mo1: number, l1: Float64Array, lo1: number, d: number,
): number {
  const y = new Float64Array(d)
  let tr = 0
  for (let c = 0; c < d; c++) {
    for (let i = 0; i < d; i++) {
      let r = l0[lo0 + i * d + c]!
      for (let t = 0; t < i; t++) r -= l1[lo1 + i * d + t]! * y[t]!
      y[i] = r / l1[lo1 + i * d + i]!
      tr += y[i]! * y[i]!
    }
  }
  const maha = solveMaha(mu0, mo0, mu1, mo1, l1, lo1, d, y)
  return 0.5 * (tr + maha - d + logDetChol(l1.subarray(lo1), d) - logDetChol(l0.subarray(lo0), d))
}

/** A Gaussian mixture: weights (k), means (k×d), Cholesky factors (k×d×d). */
export interface MixtureArrays { w: Float64Array, mu: Float64Array, l: Float64Array, k: number }

function logSumKl(f: MixtureArrays, a: number, h: MixtureArrays, d: number): number {
  const terms: number[] = []
  for (let b = 0; b < h.k; b++) {
    terms.push(Math.log(h.w[b]!) - klGaussian(f.mu, a * d, f.l, a * d * d, h.mu, b * d, h.l, b * d * d, d))
  }
  const m = Math.max(...terms)
  if (m === -Infinity) return m
  return m + Math.log(terms.reduce((s, v) => s + Math.exp(v - m), 0))
}

/** Variational KL(f‖g) for Gaussian mixtures (Hershey & Olsen 2007, eq. 20). */
export function klGmmVariational(f: MixtureArrays, g: MixtureArrays, d: number): number {
  let s = 0
  for (let a = 0; a < f.k; a++) {
    if (f.w[a] === 0) continue
    s += f.w[a]! * (logSumKl(f, a, f, d) - logSumKl(f, a, g, d))
  }
  return s
}
