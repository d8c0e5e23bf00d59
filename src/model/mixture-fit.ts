// EM for the person mixture and the choice of the number of persons. Initialisation is k-means (the
// WebAssembly kernels) on an embedding of the observations; the criterion is a BIC whose penalty weight was
// chosen by measured accuracy (docs/model.md, "How many people").
import { KernelOps } from '../kernels/ops.js'
import { FIELD_SLOTS, Mixture, PAIRS, allocEncoded, type Encoded, type Field, type MixtureOptions } from './mixture.js'
import { MAX_DEVICES } from './observation.js'
import { GENRES } from './events.js'

export interface MixtureFit {
  readonly mixture: Mixture
  /** n × k responsibilities. */
  readonly resp: Float64Array
  /** Σ ln Σ_j π_j p(x_i | j). */
  readonly logLik: number
  readonly iterations: number
  readonly bic: number
  /** Smallest Σ responsibilities of a person. */
  readonly smallest: number
}

export interface SelectOptions {
  readonly kMax: number
  /** Inits per k (k-means seeds). */
  readonly nInit: number
  readonly seed: number
  /** A k whose smallest person has fewer sessions than this is not eligible. */
  readonly minPersonSessions: number
  /** Multiplies the BIC's parameter penalty. */
  readonly penalty: number
  readonly maxIter?: number
  /** Convergence: change of the mean log-likelihood per observation. */
  readonly tol?: number
}

export interface Selection {
  readonly best: MixtureFit
  readonly candidates: readonly { k: number, bic: number, logLik: number, eligible: boolean }[]
}

/** E-step over all rows: responsibilities into resp, returns Σ log-likelihood. */
export function eStep(m: Mixture, e: Encoded, resp: Float64Array): number {
  const k = m.k
  let total = 0
  for (let i = 0; i < e.n; i++) {
    const at = i * k
    m.logLik(e, i, resp, at)
    let hi = -Infinity
    for (let j = 0; j < k; j++) {
      const v = resp[at + j]! + m.logPi[j]!
      resp[at + j] = v
      if (v > hi) hi = v
    }
    let sum = 0
    for (let j = 0; j < k; j++) sum += (resp[at + j] = Math.exp(resp[at + j]! - hi))
    for (let j = 0; j < k; j++) resp[at + j] = resp[at + j]! / sum
    total += hi + Math.log(sum)
  }
  return total
}

export function mStep(m: Mixture, e: Encoded, resp: Float64Array): void {
  m.clear()
  for (let i = 0; i < e.n; i++) m.accumulate(e, i, resp, i * m.k)
  m.refresh()
}

/** Levels of each field that occur in the data (for the parameter count). */
export function levelsInUse(e: Encoded): Record<Field, number> {
  const seen = new Set<number>()
  for (let i = 0; i < e.n * PAIRS; i++) if (e.w[i]! > 0) seen.add(e.slot[i]!)
  const out = { time: 0, weekday: 0, device: 0, genre: 0 }
  for (const s of seen) {
    for (const f of Object.keys(FIELD_SLOTS) as Field[]) {
      const { offset, size } = FIELD_SLOTS[f]
      if (s >= offset && s < offset + size) out[f]++
    }
  }
  return out
}

/** EM from initial responsibilities until the mean log-likelihood moves less than tol. */
export function fitFrom(e: Encoded, k: number, resp: Float64Array, options: MixtureOptions, penalty: number, levels: Record<Field, number>, maxIter = 50, tol = 1e-4): MixtureFit {
  const m = new Mixture(k, options)
  let ll = -Infinity
  let it = 0
  while (it < maxIter) {
    it++
    mStep(m, e, resp)
    const next = eStep(m, e, resp)
    const done = Math.abs(next - ll) < tol * e.n
    ll = next
    if (done) break
  }
  mStep(m, e, resp)
  let smallest = Infinity
  for (let j = 0; j < k; j++) smallest = Math.min(smallest, m.n[j]!)
  const bic = -2 * ll + penalty * m.parameters(levels) * Math.log(e.n)
  return { mixture: m, resp, logLik: ll, iterations: it, bic, smallest }
}

/** Hard k-means responsibilities on an embedding of the observations (hour on the circle, weekend, device, genre, duration). */
export function kmeansInit(ops: KernelOps, e: Encoded, k: number, seed: number): Float64Array {
  const resp = new Float64Array(e.n * k)
  if (k === 1) return resp.fill(1)
  const cols = 3 + MAX_DEVICES + GENRES.length + 1
  const data = new Float64Array(e.n * cols)
  for (let i = 0; i < e.n; i++) {
    const at = i * PAIRS
    const hour = e.slot[at]! + 0.5 + e.w[at + 1]!
    const row = i * cols
    data[row] = Math.cos((2 * Math.PI * hour) / 24)
    data[row + 1] = Math.sin((2 * Math.PI * hour) / 24)
    const weekday = e.slot[at + 2]! - FIELD_SLOTS.weekday.offset
    data[row + 2] = weekday >= 5 ? 0.5 : 0
    data[row + 3 + e.slot[at + 3]! - FIELD_SLOTS.device.offset] = Math.SQRT1_2
    data[row + 3 + MAX_DEVICES + e.slot[at + 4]! - FIELD_SLOTS.genre.offset] = 0.5
    const d = e.dur[i]!
    data[row + cols - 1] = Number.isNaN(d) ? 0 : 0.3 * d
  }
  const { labels } = ops.kmeans({ rows: e.n, cols, data }, k, { seed, maxIter: 50 })
  for (let i = 0; i < e.n; i++) resp[i * k + labels[i]!] = 1
  return resp
}

/**
 * Local search from the current persons: keep k (EM from their responsibilities), split the largest person in
 * two (k-means on its sessions), merge the two that share most sessions; the eligible fit with the lowest BIC
 * wins. Three short EM runs instead of selectMixture's 2·kMax − 1 long ones.
 */
export function refineMixture(ops: KernelOps, e: Encoded, options: MixtureOptions, s: SelectOptions, current: Float64Array, k: number): Selection {
  const levels = levelsInUse(e)
  const starts: { k: number, resp: Float64Array }[] = [{ k, resp: current.slice() }]
  if (k < s.kMax) starts.push({ k: k + 1, resp: split(ops, e, current, k, s.seed) })
  if (k > 1) starts.push({ k: k - 1, resp: merge(e.n, current, k) })
  const candidates: { k: number, bic: number, logLik: number, eligible: boolean }[] = []
  let best: MixtureFit | undefined
  for (const start of starts) {
    const fit = fitFrom(e, start.k, start.resp, options, s.penalty, levels, s.maxIter, s.tol)
    const eligible = start.k === 1 || fit.smallest >= s.minPersonSessions
    candidates.push({ k: start.k, bic: fit.bic, logLik: fit.logLik, eligible })
    if (eligible && (!best || fit.bic < best.bic)) best = fit
  }
  // staying at k is always eligible when no start is (k = 1 is)
  return { best: best ?? fitFrom(e, 1, new Float64Array(e.n).fill(1), options, s.penalty, levels, s.maxIter, s.tol), candidates }
}

/** Responsibilities with the heaviest person's sessions split in two by k-means on their embedding. */
function split(ops: KernelOps, e: Encoded, resp: Float64Array, k: number, seed: number): Float64Array {
  const mass = new Float64Array(k)
  for (let i = 0; i < e.n; i++) for (let j = 0; j < k; j++) mass[j] = mass[j]! + resp[i * k + j]!
  let big = 0
  for (let j = 1; j < k; j++) if (mass[j]! > mass[big]!) big = j
  const members: number[] = []
  for (let i = 0; i < e.n; i++) {
    let top = 0
    for (let j = 1; j < k; j++) if (resp[i * k + j]! > resp[i * k + top]!) top = j
    if (top === big) members.push(i)
  }
  const out = new Float64Array(e.n * (k + 1))
  for (let i = 0; i < e.n; i++) for (let j = 0; j < k; j++) out[i * (k + 1) + j] = resp[i * k + j]!
  if (members.length < 2) return out
  const sub = allocEncoded(members.length)
  members.forEach((i, r) => {
    sub.slot.set(e.slot.subarray(i * PAIRS, (i + 1) * PAIRS), r * PAIRS)
    sub.w.set(e.w.subarray(i * PAIRS, (i + 1) * PAIRS), r * PAIRS)
    sub.dur[r] = e.dur[i]!
  })
  const halves = kmeansInit(ops, sub, 2, seed)
  members.forEach((i, r) => {
    if (halves[r * 2 + 1] === 1) {
      out[i * (k + 1) + k] = out[i * (k + 1) + big]!
      out[i * (k + 1) + big] = 0
    }
  })
  return out
}

/** Responsibilities with the two persons that share most sessions (Σ_i r_ia·r_ib) merged. */
function merge(n: number, resp: Float64Array, k: number): Float64Array {
  let a = 0, b = 1, most = -1
  for (let x = 0; x < k; x++) {
    for (let y = x + 1; y < k; y++) {
      let shared = 0
      for (let i = 0; i < n; i++) shared += resp[i * k + x]! * resp[i * k + y]!
      if (shared > most) {
        most = shared
        a = x
        b = y
      }
    }
  }
  const out = new Float64Array(n * (k - 1))
  for (let i = 0; i < n; i++) {
    let to = 0
    for (let j = 0; j < k; j++) {
      if (j === b) continue
      out[i * (k - 1) + to] = resp[i * k + j]! + (j === a ? resp[i * k + b]! : 0)
      to++
    }
  }
  return out
}

/** Fits k = 1 … kMax (nInit k-means starts each) and keeps the eligible fit with the lowest BIC. */
export function selectMixture(ops: KernelOps, e: Encoded, options: MixtureOptions, s: SelectOptions): Selection {
  const levels = levelsInUse(e)
  const candidates: { k: number, bic: number, logLik: number, eligible: boolean }[] = []
  let best: MixtureFit | undefined
  const kMax = Math.min(s.kMax, Math.floor(e.n / Math.max(1, s.minPersonSessions)))
  for (let k = 1; k <= Math.max(1, kMax); k++) {
    let bestK: MixtureFit | undefined
    for (let t = 0; t < (k === 1 ? 1 : s.nInit); t++) {
      const fit = fitFrom(e, k, kmeansInit(ops, e, k, s.seed + 7919 * t), options, s.penalty, levels, s.maxIter, s.tol)
      if (!bestK || fit.logLik > bestK.logLik) bestK = fit
    }
    const eligible = k === 1 || bestK!.smallest >= s.minPersonSessions
    candidates.push({ k, bic: bestK!.bic, logLik: bestK!.logLik, eligible })
    if (eligible && (!best || bestK!.bic < best.bic)) best = bestK
  }
  return { best: best!, candidates }
}
