// TypeScript twin of assembly/gmm.ts.
import { LOG_2PI, mahaInv } from './linalg.js'
import { lseRow } from './softmax.js'

const NK_FLOOR = 10 * 2.220446049250313e-16
/** Responsibilities below this are skipped in the M-step sums (as in the kernel). */
export const NEGLIGIBLE_RESP = 1e-15

/** Joint log-densities → log-responsibilities per row; returns Σ_i ln p(x_i). */
function normaliseRows(logResp: Float64Array, n: number, k: number, logProb?: Float64Array): number {
  let total = 0
  for (let i = 0; i < n; i++) {
    const lse = lseRow(logResp, i * k, k)
    for (let j = 0; j < k; j++) logResp[i * k + j] = logResp[i * k + j]! - lse
    if (logProb) logProb[i] = lse
    total += lse
  }
  return total
}

/** E-step, full covariance given precision factors P_j = L_j⁻¹; returns Σ_i ln p(x_i), writes normalised log-responsibilities (and ln p(x_i) to logProb). */
export function gmmEStepFull(
  x: Float64Array, n: number, d: number, k: number, logW: Float64Array, means: Float64Array,
  precChol: Float64Array, logDet: Float64Array, logResp: Float64Array, logProb?: Float64Array,
): number {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const maha = mahaInv(x, i * d, means, j * d, precChol, j * d * d, d)
      logResp[i * k + j] = logW[j]! - 0.5 * d * LOG_2PI - 0.5 * logDet[j]! - 0.5 * maha
    }
  }
  return normaliseRows(logResp, n, k, logProb)
}

/** prec = 1/vars and logDet[j] = Σ_t ln vars[j,t]. */
export function diagPrecision(vars: Float64Array, k: number, d: number, prec: Float64Array, logDet: Float64Array): void {
  for (let j = 0; j < k; j++) {
    let s = 0
    for (let t = 0; t < d; t++) {
      s += Math.log(vars[j * d + t]!)
      prec[j * d + t] = 1 / vars[j * d + t]!
    }
    logDet[j] = s
  }
}

/** E-step, diagonal covariance given precisions (k×d) and log-determinants. */
export function gmmEStepDiag(
  x: Float64Array, n: number, d: number, k: number, logW: Float64Array, means: Float64Array,
  prec: Float64Array, logDet: Float64Array, logResp: Float64Array, logProb?: Float64Array,
): number {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      let q = 0
      for (let t = 0; t < d; t++) {
        const diff = x[i * d + t]! - means[j * d + t]!
        q += prec[j * d + t]! * (diff * diff)
      }
      logResp[i * k + j] = logW[j]! - 0.5 * d * LOG_2PI - 0.5 * logDet[j]! - 0.5 * q
    }
  }
  return normaliseRows(logResp, n, k, logProb)
}

/** r = exp(logResp); N_k = Σ r + 10ε; weights, means. Returns { r, nk }. */
function weightsAndMeans(
  x: Float64Array, n: number, d: number, k: number, logResp: Float64Array, weights: Float64Array, means: Float64Array,
): { r: Float64Array, nk: Float64Array } {
  const r = logResp.map(Math.exp)
  const nk = new Float64Array(k)
  for (let i = 0; i < n * k; i++) nk[i % k] = nk[i % k]! + r[i]!
  let sum = 0
  for (let j = 0; j < k; j++) {
    nk[j] = nk[j]! + NK_FLOOR
    sum += nk[j]!
  }
  means.fill(0, 0, k * d)
  for (let j = 0; j < k; j++) weights[j] = nk[j]! / sum
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const rij = r[i * k + j]!
      if (rij < NEGLIGIBLE_RESP) continue
      for (let t = 0; t < d; t++) means[j * d + t] = means[j * d + t]! + rij * x[i * d + t]!
    }
  }
  for (let j = 0; j < k; j++) {
    for (let t = 0; t < d; t++) means[j * d + t] = means[j * d + t]! * (1 / nk[j]!)
  }
  return { r, nk }
}

/** M-step, full covariance: weights, means, Σ_j = Σ r (x−μ)(x−μ)ᵀ/N_j + regCovar·I. */
export function gmmMStepFull(
  x: Float64Array, n: number, d: number, k: number, logResp: Float64Array, regCovar: number,
  weights: Float64Array, means: Float64Array, covs: Float64Array,
): void {
  const { r, nk } = weightsAndMeans(x, n, d, k, logResp, weights, means)
  const diff = new Float64Array(d)
  const diffB = new Float64Array(d)
  for (let j = 0; j < k; j++) {
    const o = j * d * d
    covs.fill(0, o, o + d * d)
    // the points that count, taken two at a time (the kernel's summation order: Σ += (r_A d_A d_Aᵀ + r_B d_B d_Bᵀ))
    const idx: number[] = []
    for (let i = 0; i < n; i++) if (r[i * k + j]! >= NEGLIGIBLE_RESP) idx.push(i)
    const diffOf = (i: number, out: Float64Array) => {
      for (let t = 0; t < d; t++) out[t] = x[i * d + t]! - means[j * d + t]!
    }
    let q = 0
    for (; q + 1 < idx.length; q += 2) {
      const rA = r[idx[q]! * k + j]!
      const rB = r[idx[q + 1]! * k + j]!
      diffOf(idx[q]!, diff)
      diffOf(idx[q + 1]!, diffB)
      for (let a = 0; a < d; a++) {
        const sA = rA * diff[a]!
        const sB = rB * diffB[a]!
        for (let b = a; b < d; b++) covs[o + a * d + b] = covs[o + a * d + b]! + (sA * diff[b]! + sB * diffB[b]!)
      }
    }
    if (q < idx.length) {
      const rij = r[idx[q]! * k + j]!
      diffOf(idx[q]!, diff)
      for (let a = 0; a < d; a++) {
        const s = rij * diff[a]!
        for (let b = a; b < d; b++) covs[o + a * d + b] = covs[o + a * d + b]! + s * diff[b]!
      }
    }
    const inv = 1 / nk[j]!
    for (let a = 0; a < d; a++) {
      for (let b = a; b < d; b++) {
        const v = covs[o + a * d + b]! * inv
        covs[o + a * d + b] = v
        covs[o + b * d + a] = v
      }
      covs[o + a * d + a] = covs[o + a * d + a]! + regCovar
    }
  }
}

/** M-step, diagonal covariance: vars_j[t] = Σ r (x_t − μ_t)²/N_j + regCovar. */
export function gmmMStepDiag(
  x: Float64Array, n: number, d: number, k: number, logResp: Float64Array, regCovar: number,
  weights: Float64Array, means: Float64Array, vars: Float64Array,
): void {
  const { r, nk } = weightsAndMeans(x, n, d, k, logResp, weights, means)
  vars.fill(0, 0, k * d)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const rij = r[i * k + j]!
      if (rij < NEGLIGIBLE_RESP) continue
      for (let t = 0; t < d; t++) {
        const diff = x[i * d + t]! - means[j * d + t]!
        vars[j * d + t] = vars[j * d + t]! + rij * (diff * diff)
      }
    }
  }
  for (let j = 0; j < k; j++) {
    for (let t = 0; t < d; t++) vars[j * d + t] = vars[j * d + t]! * (1 / nk[j]!) + regCovar
  }
}
