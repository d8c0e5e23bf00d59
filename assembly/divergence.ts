// Divergences between distributions: discrete histograms (KL, Jensen–Shannon, PSI), Gaussians in closed
// form, and Gaussian mixtures by the variational approximation. Natural logarithms throughout.
import { at, dot } from './vec';
import { logDetChol, solveMaha } from './linalg';

/** Σ p. */
function total(p: usize, n: i32): f64 {
  let s: f64 = 0.0;
  for (let i = 0; i < n; i++) s += load<f64>(at(p, i));
  return s;
}

/** Σ_i p̃_i where p̃_i = p_i/Σp, or eps for an empty bin: the normaliser of the smoothed histogram. */
function smoothedSum(p: usize, n: i32, sum: f64, eps: f64): f64 {
  let s: f64 = 0.0;
  for (let i = 0; i < n; i++) {
    const v = load<f64>(at(p, i));
    s += v == 0.0 ? eps : v / sum;
  }
  return s;
}

/** Bin i of the smoothed, renormalised histogram. */
// @ts-ignore: decorator
@inline function smoothed(p: usize, i: i32, sum: f64, eps: f64, norm: f64): f64 {
  const v = load<f64>(at(p, i));
  return (v == 0.0 ? eps : v / sum) / norm;
}

/**
 * KL(p‖q) = Σ_i p_i ln(p_i/q_i). p and q are histograms (any positive scale): each is normalised, its empty
 * bins set to the probability eps, and renormalised.
 */
export function klDiscrete(p: usize, q: usize, n: i32, eps: f64): f64 {
  const tp = total(p, n);
  const tq = total(q, n);
  const np = smoothedSum(p, n, tp, eps);
  const nq = smoothedSum(q, n, tq, eps);
  let kl: f64 = 0.0;
  for (let i = 0; i < n; i++) {
    const pi = smoothed(p, i, tp, eps, np);
    kl += pi * Math.log(pi / smoothed(q, i, tq, eps, nq));
  }
  return kl;
}

/** Population stability index Σ_i (p_i − q_i) ln(p_i/q_i) = KL(p‖q) + KL(q‖p), smoothed as klDiscrete. */
export function psi(p: usize, q: usize, n: i32, eps: f64): f64 {
  const tp = total(p, n);
  const tq = total(q, n);
  const np = smoothedSum(p, n, tp, eps);
  const nq = smoothedSum(q, n, tq, eps);
  let s: f64 = 0.0;
  for (let i = 0; i < n; i++) {
    const pi = smoothed(p, i, tp, eps, np);
    const qi = smoothed(q, i, tq, eps, nq);
    s += (pi - qi) * Math.log(pi / qi);
  }
  return s;
}

/** Jensen–Shannon divergence ½KL(p‖m) + ½KL(q‖m), m = (p+q)/2, p and q normalised; bounded by ln 2, no smoothing needed. */
export function jsDivergence(p: usize, q: usize, n: i32): f64 {
  const tp = total(p, n);
  const tq = total(q, n);
  let s: f64 = 0.0;
  for (let i = 0; i < n; i++) {
    const pi = load<f64>(at(p, i)) / tp;
    const qi = load<f64>(at(q, i)) / tq;
    const m = 0.5 * (pi + qi);
    if (pi > 0.0) s += pi * Math.log(pi / m);
    if (qi > 0.0) s += qi * Math.log(qi / m);
  }
  return 0.5 * s;
}

/** ‖L1⁻¹ L0‖²_F = tr(Σ1⁻¹ Σ0), column by column of L0 by forward substitution; y: d f64. */
function traceTerm(l0: usize, l1: usize, d: i32, y: usize): f64 {
  let tr: f64 = 0.0;
  for (let c = 0; c < d; c++) {
    for (let i = 0; i < d; i++) {
      const li = at(l1, i * d);
      const yi = (load<f64>(at(l0, i * d + c)) - dot(li, y, i)) / load<f64>(at(li, i));
      store<f64>(at(y, i), yi);
      tr += yi * yi;
    }
  }
  return tr;
}

/**
 * KL(N(μ0, Σ0) ‖ N(μ1, Σ1)) = ½[tr(Σ1⁻¹Σ0) + (μ1 − μ0)ᵀ Σ1⁻¹ (μ1 − μ0) − d + ln|Σ1| − ln|Σ0|],
 * with Σ0 = L0L0ᵀ and Σ1 = L1L1ᵀ given as Cholesky factors. work: d f64.
 */
export function klGaussian(mu0: usize, l0: usize, mu1: usize, l1: usize, d: i32, work: usize): f64 {
  const tr = traceTerm(l0, l1, d, work);
  const maha = solveMaha(mu0, mu1, l1, d, work);
  return 0.5 * (tr + maha - <f64>d + logDetChol(l1, d) - logDetChol(l0, d));
}

/** ln Σ_b w_b exp(−KL(f_a ‖ h_b)) over the kh components of mixture h, accumulated with a running max. */
function logSumKl(
  muA: usize, lA: usize, wh: usize, muh: usize, lh: usize, kh: i32, d: i32, work: usize,
): f64 {
  let m = -Infinity;
  let s: f64 = 0.0;
  for (let b = 0; b < kh; b++) {
    const v = Math.log(load<f64>(at(wh, b))) - klGaussian(muA, lA, at(muh, b * d), at(lh, b * d * d), d, work);
    if (v == -Infinity) continue;
    if (v > m) {
      s = s * Math.exp(m - v) + 1.0;
      m = v;
    } else {
      s += Math.exp(v - m);
    }
  }
  return m == -Infinity ? m : m + Math.log(s);
}

/**
 * Variational approximation of KL(f‖g) between Gaussian mixtures (Hershey & Olsen 2007, eq. 20):
 * Σ_a π_a ln[ Σ_a' π_a' e^{−KL(f_a‖f_a')} / Σ_b ω_b e^{−KL(f_a‖g_b)} ]. Exact when both are single Gaussians.
 * Components as weights (k), means (k×d), Cholesky factors (k×d×d). work: d f64.
 */
export function klGmmVariational(
  wf: usize, muf: usize, lf: usize, kf: i32, wg: usize, mug: usize, lg: usize, kg: i32, d: i32, work: usize,
): f64 {
  let s: f64 = 0.0;
  for (let a = 0; a < kf; a++) {
    const pa = load<f64>(at(wf, a));
    if (pa == 0.0) continue;
    const muA = at(muf, a * d);
    const lA = at(lf, a * d * d);
    s += pa * (logSumKl(muA, lA, wf, muf, lf, kf, d, work) - logSumKl(muA, lA, wg, mug, lg, kg, d, work));
  }
  return s;
}
