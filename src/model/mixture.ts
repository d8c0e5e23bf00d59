// The household's mixture of people: each person is a profile of independent session traits — start hour
// (24 circularly smoothed bins), weekday, device, dominant genre (categoricals) and ln watched minutes
// (Gaussian) — fit by EM with Dirichlet/normal priors that shrink each person toward the household. The
// model, the priors and why this and not a Gaussian mixture over the feature vector: docs/model.md.
import type { Observation } from './observation.js'
import { MAX_DEVICES } from './observation.js'
import { GENRES } from './events.js'
import { OptionError } from '../options/check.js'

export type Field = 'time' | 'weekday' | 'device' | 'genre'
export type Trait = Field | 'duration'

/** Offsets of the categorical fields in one concatenated vocabulary. */
export const FIELD_SLOTS: Readonly<Record<Field, { readonly offset: number, readonly size: number }>> = {
  time: { offset: 0, size: 24 },
  weekday: { offset: 24, size: 7 },
  device: { offset: 31, size: MAX_DEVICES },
  genre: { offset: 31 + MAX_DEVICES, size: GENRES.length },
}
const FIELDS: readonly Field[] = ['time', 'weekday', 'device', 'genre']
export const VOCAB = FIELD_SLOTS.genre.offset + FIELD_SLOTS.genre.size
/** (slot, weight) pairs per observation: two for the hour (linear between bin centres), one per other field. */
export const PAIRS = 5
/** Circular smoothing of the hour counts: binomial weights, σ = 1 h. */
const TIME_KERNEL = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16]

const FIELD_OF = new Uint8Array(VOCAB)
FIELDS.forEach((f, i) => FIELD_OF.fill(i, FIELD_SLOTS[f].offset, FIELD_SLOTS[f].offset + FIELD_SLOTS[f].size))

export interface MixtureOptions {
  /** Pseudo-sessions pulling a person's distributions toward the household's, per trait. */
  readonly prior: Readonly<Record<Trait, number>>
  /** Exponents of each trait's log-likelihood (1 = the plain model). */
  readonly weights: Readonly<Record<Trait, number>>
  /** Smallest variance of ln watched minutes. */
  readonly durationVarianceFloor: number
}

export const MIXTURE_DEFAULTS: MixtureOptions = {
  prior: { time: 2, weekday: 4, device: 1, genre: 2, duration: 1 },
  weights: { time: 1, weekday: 1, device: 1, genre: 1, duration: 1 },
  durationVarianceFloor: 0.02,
}

/** Observations laid out for the likelihood loops. */
export interface Encoded {
  readonly n: number
  readonly slot: Int32Array
  readonly w: Float64Array
  /** ln watched minutes; NaN when unknown (a session that just opened). */
  readonly dur: Float64Array
}

export function allocEncoded(n: number): Encoded {
  return { n, slot: new Int32Array(n * PAIRS), w: new Float64Array(n * PAIRS), dur: new Float64Array(n) }
}

/** Writes observation o as row i of e; withDuration false leaves the duration unknown. */
export function encodeObservation(o: Observation, e: Encoded, i: number, withDuration = true): void {
  const at = i * PAIRS
  const x = o.hour - 0.5 // bin b is centred on b + 0.5 h
  const lo = Math.floor(x)
  const f = x - lo
  e.slot[at] = ((lo % 24) + 24) % 24
  e.w[at] = 1 - f
  e.slot[at + 1] = (lo + 1 + 24) % 24
  e.w[at + 1] = f
  e.slot[at + 2] = FIELD_SLOTS.weekday.offset + o.weekday
  e.w[at + 2] = 1
  e.slot[at + 3] = FIELD_SLOTS.device.offset + o.device
  e.w[at + 3] = 1
  e.slot[at + 4] = FIELD_SLOTS.genre.offset + o.genre
  e.w[at + 4] = 1
  e.dur[i] = withDuration ? o.logMinutes : NaN
}

/** Sufficient statistics and the distributions derived from them, for k persons. */
export class Mixture {
  /** Σ responsibility × pair weight, per person and slot. */
  readonly counts: Float64Array
  /** Σ responsibilities per person. */
  readonly n: Float64Array
  /** Σ r, Σ r·x, Σ r·x² of ln minutes per person. */
  readonly durW: Float64Array
  readonly durS: Float64Array
  readonly durQ: Float64Array
  /** Weighted ln probabilities per person and slot (derived). */
  readonly logTab: Float64Array
  /** Duration term: ln p = durConst − ½·durPrec·(x − durMean)². */
  readonly durMean: Float64Array
  readonly durPrec: Float64Array
  readonly durConst: Float64Array
  readonly logPi: Float64Array
  private readonly smooth = new Float64Array(24)
  private readonly pooled = new Float64Array(VOCAB)
  private readonly q = new Float64Array(VOCAB)

  constructor(readonly k: number, readonly options: MixtureOptions = MIXTURE_DEFAULTS) {
    this.counts = new Float64Array(k * VOCAB)
    this.n = new Float64Array(k)
    this.durW = new Float64Array(k)
    this.durS = new Float64Array(k)
    this.durQ = new Float64Array(k)
    this.logTab = new Float64Array(k * VOCAB)
    this.durMean = new Float64Array(k)
    this.durPrec = new Float64Array(k).fill(1)
    this.durConst = new Float64Array(k)
    this.logPi = new Float64Array(k).fill(-Math.log(Math.max(1, k)))
  }

  /** Adds row i of e with responsibilities r (k values at rOffset). */
  accumulate(e: Encoded, i: number, r: ArrayLike<number>, rOffset = 0): void {
    const at = i * PAIRS
    const x = e.dur[i]!
    for (let j = 0; j < this.k; j++) {
      const rj = r[rOffset + j]!
      if (rj === 0) continue
      this.n[j] = this.n[j]! + rj
      const base = j * VOCAB
      for (let m = 0; m < PAIRS; m++) this.counts[base + e.slot[at + m]!]! += rj * e.w[at + m]!
      if (!Number.isNaN(x)) {
        this.durW[j] = this.durW[j]! + rj
        this.durS[j] = this.durS[j]! + rj * x
        this.durQ[j] = this.durQ[j]! + rj * x * x
      }
    }
  }

  /** Recomputes the distributions from the statistics (MAP under the household-centred priors). */
  refresh(): void {
    const k = this.k
    const o = this.options
    const pooled = this.pooled.fill(0)
    let total = 0
    for (let j = 0; j < k; j++) {
      total += this.n[j]!
      for (let v = 0; v < VOCAB; v++) pooled[v] = pooled[v]! + this.counts[j * VOCAB + v]!
    }
    const q = this.q
    for (const f of FIELDS) {
      const { offset, size } = FIELD_SLOTS[f]
      const src = f === 'time' ? smoothTime(pooled, 0, this.smooth) : pooled.subarray(offset, offset + size)
      let sum = 0
      for (let v = 0; v < size; v++) sum += src[v]!
      // the household's distribution, with half a session spread evenly so that nothing is impossible
      for (let v = 0; v < size; v++) q[offset + v] = (src[v]! + 0.5 / size) / (sum + 0.5)
    }
    let dW = 0, dS = 0, dQ = 0
    for (let j = 0; j < k; j++) {
      dW += this.durW[j]!
      dS += this.durS[j]!
      dQ += this.durQ[j]!
    }
    const m0 = dW > 0 ? dS / dW : 3
    const v0 = Math.max(o.durationVarianceFloor, dW > 1 ? dQ / dW - m0 * m0 : 1)
    for (let j = 0; j < k; j++) {
      const base = j * VOCAB
      const nj = this.n[j]!
      for (const f of FIELDS) {
        const { offset, size } = FIELD_SLOTS[f]
        const a = o.prior[f]
        const wgt = o.weights[f]
        const src = f === 'time' ? smoothTime(this.counts, base, this.smooth) : this.counts.subarray(base + offset, base + offset + size)
        const norm = Math.log(nj + a)
        for (let v = 0; v < size; v++) this.logTab[base + offset + v] = wgt * (Math.log(src[v]! + a * q[offset + v]!) - norm)
      }
      this.durationTerms(j, m0, v0)
      this.logPi[j] = Math.log((nj + 1) / (total + k))
    }
  }

  /**
   * Person j's duration distribution: the posterior mean of a normal-gamma prior centred on the household
   * (mean m0, variance v0, strength prior.duration), as a plug-in normal.
   */
  private durationTerms(j: number, m0: number, v0: number): void {
    const o = this.options
    const k0 = o.prior.duration
    const w = this.durW[j]!
    const s = this.durS[j]!
    const kn = k0 + w
    const a0 = 1 + k0 / 2
    const an = a0 + w / 2
    const xbar = w > 0 ? s / w : m0
    const scatter = w > 0 ? Math.max(0, this.durQ[j]! - s * xbar) : 0
    const bn = a0 * v0 + 0.5 * scatter + (k0 * w * (xbar - m0) ** 2) / (2 * kn)
    const variance = Math.max(o.durationVarianceFloor, bn / an)
    this.durMean[j] = (k0 * m0 + s) / kn
    this.durPrec[j] = 1 / variance
    this.durConst[j] = -0.5 * Math.log(2 * Math.PI * variance)
  }

  /**
   * ln p(row i | person j) for every j into out (k values at outOffset), without the mixing weights.
   * Traits with weight 0 in mask are skipped (mask: 1 keeps the duration, 0 drops it).
   */
  logLik(e: Encoded, i: number, out: Float64Array, outOffset = 0): void {
    const at = i * PAIRS
    const x = e.dur[i]!
    const wd = this.options.weights.duration
    for (let j = 0; j < this.k; j++) {
      const base = j * VOCAB
      let s = 0
      for (let m = 0; m < PAIRS; m++) s += e.w[at + m]! * this.logTab[base + e.slot[at + m]!]!
      if (!Number.isNaN(x) && wd > 0) {
        const d = x - this.durMean[j]!
        s += wd * (this.durConst[j]! - 0.5 * this.durPrec[j]! * d * d)
      }
      out[outOffset + j] = s
    }
  }

  /** A copy keeping persons `keep` in that order (for merges and removals). */
  select(keep: readonly number[]): Mixture {
    const m = new Mixture(keep.length, this.options)
    keep.forEach((j, to) => {
      m.counts.set(this.counts.subarray(j * VOCAB, (j + 1) * VOCAB), to * VOCAB)
      m.n[to] = this.n[j]!
      m.durW[to] = this.durW[j]!
      m.durS[to] = this.durS[j]!
      m.durQ[to] = this.durQ[j]!
    })
    m.refresh()
    return m
  }

  /** Free parameters for the BIC: k − 1 weights and per person every field's levels in use minus one, plus 2. */
  parameters(levelsInUse: Readonly<Record<Field, number>>): number {
    let per = 2
    for (const f of FIELDS) per += Math.max(0, levelsInUse[f] - 1)
    return this.k * per + this.k - 1
  }
}

/** Circularly smoothed hour counts of the person whose counts start at base. */
function smoothTime(counts: Float64Array, base: number, out: Float64Array): Float64Array {
  const r = (TIME_KERNEL.length - 1) / 2
  for (let b = 0; b < 24; b++) {
    let s = 0
    for (let t = -r; t <= r; t++) s += TIME_KERNEL[t + r]! * counts[base + ((b + t + 24) % 24)]!
    out[b] = s
  }
  return out
}

/** Validates mixture options given as partial overrides. */
export function mixtureOptions(o: { prior?: Partial<Record<Trait, number>>, weights?: Partial<Record<Trait, number>>, durationVarianceFloor?: number } = {}): MixtureOptions {
  const prior = { ...MIXTURE_DEFAULTS.prior, ...o.prior }
  const weights = { ...MIXTURE_DEFAULTS.weights, ...o.weights }
  for (const [name, v] of [...Object.entries(prior), ...Object.entries(weights)]) {
    if (!(Number.isFinite(v) && v >= 0)) throw new OptionError(`mixture ${name} must be a finite number ≥ 0, got ${String(v)}`)
  }
  for (const [name, v] of Object.entries(prior)) {
    if (!(v > 0)) throw new OptionError(`mixture prior ${name} must be > 0, got ${String(v)}`)
  }
  const floor = o.durationVarianceFloor ?? MIXTURE_DEFAULTS.durationVarianceFloor
  if (!(floor > 0 && Number.isFinite(floor))) throw new OptionError(`durationVarianceFloor must be > 0, got ${floor}`)
  return { prior, weights, durationVarianceFloor: floor }
}
