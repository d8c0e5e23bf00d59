// The peers idr is measured against (bench/peers.ts): a latent-class EM over categorical traits, a diagonal
// Gaussian mixture over a numeric embedding, both with k chosen by (penalised) BIC per household, and the
// most-active-person oracle. Each fits one household's sessions and returns per-session class posteriors.
import { rng, type Rng } from '../src/sim/random.js'
import type { PeerSession } from './peers-data.js'

/** Classes tried per household: 1 … K_MAX (idr's kMax). */
export const K_MAX = 6
/** EM restarts per k (random partitions / random means; idr: 2 starts per k). */
export const N_STARTS = 2
/** EM stops after this many iterations or when the mean log-likelihood moves less than EM_TOL (nats/session); idr: 50, 1e-4. */
export const EM_MAX_ITER = 50
export const EM_TOL = 1e-4
/** A k whose smallest class carries fewer sessions than this is not eligible (idr: minSessions 3). */
export const MIN_CLASS_SESSIONS = 2
/** Dirichlet pseudo-sessions per categorical trait, spread evenly over its levels (MAP, never a zero). */
export const DIRICHLET_ALPHA = 1
/** Variance added to every diagonal Gaussian variance (scikit-learn's reg_covar), squared units of x: with 1e-3 the one-hot columns split nearly every household (40-household trial, size exact 0.05); a 10 % one-hot has variance 0.09. */
export const GMM_REG_VAR = 0.05
/** Hour buckets of the latent-class model: 24 / 3 h. */
export const HOUR_BUCKETS = 8

/** A fitted household: k classes, the posterior of a session over them, optionally stable class names. */
export interface PeerFit {
  readonly k: number
  /** Writes p(class | s) into out[0..k). */
  posterior(s: PeerSession, out: Float64Array): void
  /** Names that stay the same across refits (the oracle's true persons); else the protocol matches classes. */
  readonly ids?: readonly string[]
}

export interface Peer {
  readonly name: string
  fit(sessions: readonly PeerSession[], seed: number): PeerFit
  /** A refit by local moves from the previous fit (prequential, once the history is long; idr's fullSearchBelow). */
  refine?(previous: PeerFit, sessions: readonly PeerSession[], seed: number): PeerFit
}

// ---------------------------------------------------------------------------------------------------------
// Latent-class EM (each class a product of independent categoricals; Goodman 1974, McLachlan & Peel ch. 13)

/** A categorical trait: its level for a session (≥ 0). */
type Trait = (s: PeerSession) => number

const TRAITS: Record<string, Trait> = {
  hour: (s) => Math.min(HOUR_BUCKETS - 1, Math.floor(s.hour / (24 / HOUR_BUCKETS))),
  weekday: (s) => s.weekday,
  device: (s) => s.device,
  genre: (s) => s.genre,
  content: (s) => s.content,
}

/** How a latent-class peer chooses k: by BIC with penalty factor lambda (1 = Schwarz 1978), or the true size (an oracle). */
export type ChooseK = { readonly by: 'bic', readonly lambda: number } | { readonly by: 'truth' }

/** The latent-class peer over the named traits. */
export function latentClassPeer(traits: readonly (keyof typeof TRAITS)[], choose: ChooseK = { by: 'bic', lambda: 1 }): Peer {
  const fs = traits.map((t) => TRAITS[t]!)
  const how = choose.by === 'truth' ? 'k = true size' : `BIC λ=${choose.lambda}`
  return { name: `latent-class (${traits.join(', ')}), ${how}`, fit: (sessions, seed) => fitLatentClass(sessions, fs, choose, seed) }
}

interface LcModel { k: number, logW: Float64Array, logTheta: Float64Array[], levels: number[], ll: number, minMass: number }

function fitLatentClass(sessions: readonly PeerSession[], traits: readonly Trait[], choose: ChooseK, seed: number): PeerFit {
  const n = sessions.length
  const x = traits.map((f) => Int32Array.from(sessions, f))
  const levels = x.map((col) => 1 + Math.max(0, ...col))
  const used = x.map((col) => new Set(col).size)
  const r = rng(seed)
  let best: LcModel | undefined
  let bestBic = Infinity
  const only = choose.by === 'truth' ? new Set(sessions.map((s) => s.truth.split('+')[0]!)).size : 0
  for (let k = only || 1; k <= (only || Math.min(K_MAX, n)); k++) {
    let fitK: LcModel | undefined
    for (let start = 0; start < (k === 1 ? 1 : N_STARTS); start++) {
      const m = emLatentClass(x, levels, n, k, r)
      if (!fitK || m.ll > fitK.ll) fitK = m
    }
    if (k > 1 && !only && fitK!.minMass < MIN_CLASS_SESSIONS) continue
    const p = k - 1 + k * used.reduce((a, u) => a + u - 1, 0)
    const bic = only ? 0 : -2 * fitK!.ll + (choose.by === 'bic' ? choose.lambda : 1) * p * Math.log(n)
    if (bic < bestBic) { bestBic = bic; best = fitK }
  }
  const m = best!
  return {
    k: m.k,
    posterior: (s, out) => {
      for (let j = 0; j < m.k; j++) out[j] = m.logW[j]!
      traits.forEach((f, t) => {
        const v = f(s)
        if (v >= m.levels[t]!) return // a level the fit never saw says nothing about the class
        for (let j = 0; j < m.k; j++) out[j]! += m.logTheta[t]![j * m.levels[t]! + v]!
      })
      softmaxInPlace(out, m.k)
    },
  }
}

function emLatentClass(x: readonly Int32Array[], levels: readonly number[], n: number, k: number, r: Rng): LcModel {
  const resp = new Float64Array(n * k)
  for (let i = 0; i < n; i++) resp[i * k + Math.floor(r.uniform() * k)] = 1 // a random partition
  const logW = new Float64Array(k)
  const logTheta = levels.map((l) => new Float64Array(k * l))
  const mass = new Float64Array(k)
  let ll = -Infinity
  const row = new Float64Array(k)
  for (let iter = 0; iter < EM_MAX_ITER; iter++) {
    // M-step: MAP under a symmetric Dirichlet of total DIRICHLET_ALPHA per trait
    mass.fill(0)
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) mass[j]! += resp[i * k + j]!
    for (let j = 0; j < k; j++) logW[j] = Math.log((mass[j]! + 1e-9) / (n + k * 1e-9))
    x.forEach((col, t) => {
      const l = levels[t]!
      const th = logTheta[t]!
      th.fill(DIRICHLET_ALPHA / l)
      for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) th[j * l + col[i]!]! += resp[i * k + j]!
      for (let j = 0; j < k; j++) for (let v = 0; v < l; v++) th[j * l + v] = Math.log(th[j * l + v]! / (mass[j]! + DIRICHLET_ALPHA))
    })
    // E-step
    let total = 0
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) row[j] = logW[j]!
      for (let t = 0; t < x.length; t++) {
        const l = levels[t]!
        const th = logTheta[t]!
        const v = x[t]![i]!
        for (let j = 0; j < k; j++) row[j]! += th[j * l + v]!
      }
      total += softmaxInPlace(row, k)
      for (let j = 0; j < k; j++) resp[i * k + j] = row[j]!
    }
    const done = Math.abs(total - ll) / n < EM_TOL
    ll = total
    if (done) break
  }
  mass.fill(0)
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) mass[j]! += resp[i * k + j]!
  return { k, logW, logTheta, levels: [...levels], ll, minMass: Math.min(...mass) }
}

/** Replaces log weights by their softmax (over the first k) and returns their log-sum-exp. */
function softmaxInPlace(a: Float64Array, k: number): number {
  let max = -Infinity
  for (let j = 0; j < k; j++) max = Math.max(max, a[j]!)
  let sum = 0
  for (let j = 0; j < k; j++) { a[j] = Math.exp(a[j]! - max); sum += a[j]! }
  for (let j = 0; j < k; j++) a[j]! /= sum
  return max + Math.log(sum)
}

// ---------------------------------------------------------------------------------------------------------
// Diagonal Gaussian mixture over idr's first-release style embedding, k by penalised BIC

/** Genres (GENRES.length) one-hot in the embedding. */
const GENRE_LEVELS = 17

/** hour and weekday on the circle, weekend, device and genre one-hots, ln(1 + minutes). */
function embed(s: PeerSession, devices: number, out: Float64Array): void {
  out.fill(0)
  const h = (2 * Math.PI * s.hour) / 24
  const w = (2 * Math.PI * s.weekday) / 7
  out[0] = Math.sin(h); out[1] = Math.cos(h); out[2] = Math.sin(w); out[3] = Math.cos(w)
  out[4] = s.weekday >= 5 ? 1 : 0
  out[5] = s.logMinutes
  if (s.device < devices) out[6 + s.device] = 1
  out[6 + devices + s.genre] = 1
}

/** The diagonal-GMM peer, BIC = −2 ln L + lambda · p · ln n. */
export function gaussianPeer(lambda: number): Peer {
  return { name: `diagonal GMM (embedding) λ=${lambda}`, fit: (sessions, seed) => fitGaussian(sessions, lambda, seed) }
}

interface GmModel { k: number, logW: Float64Array, mean: Float64Array, variance: Float64Array, ll: number, minMass: number }

function fitGaussian(sessions: readonly PeerSession[], lambda: number, seed: number): PeerFit {
  const n = sessions.length
  const devices = 1 + Math.max(0, ...sessions.map((s) => s.device))
  const d = 6 + devices + GENRE_LEVELS
  const x = new Float64Array(n * d)
  const row = new Float64Array(d)
  sessions.forEach((s, i) => { embed(s, devices, row); x.set(row, i * d) })
  // columns that never vary carry no information and no parameters
  const live = Array.from({ length: d }, (_, c) => sessions.some((_, i) => x[i * d + c] !== x[c]))
  const dLive = Math.max(1, live.filter(Boolean).length)
  const r = rng(seed)
  let best: GmModel | undefined
  let bestBic = Infinity
  for (let k = 1; k <= Math.min(K_MAX, n); k++) {
    let fitK: GmModel | undefined
    for (let start = 0; start < (k === 1 ? 1 : N_STARTS); start++) {
      const m = emGaussian(x, n, d, k, r)
      if (!fitK || m.ll > fitK.ll) fitK = m
    }
    if (k > 1 && fitK!.minMass < MIN_CLASS_SESSIONS) continue
    const p = k - 1 + 2 * k * dLive
    const bic = -2 * fitK!.ll + lambda * p * Math.log(n)
    if (bic < bestBic) { bestBic = bic; best = fitK }
  }
  const m = best!
  return {
    k: m.k,
    posterior: (s, out) => {
      embed(s, devices, row)
      for (let j = 0; j < m.k; j++) out[j] = m.logW[j]! + logNormalDiag(row, 0, m.mean, m.variance, j, d)
      softmaxInPlace(out, m.k)
    },
  }
}

function logNormalDiag(x: Float64Array, at: number, mean: Float64Array, variance: Float64Array, j: number, d: number): number {
  let s = 0
  for (let c = 0; c < d; c++) {
    const v = variance[j * d + c]!
    const z = x[at + c]! - mean[j * d + c]!
    s -= 0.5 * (Math.log(2 * Math.PI * v) + (z * z) / v)
  }
  return s
}

function emGaussian(x: Float64Array, n: number, d: number, k: number, r: Rng): GmModel {
  const logW = new Float64Array(k).fill(-Math.log(k))
  const mean = new Float64Array(k * d)
  const variance = new Float64Array(k * d)
  // start: k distinct random sessions as means, the data's variance for every class
  const gm = new Float64Array(d)
  const gv = new Float64Array(d)
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) gm[c]! += x[i * d + c]! / n
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) gv[c]! += (x[i * d + c]! - gm[c]!) ** 2 / n
  const picks = new Set<number>()
  while (picks.size < k) picks.add(Math.floor(r.uniform() * n))
  ;[...picks].forEach((i, j) => { for (let c = 0; c < d; c++) { mean[j * d + c] = x[i * d + c]!; variance[j * d + c] = gv[c]! + GMM_REG_VAR } })
  const resp = new Float64Array(n * k)
  const row = new Float64Array(k)
  const mass = new Float64Array(k)
  let ll = -Infinity
  for (let iter = 0; iter < EM_MAX_ITER; iter++) {
    let total = 0
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) row[j] = logW[j]! + logNormalDiag(x, i * d, mean, variance, j, d)
      total += softmaxInPlace(row, k)
      for (let j = 0; j < k; j++) resp[i * k + j] = row[j]!
    }
    mass.fill(0)
    mean.fill(0)
    variance.fill(0)
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) mass[j]! += resp[i * k + j]!
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) { const q = resp[i * k + j]!; for (let c = 0; c < d; c++) mean[j * d + c]! += q * x[i * d + c]! }
    for (let j = 0; j < k; j++) { logW[j] = Math.log((mass[j]! + 1e-9) / (n + k * 1e-9)); for (let c = 0; c < d; c++) mean[j * d + c]! /= mass[j]! + 1e-12 }
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) { const q = resp[i * k + j]!; for (let c = 0; c < d; c++) variance[j * d + c]! += q * (x[i * d + c]! - mean[j * d + c]!) ** 2 }
    for (let j = 0; j < k; j++) for (let c = 0; c < d; c++) variance[j * d + c] = variance[j * d + c]! / (mass[j]! + 1e-12) + GMM_REG_VAR
    const done = Math.abs(total - ll) / n < EM_TOL
    ll = total
    if (done) break
  }
  return { k, logW, mean, variance, ll, minMass: Math.min(...mass) }
}

// ---------------------------------------------------------------------------------------------------------
// Most-active person (an oracle: it reads the truth of the sessions it is fitted on)

/** Every session gets the fitted sessions' shares of their true (first) persons; the top is the most active. */
export const mostActivePeer: Peer = {
  name: 'most active person (oracle shares)',
  fit: (sessions) => {
    const counts = new Map<string, number>()
    for (const s of sessions) { const t = s.truth.split('+')[0]!; counts.set(t, (counts.get(t) ?? 0) + 1) }
    const ids = [...counts.keys()].sort()
    const shares = ids.map((t) => counts.get(t)! / sessions.length)
    return { k: ids.length, ids, posterior: (_s, out) => { shares.forEach((p, j) => { out[j] = p }) } }
  },
}
