// Cholesky factorisation and what it buys: log-determinants, Mahalanobis distances, Gaussian log-densities.
// Matrices are d×d row-major f64; a Cholesky factor L is lower triangular with zeros above the diagonal.
import { at, axpy, dot, sub, zero } from './vec';

/** ln(2π) */
export const LOG_2PI: f64 = 1.8378770664093453;
/** First diagonal jitter tried on a matrix that is not positive definite, relative to its mean |diagonal|. */
const JITTER_START: f64 = 1e-10;
/** Jitter grows ×10 per retry; 30 retries reach 1e20 × the mean diagonal, past any finite Gershgorin bound. */
const JITTER_RETRIES: i32 = 30;
/** A pivot must exceed this fraction of its diagonal entry: smaller ones mean a numerically singular matrix. */
const PIVOT_FLOOR: f64 = 1e-12;

/** Cholesky–Banachiewicz on a + δI. Returns false at the first pivot that is not finite and > PIVOT_FLOOR·(a_ii + δ). */
function factor(a: usize, d: i32, delta: f64, l: usize): bool {
  for (let i = 0; i < d; i++) {
    const li = at(l, i * d);
    for (let j = 0; j <= i; j++) {
      const lj = at(l, j * d);
      const aij = load<f64>(at(a, i * d + j));
      let s = aij - dot(li, lj, j);
      if (i == j) {
        s += delta;
        if (!(s > PIVOT_FLOOR * (aij + delta)) || !isFinite(s)) return false;
        store<f64>(at(li, i), Math.sqrt(s));
      } else {
        store<f64>(at(li, j), s / load<f64>(at(lj, j)));
      }
    }
    for (let j = i + 1; j < d; j++) store<f64>(at(li, j), 0.0);
  }
  return true;
}

/**
 * A = L·Lᵀ for symmetric A (lower triangle read). If A is not positive definite, factors A + δI with the
 * smallest δ = 1e-10·mean|diag|·10^r (r = 0, 1, ...) that works. Returns δ (0 when none was needed), or −1
 * when even that failed (a non-finite input). l must not alias a.
 */
export function cholesky(a: usize, d: i32, l: usize): f64 {
  if (factor(a, d, 0.0, l)) return 0.0;
  let scale: f64 = 0.0;
  for (let i = 0; i < d; i++) scale += Math.abs(load<f64>(at(a, i * d + i)));
  scale = scale > 0.0 ? scale / <f64>d : 1.0;
  let delta = JITTER_START * scale;
  for (let r = 0; r < JITTER_RETRIES; r++) {
    if (factor(a, d, delta, l)) return delta;
    delta *= 10.0;
  }
  return -1.0;
}

/** ln|A| = 2 Σ_i ln L_ii, from the Cholesky factor of A. */
export function logDetChol(l: usize, d: i32): f64 {
  let s: f64 = 0.0;
  for (let i = 0; i < d; i++) s += Math.log(load<f64>(at(l, i * d + i)));
  return 2.0 * s;
}

/** ‖L⁻¹(x − μ)‖² by forward substitution; y (d f64) receives L⁻¹(x − μ). */
// @ts-ignore: decorator
@inline export function solveMaha(x: usize, mu: usize, l: usize, d: i32, y: usize): f64 {
  let m: f64 = 0.0;
  for (let i = 0; i < d; i++) {
    const li = at(l, i * d);
    const r = load<f64>(at(x, i)) - load<f64>(at(mu, i)) - dot(li, y, i);
    const yi = r / load<f64>(at(li, i));
    store<f64>(at(y, i), yi);
    m += yi * yi;
  }
  return m;
}

/**
 * P = L⁻¹ (lower triangular, row-major, zeros above). Row by row: P_i = −(1/L_ii)·Σ_{t<i} L_it·P_t off the
 * diagonal and P_ii = 1/L_ii, so every update is a contiguous SIMD axpy over the first t + 1 entries.
 */
export function invertChol(l: usize, d: i32, p: usize): void {
  zero(p, d * d);
  for (let i = 0; i < d; i++) {
    const pi = at(p, i * d);
    const li = at(l, i * d);
    for (let t = 0; t < i; t++) axpy(load<f64>(at(li, t)), at(p, t * d), pi, t + 1);
    const inv = 1.0 / load<f64>(at(li, i));
    for (let a = 0; a < i; a++) store<f64>(at(pi, a), -inv * load<f64>(at(pi, a)));
    store<f64>(at(pi, i), inv);
  }
}

/**
 * ‖L⁻¹(x − μ)‖² = Σ_j (P_j · (x − μ))² with P = L⁻¹: independent SIMD dot products (no dependency chain
 * between rows, unlike forward substitution). diff: d f64.
 */
// @ts-ignore: decorator
@inline export function mahaInv(x: usize, mu: usize, p: usize, d: i32, diff: usize): f64 {
  sub(x, mu, diff, d);
  let m: f64 = 0.0;
  for (let j = 0; j < d; j++) {
    const yj = dot(at(p, j * d), diff, j + 1);
    m += yj * yj;
  }
  return m;
}

/** out[i] = (x_i − μ)ᵀ Σ⁻¹ (x_i − μ) with Σ = LLᵀ, for N points; work: d f64. */
export function mahalanobis(x: usize, n: i32, mu: usize, l: usize, d: i32, work: usize, out: usize): void {
  for (let i = 0; i < n; i++) store<f64>(at(out, i), solveMaha(at(x, i * d), mu, l, d, work));
}

/** out[i] = ln N(x_i | μ, LLᵀ) = −½(d ln 2π + ln|Σ| + Mahalanobis²), for N points; work: d f64. */
export function gaussianLogPdf(x: usize, n: i32, mu: usize, l: usize, d: i32, work: usize, out: usize): void {
  const c = -0.5 * (<f64>d * LOG_2PI + logDetChol(l, d));
  for (let i = 0; i < n; i++) store<f64>(at(out, i), c - 0.5 * solveMaha(at(x, i * d), mu, l, d, work));
}
