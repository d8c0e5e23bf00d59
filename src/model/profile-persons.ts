// A household's persons under the population model (./population.ts). Each person is, as in ./mixture.ts, a
// product of independent traits — which is what makes persons identifiable from a household's sessions (a
// mixture of two products is not a product) — but their distributions are drawn around one of the population's
// profiles instead of around the household: θ_j,f ~ Dirichlet(a_f · φ_m,f) with the profile m itself unknown
// (prior ρ_m). The posterior over m is what lets a person be placed from a few sessions, and the evidence of a
// partition — each person's data integrated over θ and m — is what chooses the number of persons, with no
// penalty weight. Which of the household's devices of a type a person uses is a Dirichlet around the
// household's own use. docs/model.md, "Persons under the population model".
import type { KernelOps } from '../kernels/ops.js'
import { FIELD_SLOTS, PAIRS, VOCAB, type Encoded, type Field } from './mixture.js'
import { kmeansInit, merge, split } from './mixture-fit.js'
import type { PopulationModel } from './population.js'
import { lnGamma } from './special.js'

const FIELDS: readonly Field[] = ['time', 'weekday', 'device', 'genre']
/** Device slots a household has (observation.ts MAX_DEVICES) and device types (events.ts DEVICE_TYPES). */
export const SLOTS = 16
export const TYPES = 6

/** A household's sessions as the profile model reads them: population rows (device field = type) and slots. */
export interface ProfileRows {
  readonly e: Encoded
  /** n: household device slot. */
  readonly slot: Int32Array
}

/** How strongly a person's distributions follow their profile (pseudo-sessions per trait). */
export interface ProfilePriors {
  readonly strength: Readonly<Record<Field | 'duration', number>>
  /** Concentration of a person's device-within-type choice around the household's. */
  readonly deviceAlpha: number
  /** Smallest variance of ln minutes. */
  readonly varianceFloor: number
}

export const PROFILE_PRIORS: ProfilePriors = {
  strength: { time: 10, weekday: 10, device: 10, genre: 10, duration: 10 },
  deviceAlpha: 2,
  varianceFloor: 0.02,
}

/** k persons' statistics and what is derived from them. */
export class ProfilePersons {
  /** k × VOCAB responsibility-weighted counts (population vocabulary: the device field counts types). */
  readonly c: Float64Array
  /** k × SLOTS device counts. */
  readonly d: Float64Array
  readonly nj: Float64Array
  readonly durW: Float64Array
  readonly durS: Float64Array
  readonly durQ: Float64Array
  /** k × M: ln of the posterior over the person's profile. */
  readonly logW: Float64Array
  /** k × M: ln p(person j's data | profile m), θ integrated out. */
  readonly evidenceJM: Float64Array
  /** k × M × VOCAB: ln predictive θ_jm,v. */
  readonly logTheta: Float64Array
  /** k × M duration predictive: mean, precision, constant. */
  readonly durMean: Float64Array
  readonly durPrec: Float64Array
  readonly durConst: Float64Array
  /** k × SLOTS: ln δ_j(slot | its type) (0 where the type has one device). */
  readonly logDev: Float64Array
  readonly logPi: Float64Array
  readonly hhSlot = new Float64Array(SLOTS)
  readonly slotType = new Int32Array(SLOTS).fill(-1)
  readonly m: number

  constructor(readonly k: number, readonly pop: PopulationModel, readonly priors: ProfilePriors) {
    const m = (this.m = pop.size)
    this.c = new Float64Array(k * VOCAB)
    this.d = new Float64Array(k * SLOTS)
    this.nj = new Float64Array(k)
    this.durW = new Float64Array(k)
    this.durS = new Float64Array(k)
    this.durQ = new Float64Array(k)
    this.logW = new Float64Array(k * m)
    this.evidenceJM = new Float64Array(k * m)
    this.logTheta = new Float64Array(k * m * VOCAB)
    this.durMean = new Float64Array(k * m)
    this.durPrec = new Float64Array(k * m)
    this.durConst = new Float64Array(k * m)
    this.logDev = new Float64Array(k * SLOTS)
    this.logPi = new Float64Array(k)
  }

  /** The household's devices: slot → type and how often each slot is used (before a fit). */
  setDevices(rows: ProfileRows): void {
    this.hhSlot.fill(0)
    for (let i = 0; i < rows.e.n; i++) {
      const s = rows.slot[i]!
      this.hhSlot[s]! += 1
      this.slotType[s] = rows.e.slot[i * PAIRS + 3]! - FIELD_SLOTS.device.offset
    }
  }

  clearStats(): void {
    this.c.fill(0)
    this.d.fill(0)
    this.nj.fill(0)
    this.durW.fill(0)
    this.durS.fill(0)
    this.durQ.fill(0)
  }

  /** Adds row i with person responsibilities r (k values). */
  accumulate(rows: ProfileRows, i: number, r: ArrayLike<number>): void {
    const e = rows.e
    const at = i * PAIRS
    const x = e.dur[i]!
    const slot = rows.slot[i]!
    for (let j = 0; j < this.k; j++) {
      const rj = r[j]!
      if (rj === 0) continue
      this.nj[j]! += rj
      this.d[j * SLOTS + slot]! += rj
      for (let p = 0; p < PAIRS; p++) this.c[j * VOCAB + e.slot[at + p]!]! += rj * e.w[at + p]!
      if (!Number.isNaN(x)) {
        this.durW[j]! += rj
        this.durS[j]! += rj * x
        this.durQ[j]! += rj * x * x
      }
    }
  }

  /** Recomputes the profile posteriors, the predictive tables and the device choice from the statistics. */
  refresh(): void {
    const { k, m, pop } = this
    const a = this.priors.strength
    const phi = pop.profiles.logTab
    const logRho = pop.logWeights
    let total = 0
    for (let j = 0; j < k; j++) total += this.nj[j]!
    for (let j = 0; j < k; j++) {
      this.logPi[j] = Math.log((this.nj[j]! + 1) / (total + k))
      let hi = -Infinity
      for (let q = 0; q < m; q++) {
        let ev = 0
        const tab = (j * m + q) * VOCAB
        for (const f of FIELDS) {
          const { offset, size } = FIELD_SLOTS[f]
          const af = a[f]
          let nf = 0
          for (let v = 0; v < size; v++) nf += this.c[j * VOCAB + offset + v]!
          const norm = Math.log(nf + af)
          for (let v = 0; v < size; v++) this.logTheta[tab + offset + v] = Math.log(this.c[j * VOCAB + offset + v]! + af * Math.exp(phi[q * VOCAB + offset + v]!)) - norm
          ev += this.fieldEvidence(j, q, f, af)
        }
        ev += this.duration(j, q)
        this.evidenceJM[j * m + q] = ev
        const lw = logRho[q]! + ev
        this.logW[j * m + q] = lw
        if (lw > hi) hi = lw
      }
      let s = 0
      for (let q = 0; q < m; q++) s += Math.exp(this.logW[j * m + q]! - hi)
      const z = hi + Math.log(s)
      for (let q = 0; q < m; q++) this.logW[j * m + q] = this.logW[j * m + q]! - z
    }
    this.devices()
  }

  /** ln p(person j's counts of field f | profile q) with θ ~ Dirichlet(a · φ_q,f) integrated out. */
  fieldEvidence(j: number, q: number, f: Field, a: number): number {
    const { offset, size } = FIELD_SLOTS[f]
    const phi = this.pop.profiles.logTab
    let nf = 0
    let acc = 0
    for (let v = 0; v < size; v++) {
      const cv = this.c[j * VOCAB + offset + v]!
      nf += cv
      if (cv > 0) {
        const prior = a * Math.exp(phi[q * VOCAB + offset + v]!)
        acc += lnGamma(prior + cv) - lnGamma(prior)
      }
    }
    return acc + lnGamma(a) - lnGamma(a + nf)
  }

  /** Person j's duration under profile q: the normal-gamma marginal (returned) and the plug-in predictive. */
  duration(j: number, q: number, k0 = this.priors.strength.duration, store = true): number {
    const pm = this.pop.profiles
    const m0 = pm.durMean[q]!
    const v0 = Math.max(this.priors.varianceFloor, 1 / pm.durPrec[q]!)
    const a0 = 1 + k0 / 2
    const b0 = a0 * v0
    const w = this.durW[j]!
    const s = this.durS[j]!
    const xbar = w > 0 ? s / w : m0
    const scatter = w > 0 ? Math.max(0, this.durQ[j]! - s * xbar) : 0
    const kn = k0 + w
    const an = a0 + w / 2
    const bn = b0 + 0.5 * scatter + (k0 * w * (xbar - m0) ** 2) / (2 * kn)
    if (store) {
      const at = j * this.m + q
      const variance = Math.max(this.priors.varianceFloor, (bn * (kn + 1)) / (an * kn))
      this.durMean[at] = (k0 * m0 + s) / kn
      this.durPrec[at] = 1 / variance
      this.durConst[at] = -0.5 * Math.log(2 * Math.PI * variance)
    }
    return lnGamma(an) - lnGamma(a0) + a0 * Math.log(b0) - an * Math.log(bn) + 0.5 * Math.log(k0 / kn) - (w / 2) * Math.log(2 * Math.PI)
  }

  private devices(): void {
    const { k } = this
    const alpha = this.priors.deviceAlpha
    const typeTotal = new Float64Array(TYPES)
    const typeSlots = new Float64Array(TYPES)
    for (let s = 0; s < SLOTS; s++) {
      const t = this.slotType[s]!
      if (t >= 0) { typeTotal[t]! += this.hhSlot[s]!; typeSlots[t]! += 1 }
    }
    const personType = new Float64Array(TYPES)
    for (let j = 0; j < k; j++) {
      personType.fill(0)
      for (let s = 0; s < SLOTS; s++) if (this.slotType[s]! >= 0) personType[this.slotType[s]!]! += this.d[j * SLOTS + s]!
      for (let s = 0; s < SLOTS; s++) {
        const t = this.slotType[s]!
        if (t < 0 || typeSlots[t]! < 2) { this.logDev[j * SLOTS + s] = 0; continue }
        const q = (this.hhSlot[s]! + 0.1) / (typeTotal[t]! + 0.1 * typeSlots[t]!)
        this.logDev[j * SLOTS + s] = Math.log((this.d[j * SLOTS + s]! + alpha * q) / (personType[t]! + alpha))
      }
    }
  }

  /** ln p(row i, person j) for every j into out (k values). */
  logJoint(rows: ProfileRows, i: number, out: Float64Array, scratch: Float64Array): void {
    const { k, m } = this
    const e = rows.e
    const at = i * PAIRS
    const x = e.dur[i]!
    const slot = rows.slot[i]!
    const known = this.slotType[slot]! >= 0
    for (let j = 0; j < k; j++) {
      let hi = -Infinity
      for (let q = 0; q < m; q++) {
        const tab = (j * m + q) * VOCAB
        let s = this.logW[j * m + q]!
        for (let p = 0; p < PAIRS; p++) s += e.w[at + p]! * this.logTheta[tab + e.slot[at + p]!]!
        if (!Number.isNaN(x)) {
          const d = x - this.durMean[j * m + q]!
          s += this.durConst[j * m + q]! - 0.5 * this.durPrec[j * m + q]! * d * d
        }
        scratch[q] = s
        if (s > hi) hi = s
      }
      let sum = 0
      for (let q = 0; q < m; q++) sum += Math.exp(scratch[q]! - hi)
      out[j] = this.logPi[j]! + hi + Math.log(sum) + (known ? this.logDev[j * SLOTS + slot]! : 0)
    }
  }

  /** ln p(data | these persons' partition): each person's evidence over profiles, the devices and the person sizes. */
  evidence(): number {
    const { k, m } = this
    let total = 0
    for (let j = 0; j < k; j++) {
      let hi = -Infinity
      for (let q = 0; q < m; q++) hi = Math.max(hi, this.pop.logWeights[q]! + this.evidenceJM[j * m + q]!)
      let s = 0
      for (let q = 0; q < m; q++) s += Math.exp(this.pop.logWeights[q]! + this.evidenceJM[j * m + q]! - hi)
      total += hi + Math.log(s)
    }
    // sizes: Dirichlet(1, …, 1) over the persons
    let acc = 0
    for (let j = 0; j < k; j++) acc += lnGamma(1 + this.nj[j]!)
    let n = 0
    for (let j = 0; j < k; j++) n += this.nj[j]!
    total += lnGamma(k) - lnGamma(k + n) + acc
    return total + this.deviceEvidence()
  }

  private deviceEvidence(): number {
    const alpha = this.priors.deviceAlpha
    let total = 0
    for (let t = 0; t < TYPES; t++) {
      const slots: number[] = []
      let tt = 0
      for (let s = 0; s < SLOTS; s++) if (this.slotType[s] === t) { slots.push(s); tt += this.hhSlot[s]! }
      if (slots.length < 2) continue
      for (let j = 0; j < this.k; j++) {
        let sumC = 0, acc = 0
        for (const s of slots) {
          const a = (alpha * (this.hhSlot[s]! + 0.1)) / (tt + 0.1 * slots.length)
          const c = this.d[j * SLOTS + s]!
          sumC += c
          acc += lnGamma(a + c) - lnGamma(a)
        }
        total += lnGamma(alpha) - lnGamma(alpha + sumC) + acc
      }
    }
    return total
  }
}

export interface ProfileFit {
  readonly persons: ProfilePersons
  /** n × k responsibilities. */
  readonly resp: Float64Array
  readonly logLik: number
  /** Approximate ln p(data | k): the partition's evidence at the responsibilities, their entropy, and ln k!. */
  readonly evidence: number
  readonly iterations: number
  readonly smallest: number
}

/** EM from initial responsibilities (n × k) until the log-likelihood per row moves less than tol. */
export function fitProfilePersons(rows: ProfileRows, pop: PopulationModel, k: number, init: Float64Array, priors: ProfilePriors = PROFILE_PRIORS, maxIter = 60, tol = 1e-4): ProfileFit {
  const n = rows.e.n
  const P = new ProfilePersons(k, pop, priors)
  P.setDevices(rows)
  const resp = init.slice()
  const row = new Float64Array(k)
  const scratch = new Float64Array(pop.size)
  let ll = -Infinity
  let it = 0
  for (; it < maxIter; it++) {
    P.clearStats()
    for (let i = 0; i < n; i++) P.accumulate(rows, i, resp.subarray(i * k, i * k + k))
    P.refresh()
    let next = 0
    for (let i = 0; i < n; i++) {
      P.logJoint(rows, i, row, scratch)
      next += softmaxInto(row, k, resp, i * k)
    }
    const done = Math.abs(next - ll) < tol * n
    ll = next
    if (done) break
  }
  P.clearStats()
  let entropy = 0
  for (let i = 0; i < n; i++) {
    const r = resp.subarray(i * k, i * k + k)
    P.accumulate(rows, i, r)
    for (let j = 0; j < k; j++) if (r[j]! > 0) entropy -= r[j]! * Math.log(r[j]!)
  }
  P.refresh()
  let smallest = Infinity
  for (let j = 0; j < k; j++) smallest = Math.min(smallest, P.nj[j]!)
  return { persons: P, resp, logLik: ll, evidence: P.evidence() + entropy + lnGamma(k + 1), iterations: it, smallest }
}

/** Replaces row (k log values) by its softmax into out at offset; returns the log-sum-exp. */
export function softmaxInto(row: Float64Array, k: number, out: Float64Array, offset: number): number {
  let hi = -Infinity
  for (let j = 0; j < k; j++) hi = Math.max(hi, row[j]!)
  let s = 0
  for (let j = 0; j < k; j++) s += Math.exp(row[j]! - hi)
  for (let j = 0; j < k; j++) out[offset + j] = Math.exp(row[j]! - hi) / s
  return hi + Math.log(s)
}

export interface ProfileSelectOptions {
  readonly kMax: number
  /** k-means starts per k > 1; the start with the highest likelihood is kept. */
  readonly nInit: number
  /** A k whose smallest person holds fewer sessions ends the search. */
  readonly minPersonSessions: number
  readonly seed: number
}

/**
 * Fits k = 1, 2, … (k-means starts on `init`, the household's own encoding of the same sessions) and keeps the
 * fit with the highest evidence; the search stops at the first k with a person below minPersonSessions.
 */
export function selectProfilePersons(ops: KernelOps, rows: ProfileRows, init: Encoded, pop: PopulationModel, priors: ProfilePriors, s: ProfileSelectOptions): ProfileFit {
  const n = rows.e.n
  let chosen: ProfileFit | undefined
  const kMax = Math.max(1, Math.min(s.kMax, Math.floor(n / Math.max(1, s.minPersonSessions))))
  for (let k = 1; k <= kMax; k++) {
    let best: ProfileFit | undefined
    for (let t = 0; t < (k === 1 ? 1 : s.nInit); t++) {
      const start = k === 1 ? new Float64Array(n).fill(1) : kmeansInit(ops, init, k, s.seed + 7919 * t)
      const f = fitProfilePersons(rows, pop, k, start, priors)
      if (!best || f.logLik > best.logLik) best = f
    }
    if (k > 1 && best!.smallest < s.minPersonSessions) break
    if (!chosen || best!.evidence > chosen.evidence) chosen = best
  }
  return chosen!
}

/**
 * Local moves from the current persons (`current`: n × k responsibilities on rows): keep k, split the heaviest
 * person, merge the two that share most sessions (./mixture-fit.ts refineMixture's moves); the eligible fit
 * with the highest evidence wins. Three EM runs instead of a search over every k.
 */
export function refineProfilePersons(ops: KernelOps, rows: ProfileRows, init: Encoded, pop: PopulationModel, priors: ProfilePriors, s: ProfileSelectOptions, current: Float64Array, k: number): ProfileFit {
  const n = rows.e.n
  const starts: { k: number, resp: Float64Array }[] = [{ k, resp: current }]
  if (k < s.kMax) starts.push({ k: k + 1, resp: split(ops, init, current, k, s.seed) })
  if (k > 1) starts.push({ k: k - 1, resp: merge(n, current, k) })
  let best: ProfileFit | undefined
  for (const start of starts) {
    const f = fitProfilePersons(rows, pop, start.k, start.resp, priors)
    if (start.k > 1 && f.smallest < s.minPersonSessions) continue
    if (!best || f.evidence > best.evidence) best = f
  }
  return best ?? fitProfilePersons(rows, pop, 1, new Float64Array(n).fill(1), priors)
}

/** n × k responsibilities of the rows under persons P (for a refine from them). */
export function responsibilities(P: ProfilePersons, rows: ProfileRows): Float64Array {
  const n = rows.e.n
  const out = new Float64Array(n * P.k)
  const row = new Float64Array(P.k)
  const scratch = new Float64Array(P.m)
  for (let i = 0; i < n; i++) {
    P.logJoint(rows, i, row, scratch)
    softmaxInto(row, P.k, out, i * P.k)
  }
  return out
}
