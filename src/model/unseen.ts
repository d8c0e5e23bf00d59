// "Someone not yet seen": the mass an assignment owes to persons the household has but the model has not
// found, from a posterior over the household's size. The model (docs/model.md, "Honest probabilities"):
//   K ~ prior (household sizes), k̂ − 1 | K, n ~ Binomial(K − 1, d(n)),  d(n) = c·σ(a + b·ln(n + 1)),
// so each member beyond the first is found with a probability d that grows with the closed sessions n. The
// detection curve (a, b, c) is fitted by maximum likelihood over many households' (k̂, n) pairs — no truth
// labels (fitDetection; `idr eval --fit-unseen`). A hidden member's share of sessions is taken as 1/K, so
//   U(k̂, n) = E[(K − k̂) / K | k̂, n].
import { OptionError, checkOptionNames } from '../options/check.js'

/**
 * Household sizes 1…6+ of US households (Census Bureau, America's Families and Living Arrangements 2020,
 * table H1, rounded): the prior when a deployment knows nothing better.
 */
export const CENSUS_SIZE_PRIOR: readonly number[] = Object.freeze([0.28, 0.35, 0.15, 0.13, 0.06, 0.03])

export interface Detection {
  /** Intercept and slope of logit d(n) in ln(n + 1). */
  readonly a: number
  readonly b: number
  /** Ceiling of d: the share of members the model finds however long it watches, (0, 1]. */
  readonly c: number
}

/**
 * Fitted on idr's own prequential runs of the simulator's default scenario and the second generator's habits
 * and mixed tracks (300 households each, fitDetection): the three agree within a grid step (a −4.25…−4.5,
 * b 0.9…1.1, c 1). Where traits carry no signal the model finds almost no one and a deployment's own fit is
 * much flatter (taste, noise: b 0–0.25): fit it there with `idr eval --fit-unseen`.
 */
export const DEFAULT_DETECTION: Detection = Object.freeze({ a: -4.25, b: 1, c: 1 })

export interface UnseenOptions {
  /** P(size = 1 … prior.length); normalised. Default CENSUS_SIZE_PRIOR. */
  prior?: readonly number[]
  /** Default DEFAULT_DETECTION. */
  detection?: Detection
}

/** Sessions beyond which U no longer changes enough to matter (d(n) is flat in ln n there); n is capped to it. */
const N_CAP = 4096

/** U(k̂, n) by a table filled on demand: every household with the same options shares one. */
export class UnseenMass {
  private readonly prior: Float64Array
  private readonly d: Detection
  private readonly table = new Map<number, number>()

  constructor(options: UnseenOptions = {}) {
    checkOptionNames('unseen', options, ['prior', 'detection'])
    this.prior = checkedPrior(options.prior ?? CENSUS_SIZE_PRIOR)
    this.d = checkedDetection(options.detection ?? DEFAULT_DETECTION)
  }

  /** U for k̂ persons found after n closed sessions: in [0, 1), 0 once k̂ reaches the prior's largest size. */
  of(k: number, n: number): number {
    const kh = Math.max(1, Math.min(k, this.prior.length))
    const nn = Math.min(Math.max(0, Math.floor(n)), N_CAP)
    const key = kh * (N_CAP + 1) + nn
    let u = this.table.get(key)
    if (u === undefined) {
      const post = sizePosterior(this.prior, this.d, kh, nn)
      u = 0
      for (let i = kh; i < post.length; i++) u += post[i]! * (i + 1 - kh) / (i + 1)
      this.table.set(key, u)
    }
    return u
  }
}

const shared = new WeakMap<UnseenOptions, UnseenMass>()
let defaultMass: UnseenMass | undefined

/** One table per options object (households given the same options share it); options are checked here. */
export function unseenFor(options: UnseenOptions | undefined): UnseenMass {
  if (options === undefined) return (defaultMass ??= new UnseenMass())
  let m = shared.get(options)
  if (!m) shared.set(options, (m = new UnseenMass(options)))
  return m
}

/** d(n), clamped away from 0 and 1 so every size keeps a finite likelihood. */
export function detectionAt(d: Detection, n: number): number {
  const v = d.c / (1 + Math.exp(-(d.a + d.b * Math.log(n + 1))))
  return Math.min(1 - 1e-9, Math.max(1e-9, v))
}

/** P(K = i + 1 | k̂, n) for i < prior.length (zero below k̂). */
export function sizePosterior(prior: ArrayLike<number>, d: Detection, k: number, n: number): Float64Array {
  const out = new Float64Array(prior.length)
  const sum = sizeWeights(prior, detectionAt(d, n), k, out)
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum
  return out
}

/** prior(K)·P(k̂ | K) for each size into out (when given); returns their sum, P(k̂ | n) (1 ≤ k ≤ prior.length). */
function sizeWeights(prior: ArrayLike<number>, p: number, k: number, out?: Float64Array): number {
  let sum = 0
  for (let i = k - 1; i < prior.length; i++) {
    const w = prior[i]! * Math.exp(logBinomial(i, k - 1, p))
    if (out) out[i] = w
    sum += w
  }
  return sum
}

/** ln P(X = x) for X ~ Binomial(m, p). */
function logBinomial(m: number, x: number, p: number): number {
  return logChoose(m, x) + x * Math.log(p) + (m - x) * Math.log(1 - p)
}

function logChoose(m: number, x: number): number {
  let s = 0
  for (let i = 1; i <= x; i++) s += Math.log((m - x + i) / i)
  return s
}

/** One observation for fitDetection: a household had k̂ persons after n closed sessions. */
export interface SizeObservation {
  readonly k: number
  readonly n: number
}

/** The detection grid fitDetection searches (a and b in steps of 0.25 and 0.1; c in tenths). */
const GRID = {
  a: Array.from({ length: 41 }, (_, i) => -6 + i * 0.25),
  b: Array.from({ length: 21 }, (_, i) => i * 0.1),
  c: [1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2],
} as const

/**
 * The detection curve of highest likelihood Σ ln Σ_K prior(K)·Binomial(k̂ − 1; K − 1, d(n)) over a grid
 * (unsupervised: only how many persons the model found and when). Observations should be spread over each
 * household's life (say every 5th session) so that long histories do not dominate.
 */
export function fitDetection(observations: readonly SizeObservation[], prior: readonly number[] = CENSUS_SIZE_PRIOR): { detection: Detection, logLikelihood: number } {
  const pr = checkedPrior(prior)
  if (observations.length === 0) throw new OptionError('fitDetection needs at least one observation')
  // sizes repeat (k ≤ 6, n the same for many households): each distinct (k, n) is scored once, times its count
  const counts = new Map<number, number>()
  for (const o of observations) {
    const key = Math.max(1, Math.min(o.k, pr.length)) * (N_CAP + 1) + Math.min(Math.max(0, Math.floor(o.n)), N_CAP)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  const distinct = [...counts].map(([key, count]) => ({ k: Math.floor(key / (N_CAP + 1)), n: key % (N_CAP + 1), count }))
  let best = { detection: DEFAULT_DETECTION, logLikelihood: -Infinity }
  for (const c of GRID.c) for (const a of GRID.a) for (const b of GRID.b) {
    const d = { a, b, c }
    let ll = 0
    for (const o of distinct) ll += o.count * Math.log(sizeWeights(pr, detectionAt(d, o.n), o.k))
    if (ll > best.logLikelihood) best = { detection: d, logLikelihood: ll }
  }
  return best
}

function checkedPrior(prior: readonly number[]): Float64Array {
  if (!Array.isArray(prior) || prior.length < 1 || prior.length > 12 || prior.some((p) => !(p >= 0) || !Number.isFinite(p))) {
    throw new OptionError(`unseen.prior must be 1 to 12 non-negative finite numbers (P(size = 1, 2, …)), got ${JSON.stringify(prior)}`)
  }
  const sum = prior.reduce((a, b) => a + b, 0)
  if (!(sum > 0)) throw new OptionError('unseen.prior must not be all zero')
  return Float64Array.from(prior, (p) => p / sum)
}

function checkedDetection(d: Detection): Detection {
  const ok = d && Number.isFinite(d.a) && Number.isFinite(d.b) && d.b >= 0 && d.c > 0 && d.c <= 1
  if (!ok) throw new OptionError(`unseen.detection must be { a: finite, b: finite ≥ 0, c: in (0, 1] }, got ${JSON.stringify(d)}`)
  return { a: d.a, b: d.b, c: d.c }
}
