// TypeScript twin of assembly/linalg.ts.

/** ln(2π) */
export const LOG_2PI = Math.log(2 * Math.PI)
const JITTER_START = 1e-10
const JITTER_RETRIES = 30
const PIVOT_FLOOR = 1e-12

function factor(a: Float64Array, d: number, delta: number, l: Float64Array): boolean {
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const aij = a[i * d + j]!
      let s = aij
      for (let t = 0; t < j; t++) s -= l[i * d + t]! * l[j * d + t]!
      if (i === j) {
        s += delta
        if (!(s > PIVOT_FLOOR * (aij + delta)) || !Number.isFinite(s)) return false
        l[i * d + i] = Math.sqrt(s)
      } else {
        l[i * d + j] = s / l[j * d + j]!
      }
    }
    for (let j = i + 1; j < d; j++) l[i * d + j] = 0
  }
  return true
}

/** A = L·Lᵀ, or (A + δI) with the smallest δ = 1e-10·mean|diag|·10^r that works; returns δ, or −1 on failure. */
export function cholesky(a: Float64Array, d: number, l: Float64Array): number {
  if (factor(a, d, 0, l)) return 0
  let scale = 0
  for (let i = 0; i < d; i++) scale += Math.abs(a[i * d + i]!)
  scale = scale > 0 ? scale / d : 1
  let delta = JITTER_START * scale
  for (let r = 0; r < JITTER_RETRIES; r++) {
    if (factor(a, d, delta, l)) return delta
    delta *= 10
  }
  return -1
}

/** ln|A| = 2 Σ ln L_ii */
export function logDetChol(l: Float64Array, d: number): number {
  let s = 0
  for (let i = 0; i < d; i++) s += Math.log(l[i * d + i]!)
  return 2 * s
}

/** P = L⁻¹ for a lower-triangular L (row-major, zeros above). */
export function invertChol(l: Float64Array, d: number, p: Float64Array): void {
  p.fill(0, 0, d * d)
  for (let a = 0; a < d; a++) {
    for (let i = a; i < d; i++) {
      let r = i === a ? 1 : 0
      for (let t = a; t < i; t++) r -= l[i * d + t]! * p[t * d + a]!
      p[i * d + a] = r / l[i * d + i]!
    }
  }
}

/** ‖P(x − μ)‖² with P = L⁻¹ (lower), for the point starting at x[xo] and the factor at p[po]. */
export function mahaInv(x: Float64Array, xo: number, mu: Float64Array, mo: number, p: Float64Array, po: number, d: number): number {
  let m = 0
  for (let j = 0; j < d; j++) {
    let y = 0
    for (let a = 0; a <= j; a++) y += p[po + j * d + a]! * (x[xo + a]! - mu[mo + a]!)
    m += y * y
  }
  return m
}

/** ‖L⁻¹(x − μ)‖² for the point starting at x[xo]; y receives L⁻¹(x − μ). */
export function solveMaha(x: Float64Array, xo: number, mu: Float64Array, mo: number, l: Float64Array, lo: number, d: number, y: Float64Array): number {
  let m = 0
  for (let i = 0; i < d; i++) {
    let r = x[xo + i]! - mu[mo + i]!
    for (let t = 0; t < i; t++) r -= l[lo + i * d + t]! * y[t]!
    const yi = r / l[lo + i * d + i]!
    y[i] = yi
    m += yi * yi
  }
  return m
}

/** out[i] = (x_i − μ)ᵀ Σ⁻¹ (x_i − μ), Σ = LLᵀ */
export function mahalanobis(x: Float64Array, n: number, mu: Float64Array, l: Float64Array, d: number, work: Float64Array, out: Float64Array): void {
  for (let i = 0; i < n; i++) out[i] = solveMaha(x, i * d, mu, 0, l, 0, d, work)
}

/** out[i] = −½(d ln 2π + ln|Σ| + Mahalanobis²) */
export function gaussianLogPdf(x: Float64Array, n: number, mu: Float64Array, l: Float64Array, d: number, work: Float64Array, out: Float64Array): void {
  const c = -0.5 * (d * LOG_2PI + logDetChol(l, d))
  for (let i = 0; i < n; i++) out[i] = c - 0.5 * solveMaha(x, i * d, mu, 0, l, 0, d, work)
}
