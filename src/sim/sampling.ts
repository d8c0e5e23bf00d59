// Samplers the simulator draws from, each next to the density or mass function the Bayes oracle evaluates,
// so that what is scored is exactly what was sampled. All randomness comes from one seeded `Rng` per stream.
import type { Rng } from './random.js'

const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI)
/** Poisson draws are split into pieces of at most this mean (Knuth's product method needs e^−mean ≫ 0). */
const POISSON_PIECE = 20
/** Below this the normal tail comes from Marsaglia's series, above from the Laplace continued fraction. */
const TAIL_SWITCH = 2.5
/** Image terms of a wrapped normal below e^−85 (≈ 1e−37) of the nearest one are left out. */
const WRAP_NEGLIGIBLE_LOG = 85

/** A 32-bit seed derived from a parent seed and stream labels (murmur3's finaliser per part). */
export function deriveSeed(...parts: readonly number[]): number {
  let h = 0x9e3779b9
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b)
    h ^= h >>> 13
    h = Math.imul(h, 0xc2b2ae35)
    h ^= h >>> 16
  }
  return h >>> 0
}

/** True with probability p. */
export function bernoulli(r: Rng, p: number): boolean {
  return r.uniform() < p
}

/** exp(sdLog · N(0, 1)): a multiplicative jitter with median 1. */
export function jitter(r: Rng, sdLog: number): number {
  return Math.exp(sdLog * r.normal())
}

/** Uniform in [lo, hi). */
export function uniformIn(r: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * r.uniform()
}

/** Exponential with the given mean. */
export function exponential(r: Rng, mean: number): number {
  return -mean * Math.log(1 - r.uniform())
}

/** Lognormal: exp(mu + sigma · N(0, 1)). */
export function lognormal(r: Rng, mu: number, sigma: number): number {
  return Math.exp(mu + sigma * r.normal())
}

/** Poisson(mean), exact for any mean (a sum of Poisson pieces, each by Knuth's product of uniforms). */
export function poisson(r: Rng, mean: number): number {
  let n = 0
  let left = mean
  while (left > 0) {
    const piece = Math.min(left, POISSON_PIECE)
    left -= piece
    const limit = Math.exp(-piece)
    let p = r.uniform()
    while (p > limit) {
      n++
      p *= r.uniform()
    }
  }
  return n
}

/** Running sums of non-negative weights (the input to `pickCumulative`). */
export function cumulative(weights: ArrayLike<number>): Float64Array {
  const c = new Float64Array(weights.length)
  let s = 0
  for (let i = 0; i < weights.length; i++) {
    s += weights[i]!
    c[i] = s
  }
  return c
}

/** Index i with probability w_i / Σw, given cum = cumulative(w). Zero-weight entries are never picked. */
export function pickCumulative(r: Rng, cum: ArrayLike<number>): number {
  const n = cum.length
  const u = r.uniform() * cum[n - 1]!
  if (n > 16) {
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (u < cum[mid]!) hi = mid
      else lo = mid + 1
    }
    return lo
  }
  for (let i = 0; i < n - 1; i++) if (u < cum[i]!) return i
  return n - 1
}

/** Index i with probability w_i / Σw (linear scan; for small, one-off weight vectors). */
export function pick(r: Rng, weights: ArrayLike<number>): number {
  let total = 0
  for (let i = 0; i < weights.length; i++) total += weights[i]!
  let u = r.uniform() * total
  let last = 0
  for (let i = 0; i < weights.length; i++) {
    if (weights[i]! <= 0) continue
    last = i
    u -= weights[i]!
    if (u < 0) return i
  }
  return last
}

/** Normalises non-negative weights to sum 1, in place; returns the array. */
export function normalise<T extends { length: number, [i: number]: number }>(w: T): T {
  let s = 0
  for (let i = 0; i < w.length; i++) s += w[i]!
  for (let i = 0; i < w.length; i++) w[i] = w[i]! / s
  return w
}

// --- The wrapped normal on a circle of circumference `period` (time of day: period 24 h) ---

/** Wrapped normal: (mean + sd · N(0, 1)) mod period, in [0, period). */
export function wrappedNormal(r: Rng, mean: number, sd: number, period: number): number {
  const x = mean + sd * r.normal()
  const t = x - period * Math.floor(x / period)
  return t < period ? t : 0 // x/period rounding can land exactly on period
}

/** Density of the wrapped normal at x ∈ [0, period): Σ_k N(x + k·period; mean, sd²), all non-negligible k. */
export function wrappedNormalPdf(x: number, mean: number, sd: number, period: number): number {
  const d = x - mean - period * Math.round((x - mean) / period) // nearest image, |d| ≤ period/2
  // an image at distance r is below e^−85 of the nearest one once r² ≥ (period/2)² + 2·85·sd²
  const reach = Math.sqrt(0.25 * period * period + 2 * WRAP_NEGLIGIBLE_LOG * sd * sd)
  const kMax = Math.floor((reach + Math.abs(d)) / period)
  const inv = 1 / (2 * sd * sd)
  let s = Math.exp(-d * d * inv)
  for (let k = 1; k <= kMax; k++) {
    const a = d + k * period
    const b = d - k * period
    s += Math.exp(-a * a * inv) + Math.exp(-b * b * inv)
  }
  return s * Math.exp(-LN_SQRT_2PI) / sd
}

// --- The standard normal distribution function, accurate in both tails ---

/** ln Q(x) = ln(1 − Φ(x)) for x ≥ 0, relative error ≲ 1e−14 (checked against erfc in the tests). */
function logUpperTailPos(x: number): number {
  if (x === Infinity) return -Infinity
  if (x < TAIL_SWITCH) {
    // Marsaglia 2004, "Evaluating the normal distribution": Φ(x) = ½ + φ(x)·(x + x³/3 + x⁵/(3·5) + …)
    let s = x
    let t = 0
    let b = x
    const q = x * x
    let i = 1
    while (s !== t) {
      t = s
      i += 2
      b *= q / i
      s = t + b
    }
    return Math.log(0.5 - s * Math.exp(-0.5 * q - LN_SQRT_2PI))
  }
  // Laplace's continued fraction Q(x)/φ(x) = 1/(x + 1/(x + 2/(x + 3/(x + …)))) by the modified Lentz method
  let f = x
  let c = x
  let dd = 0
  for (let k = 1; k < 200; k++) {
    dd = 1 / (x + k * dd)
    c = x + k / c
    const delta = c * dd
    f *= delta
    if (Math.abs(delta - 1) < 1e-16) break
  }
  return -0.5 * x * x - LN_SQRT_2PI - Math.log(f)
}

/** ln(e^a − e^b) for a ≥ b. */
function logDiffExp(a: number, b: number): number {
  if (b === -Infinity) return a
  return a + Math.log(-Math.expm1(b - a))
}

/** ln(Φ(b) − Φ(a)) for a < b (a may be −∞, b may be +∞): the log mass of a normal interval, stable in both tails. */
export function logNormalInterval(a: number, b: number): number {
  if (!(a < b)) return -Infinity
  if (a >= 0) return logDiffExp(logUpperTailPos(a), logUpperTailPos(b)) // Q(a) − Q(b)
  if (b <= 0) return logDiffExp(logUpperTailPos(-b), logUpperTailPos(-a)) // Φ(b) − Φ(a) = Q(−b) − Q(−a)
  return Math.log1p(-(Math.exp(logUpperTailPos(-a)) + Math.exp(logUpperTailPos(b)))) // 1 − Φ(a) − Q(b)
}

/** Φ(x), the standard normal distribution function. */
export function normalCdf(x: number): number {
  return x >= 0 ? -Math.expm1(logUpperTailPos(x)) : Math.exp(logUpperTailPos(-x))
}

/** ln P(lo < X ≤ hi) for X lognormal(mu, sigma), 0 ≤ lo < hi ≤ ∞. */
export function logLognormalInterval(lo: number, hi: number, mu: number, sigma: number): number {
  const a = lo > 0 ? (Math.log(lo) - mu) / sigma : -Infinity
  const b = hi < Infinity ? (Math.log(hi) - mu) / sigma : Infinity
  return logNormalInterval(a, b)
}
