// EM for the person mixture and the choice of the number of persons. Initialisation is k-means (the
// WebAssembly kernels) on an embedding of the observations; the criterion is a BIC whose penalty weight was
// chosen by measured accuracy (docs/model.md, "How many people").
import type { Ptr } from '../kernels/arena.js'
import type { Kernels } from '../kernels/backend.js'
import { KernelOps } from '../kernels/ops.js'
import { FIELD_SLOTS, Mixture, PAIRS, VOCAB, allocEncoded, type Encoded, type Field, type MixtureOptions } from './mixture.js'
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

/** E-step over all rows (WebAssembly kernel): responsibilities into resp, returns Σ log-likelihood. */
export function eStep(kern: Kernels, m: Mixture, e: Encoded, resp: Float64Array): number {
  return kern.arena.frame(() => {
    const b = loadRows(kern, e, m.k)
    putTables(kern, b, m)
    const ll = runEStep(kern, b, e, m)
    resp.set(kern.arena.view(b.resp, e.n * m.k))
    return ll
  })
}

/** Arena buffers of one fit: the rows (once), the tables (each E-step), the statistics (each M-step). */
interface FitBuffers {
  slot: Ptr
  w: Ptr
  dur: Ptr
  resp: Ptr
  logTab: Ptr
  logPi: Ptr
  durMean: Ptr
  durPrec: Ptr
  durConst: Ptr
  counts: Ptr
  nk: Ptr
  dur3: Ptr
}

function loadRows(kern: Kernels, e: Encoded, k: number): FitBuffers {
  const a = kern.arena
  const slot = a.alloc(e.n * PAIRS, 4)
  const b: FitBuffers = {
    slot, w: a.put(e.w), dur: a.put(e.dur), resp: a.alloc(e.n * k), logTab: a.alloc(k * VOCAB), logPi: a.alloc(k),
    durMean: a.alloc(k), durPrec: a.alloc(k), durConst: a.alloc(k), counts: a.alloc(k * VOCAB), nk: a.alloc(k), dur3: a.alloc(3 * k),
  }
  a.ints(slot, e.n * PAIRS).set(e.slot)
  return b
}

function putTables(kern: Kernels, b: FitBuffers, m: Mixture): void {
  const a = kern.arena
  a.view(b.logTab, m.k * VOCAB).set(m.logTab)
  a.view(b.logPi, m.k).set(m.logPi)
  a.view(b.durMean, m.k).set(m.durMean)
  a.view(b.durPrec, m.k).set(m.durPrec)
  a.view(b.durConst, m.k).set(m.durConst)
}

function runEStep(kern: Kernels, b: FitBuffers, e: Encoded, m: Mixture): number {
  return kern.mixtureEStep(b.slot, b.w, b.dur, e.n, PAIRS, m.k, VOCAB, b.logTab, b.logPi, b.durMean, b.durPrec, b.durConst,
    m.options.weights.duration, b.resp)
}

/** M-step: the statistics of the responsibilities in b.resp (kernel), then the distributions (refresh). */
function runMStep(kern: Kernels, b: FitBuffers, e: Encoded, m: Mixture): void {
  const a = kern.arena
  const k = m.k
  kern.mixtureStats(b.slot, b.w, b.dur, e.n, PAIRS, k, VOCAB, b.resp, b.counts, b.nk, b.dur3)
  m.counts.set(a.view(b.counts, k * VOCAB))
  m.n.set(a.view(b.nk, k))
  const d3 = a.view(b.dur3, 3 * k)
  m.durW.set(d3.subarray(0, k))
  m.durS.set(d3.subarray(k, 2 * k))
  m.durQ.set(d3.subarray(2 * k, 3 * k))
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

/** EM from initial responsibilities (overwritten with the final ones) until the mean log-likelihood moves less than tol. */
export function fitFrom(kern: Kernels, e: Encoded, k: number, resp: Float64Array, options: MixtureOptions, penalty: number, levels: Record<Field, number>, maxIter = 50, tol = 1e-4): MixtureFit {
  const m = new Mixture(k, options)
  return kern.arena.frame(() => {
    const b = loadRows(kern, e, k)
    kern.arena.view(b.resp, e.n * k).set(resp)
    let ll = -Infinity
    let it = 0
    while (it < maxIter) {
      it++
      runMStep(kern, b, e, m)
      putTables(kern, b, m)
      const next = runEStep(kern, b, e, m)
      const done = Math.abs(next - ll) < tol * e.n
      ll = next
      if (done) break
    }
    runMStep(kern, b, e, m)
    resp.set(kern.arena.view(b.resp, e.n * k))
    let smallest = Infinity
    for (let j = 0; j < k; j++) smallest = Math.min(smallest, m.n[j]!)
    const bic = -2 * ll + penalty * m.parameters(levels) * Math.log(e.n)
    return { mixture: m, resp, logLik: ll, iterations: it, bic, smallest }
  })
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
    const fit = fitFrom(ops.kernels, e, start.k, start.resp, options, s.penalty, levels, s.maxIter, s.tol)
    const eligible = start.k === 1 || fit.smallest >= s.minPersonSessions
    candidates.push({ k: start.k, bic: fit.bic, logLik: fit.logLik, eligible })
    if (eligible && (!best || fit.bic < best.bic)) best = fit
  }
  // staying at k is always eligible when no start is (k = 1 is)
  return { best: best ?? fitFrom(ops.kernels, e, 1, new Float64Array(e.n).fill(1), options, s.penalty, levels, s.maxIter, s.tol), candidates }
}

/** Responsibilities with the heaviest person's sessions split in two by k-means on their embedding. */
export function split(ops: KernelOps, e: Encoded, resp: Float64Array, k: number, seed: number): Float64Array {
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
export function merge(n: number, resp: Float64Array, k: number): Float64Array {
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
      const fit = fitFrom(ops.kernels, e, k, kmeansInit(ops, e, k, s.seed + 7919 * t), options, s.penalty, levels, s.maxIter, s.tol)
      if (!bestK || fit.logLik > bestK.logLik) bestK = fit
    }
    const eligible = k === 1 || bestK!.smallest >= s.minPersonSessions
    candidates.push({ k, bic: bestK!.bic, logLik: bestK!.logLik, eligible })
    if (eligible && (!best || bestK!.bic < best.bic)) best = bestK
  }
  return { best: best!, candidates }
}
