// EM steps for Gaussian mixtures (Dempster, Laird & Rubin 1977), following scikit-learn's GaussianMixture:
// responsibilities in log space, N_k + 10ε, covariance + regCovar·I. Full covariances are passed as Cholesky
// precision factors L⁻¹ (K × d × d), diagonal ones as variances (K × d).
import { LOG_2PI, mahaInv } from './linalg';
import { lseRow } from './softmax';
import { addSqDiff, at, axpy, sub, weightedSqDist, zero } from './vec';

/** Added to every N_k so that an empty component divides by something (scikit-learn: 10 × float64 ε). */
const NK_FLOOR: f64 = 10.0 * 2.220446049250313e-16;
/** Responsibilities below this add nothing visible to a float64 sum of O(1) terms; their points are skipped. */
export const NEGLIGIBLE_RESP: f64 = 1e-15;

/**
 * E-step, full covariance: logResp[i,j] = ln w_j + ln N(x_i | μ_j, Σ_j) − ln p(x_i), with
 * ln p(x_i) = LSE_j(ln w_j + ln N(x_i | μ_j, Σ_j)), also written to logProb[i] unless logProb is 0.
 * Σ_j is given by its precision factor P_j = L_j⁻¹ (Σ_j = L_j L_jᵀ, see invertChol) and logDet[j] = ln|Σ_j|,
 * so each Mahalanobis term is d independent SIMD dot products. Returns Σ_i ln p(x_i). work: d f64.
 */
export function gmmEStepFull(
  x: usize, n: i32, d: i32, k: i32, logW: usize, means: usize, precChol: usize, logDet: usize,
  logResp: usize, logProb: usize, work: usize,
): f64 {
  const half = 0.5 * <f64>d * LOG_2PI;
  // component-outer keeps one P_j (d² f64) hot in cache across all points
  for (let j = 0; j < k; j++) {
    const c = load<f64>(at(logW, j)) - half - 0.5 * load<f64>(at(logDet, j));
    const mj = at(means, j * d);
    const pj = at(precChol, j * d * d);
    for (let i = 0; i < n; i++) {
      store<f64>(at(logResp, i * k + j), c - 0.5 * mahaInv(at(x, i * d), mj, pj, d, work));
    }
  }
  return normaliseRows(logResp, n, k, logProb);
}

/** Turns rows of joint log-densities into log-responsibilities; ln p(x_i) to logProb unless 0. Returns Σ_i ln p(x_i). */
function normaliseRows(logResp: usize, n: i32, k: i32, logProb: usize): f64 {
  let total: f64 = 0.0;
  for (let i = 0; i < n; i++) {
    const row = at(logResp, i * k);
    const lse = lseRow(row, k);
    for (let j = 0; j < k; j++) store<f64>(at(row, j), load<f64>(at(row, j)) - lse);
    if (logProb != 0) store<f64>(at(logProb, i), lse);
    total += lse;
  }
  return total;
}

/** prec[j,t] = 1/vars[j,t] and logDet[j] = Σ_t ln vars[j,t]: what the diagonal E-step needs per component. */
export function diagPrecision(vars: usize, k: i32, d: i32, prec: usize, logDet: usize): void {
  for (let j = 0; j < k; j++) {
    let s: f64 = 0.0;
    for (let t = 0; t < d; t++) {
      const v = load<f64>(at(vars, j * d + t));
      s += Math.log(v);
      store<f64>(at(prec, j * d + t), 1.0 / v);
    }
    store<f64>(at(logDet, j), s);
  }
}

/**
 * E-step, diagonal covariance: as gmmEStepFull with Σ_j = diag(1/prec_j) and logDet[j] = ln|Σ_j| (see
 * diagPrecision), so one session costs K·d multiply-adds.
 */
export function gmmEStepDiag(
  x: usize, n: i32, d: i32, k: i32, logW: usize, means: usize, prec: usize, logDet: usize, logResp: usize,
  logProb: usize,
): f64 {
  const half = 0.5 * <f64>d * LOG_2PI;
  for (let i = 0; i < n; i++) {
    const xi = at(x, i * d);
    const row = at(logResp, i * k);
    for (let j = 0; j < k; j++) {
      const q = weightedSqDist(xi, at(means, j * d), at(prec, j * d), d);
      store<f64>(at(row, j), load<f64>(at(logW, j)) - half - 0.5 * load<f64>(at(logDet, j)) - 0.5 * q);
    }
  }
  return normaliseRows(logResp, n, k, logProb);
}

/** resp = exp(logResp) into r (n·k); N_k = Σ_i r_ij + 10ε into nk; weights = N_k / Σ N_k; means = Σ r x / N_k. */
function weightsAndMeans(
  x: usize, n: i32, d: i32, k: i32, logResp: usize, r: usize, nk: usize, weights: usize, means: usize,
): void {
  zero(nk, k);
  zero(means, k * d);
  for (let i = 0; i < n * k; i++) {
    const v = Math.exp(load<f64>(at(logResp, i)));
    store<f64>(at(r, i), v);
    const j = i % k;
    store<f64>(at(nk, j), load<f64>(at(nk, j)) + v);
  }
  let sum: f64 = 0.0;
  for (let j = 0; j < k; j++) {
    const v = load<f64>(at(nk, j)) + NK_FLOOR;
    store<f64>(at(nk, j), v);
    sum += v;
  }
  for (let j = 0; j < k; j++) store<f64>(at(weights, j), load<f64>(at(nk, j)) / sum);
  for (let i = 0; i < n; i++) {
    const xi = at(x, i * d);
    for (let j = 0; j < k; j++) {
      const rij = load<f64>(at(r, i * k + j));
      if (rij >= NEGLIGIBLE_RESP) axpy(rij, xi, at(means, j * d), d);
    }
  }
  for (let j = 0; j < k; j++) {
    const inv = 1.0 / load<f64>(at(nk, j));
    const mj = at(means, j * d);
    for (let t = 0; t < d; t++) store<f64>(at(mj, t), load<f64>(at(mj, t)) * inv);
  }
}

/**
 * M-step, full covariance: w_j = N_j/N, μ_j = Σ_i r_ij x_i / N_j, Σ_j = Σ_i r_ij (x_i − μ_j)(x_i − μ_j)ᵀ / N_j
 * + regCovar·I, with r = exp(logResp) and N_j = Σ_i r_ij + 10ε. covs: K × d × d. work: n·k + k + d f64.
 */
export function gmmMStepFull(
  x: usize, n: i32, d: i32, k: i32, logResp: usize, regCovar: f64,
  weights: usize, means: usize, covs: usize, work: usize,
): void {
  const r = work;
  const nk = at(work, n * k);
  const diff = at(work, n * k + k);
  weightsAndMeans(x, n, d, k, logResp, r, nk, weights, means);
  for (let j = 0; j < k; j++) {
    const cj = at(covs, j * d * d);
    const mj = at(means, j * d);
    zero(cj, d * d);
    for (let i = 0; i < n; i++) {
      const rij = load<f64>(at(r, i * k + j));
      if (rij < NEGLIGIBLE_RESP) continue;
      sub(at(x, i * d), mj, diff, d);
      // upper triangle, row a: Σ[a, a..d) += r·diff_a · diff[a..d)
      for (let a = 0; a < d; a++) {
        axpy(rij * load<f64>(at(diff, a)), at(diff, a), at(cj, a * d + a), d - a);
      }
    }
    const inv = 1.0 / load<f64>(at(nk, j));
    for (let a = 0; a < d; a++) {
      for (let b = a; b < d; b++) {
        const v = load<f64>(at(cj, a * d + b)) * inv;
        store<f64>(at(cj, a * d + b), v);
        store<f64>(at(cj, b * d + a), v);
      }
      store<f64>(at(cj, a * d + a), load<f64>(at(cj, a * d + a)) + regCovar);
    }
  }
}

/** M-step, diagonal covariance: as gmmMStepFull but vars_j[t] = Σ_i r_ij (x_it − μ_jt)² / N_j + regCovar. work: n·k + k f64. */
export function gmmMStepDiag(
  x: usize, n: i32, d: i32, k: i32, logResp: usize, regCovar: f64,
  weights: usize, means: usize, vars: usize, work: usize,
): void {
  const r = work;
  const nk = at(work, n * k);
  weightsAndMeans(x, n, d, k, logResp, r, nk, weights, means);
  zero(vars, k * d);
  for (let i = 0; i < n; i++) {
    const xi = at(x, i * d);
    for (let j = 0; j < k; j++) {
      const rij = load<f64>(at(r, i * k + j));
      if (rij < NEGLIGIBLE_RESP) continue;
      addSqDiff(rij, xi, at(means, j * d), at(vars, j * d), d);
    }
  }
  for (let j = 0; j < k; j++) {
    const inv = 1.0 / load<f64>(at(nk, j));
    for (let t = 0; t < d; t++) {
      const p = at(vars, j * d + t);
      store<f64>(p, load<f64>(p) * inv + regCovar);
    }
  }
}
