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
 * so each Mahalanobis term is d independent SIMD dot products. Returns Σ_i ln p(x_i). work: 2d f64.
 */
export function gmmEStepFull(
  x: usize, n: i32, d: i32, k: i32, logW: usize, means: usize, precChol: usize, logDet: usize,
  logResp: usize, logProb: usize, work: usize,
): f64 {
  const half = 0.5 * <f64>d * LOG_2PI;
  const diffA = work;
  const diffB = at(work, d);
  // component-outer keeps one P_j (d² f64) hot in cache across all points; points go in pairs so that each
  // row of P_j is loaded once for two dot products
  for (let j = 0; j < k; j++) {
    const c = load<f64>(at(logW, j)) - half - 0.5 * load<f64>(at(logDet, j));
    const mj = at(means, j * d);
    const pj = at(precChol, j * d * d);
    let i = 0;
    for (; i + 1 < n; i += 2) {
      sub(at(x, i * d), mj, diffA, d);
      sub(at(x, (i + 1) * d), mj, diffB, d);
      let mA: f64 = 0.0;
      let mB: f64 = 0.0;
      for (let r = 0; r < d; r++) {
        const pr = at(pj, r * d);
        const len = r + 1;
        let accA = f64x2.splat(0.0);
        let accB = f64x2.splat(0.0);
        let t = 0;
        for (; t + 1 < len; t += 2) {
          const o = <usize>t << 3;
          const pv = v128.load(pr + o);
          accA = f64x2.add(accA, f64x2.mul(pv, v128.load(diffA + o)));
          accB = f64x2.add(accB, f64x2.mul(pv, v128.load(diffB + o)));
        }
        let yA = f64x2.extract_lane(accA, 0) + f64x2.extract_lane(accA, 1);
        let yB = f64x2.extract_lane(accB, 0) + f64x2.extract_lane(accB, 1);
        if (t < len) {
          const o = <usize>t << 3;
          const pt = load<f64>(pr + o);
          yA += pt * load<f64>(diffA + o);
          yB += pt * load<f64>(diffB + o);
        }
        mA += yA * yA;
        mB += yB * yB;
      }
      store<f64>(at(logResp, i * k + j), c - 0.5 * mA);
      store<f64>(at(logResp, (i + 1) * k + j), c - 0.5 * mB);
    }
    if (i < n) store<f64>(at(logResp, i * k + j), c - 0.5 * mahaInv(at(x, i * d), mj, pj, d, diffA));
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
 * + regCovar·I, with r = exp(logResp) and N_j = Σ_i r_ij + 10ε. covs: K × d × d. work: n·k + k + 2d + n f64.
 */
export function gmmMStepFull(
  x: usize, n: i32, d: i32, k: i32, logResp: usize, regCovar: f64,
  weights: usize, means: usize, covs: usize, work: usize,
): void {
  const r = work;
  const nk = at(work, n * k);
  const diffA = at(work, n * k + k);
  const diffB = at(work, n * k + k + d);
  const idx = at(work, n * k + k + 2 * d); // n i32: the points that count for component j
  weightsAndMeans(x, n, d, k, logResp, r, nk, weights, means);
  for (let j = 0; j < k; j++) {
    const cj = at(covs, j * d * d);
    const mj = at(means, j * d);
    zero(cj, d * d);
    let m = 0;
    for (let i = 0; i < n; i++) {
      if (load<f64>(at(r, i * k + j)) >= NEGLIGIBLE_RESP) {
        store<i32>(idx + (<usize>m << 2), i);
        m++;
      }
    }
    // upper triangle, row a: Σ[a, a..d) += r·diff_a·diff[a..d); two points per pass over Σ's rows
    let q = 0;
    for (; q + 1 < m; q += 2) {
      const iA = load<i32>(idx + (<usize>q << 2));
      const iB = load<i32>(idx + (<usize>(q + 1) << 2));
      const rA = load<f64>(at(r, iA * k + j));
      const rB = load<f64>(at(r, iB * k + j));
      sub(at(x, iA * d), mj, diffA, d);
      sub(at(x, iB * d), mj, diffB, d);
      for (let a = 0; a < d; a++) {
        const sA = f64x2.splat(rA * load<f64>(at(diffA, a)));
        const sB = f64x2.splat(rB * load<f64>(at(diffB, a)));
        const row = at(cj, a * d);
        let t = a;
        for (; t + 1 < d; t += 2) {
          const o = <usize>t << 3;
          const upd = f64x2.add(f64x2.mul(sA, v128.load(diffA + o)), f64x2.mul(sB, v128.load(diffB + o)));
          v128.store(row + o, f64x2.add(v128.load(row + o), upd));
        }
        if (t < d) {
          const o = <usize>t << 3;
          store<f64>(row + o, load<f64>(row + o) + (f64x2.extract_lane(sA, 0) * load<f64>(diffA + o) + f64x2.extract_lane(sB, 0) * load<f64>(diffB + o)));
        }
      }
    }
    if (q < m) {
      const i = load<i32>(idx + (<usize>q << 2));
      const rij = load<f64>(at(r, i * k + j));
      sub(at(x, i * d), mj, diffA, d);
      for (let a = 0; a < d; a++) axpy(rij * load<f64>(at(diffA, a)), at(diffA, a), at(cj, a * d + a), d - a);
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
