// Metrics of the probabilities: mapping them onto the true persons, Brier score, log loss, top-label
// confidence, calibration (reliability diagram, ECE) and coverage. Definitions and sources: docs/metrics.md.
import { OptionError } from '../options/check.js'
import { MetricError, checkConfidence, checkProbabilities, checkScored, dimension } from './metrics-checks.js'

/** Calibration bins (equal width on [0, 1]); 15 as in Guo et al. 2017. */
export const DEFAULT_CALIBRATION_BINS = 15
/** Confidence from which a session's top person counts as "assigned" in coverage. */
export const DEFAULT_COVERAGE_THRESHOLD = 0.85
/** Probabilities are clipped to [eps, 1 − eps] in the log loss (scikit-learn's default before 1.2; 1.2 uses float64 ε). */
export const DEFAULT_LOG_LOSS_EPS = 1e-15

// ---------------------------------------------------------------------------------------------------------
// Probabilities

/**
 * Re-expresses n × kPred person probabilities over the true persons: column t of the n × (kTrue + 1)
 * result sums the predicted columns p with predToTrue[p] = t; the last column collects the mass of
 * predicted columns mapped to none (−1), so it always counts as wrong.
 */
export function mapProbabilities(probs: ArrayLike<number>, kPred: number, predToTrue: ArrayLike<number>, kTrue: number): Float64Array {
  dimension('kPred', kPred, 1)
  dimension('kTrue', kTrue, 0)
  if (probs.length % kPred !== 0) {
    throw new MetricError('BAD_SHAPE', `probs has ${probs.length} values, not a multiple of kPred = ${kPred}`)
  }
  const n = probs.length / kPred
  checkProbabilities(probs, n, kPred)
  if (predToTrue.length !== kPred) {
    throw new MetricError('BAD_SHAPE', `predToTrue has ${predToTrue.length} entries, expected one per predicted column (${kPred})`)
  }
  for (let p = 0; p < kPred; p++) {
    const t = predToTrue[p]!
    if (!Number.isInteger(t) || t < -1 || t >= kTrue) {
      throw new MetricError('BAD_LABEL', `predToTrue[${p}] is ${t}; expected a true column in 0..${kTrue - 1} or −1 for none`)
    }
  }
  const width = kTrue + 1
  const out = new Float64Array(n * width)
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < kPred; p++) {
      const t = predToTrue[p]!
      out[i * width + (t === -1 ? kTrue : t)]! += probs[i * kPred + p]!
    }
  }
  return out
}

/** Multi-class Brier score (Brier 1950): mean over rows of Σ_j (p_ij − 1[j = y_i])², in [0, 2]. */
export function brierScore(probs: ArrayLike<number>, n: number, k: number, truthIdx: ArrayLike<number>): number {
  checkScored(probs, n, k, truthIdx)
  let total = 0
  for (let i = 0; i < n; i++) {
    const y = truthIdx[i]!
    let row = 0
    for (let j = 0; j < k; j++) {
      const d = probs[i * k + j]! - (j === y ? 1 : 0)
      row += d * d
    }
    total += row
  }
  return total / n
}

/** Mean negative log-likelihood (log loss, nats) of the true class: mean −ln clip(p_iy, eps, 1 − eps). */
export function negativeLogLikelihood(
  probs: ArrayLike<number>,
  n: number,
  k: number,
  truthIdx: ArrayLike<number>,
  eps = DEFAULT_LOG_LOSS_EPS,
): number {
  if (!(eps > 0 && eps <= 0.5)) throw new OptionError(`eps must be in (0, 0.5], got ${eps}`)
  checkScored(probs, n, k, truthIdx)
  let total = 0
  for (let i = 0; i < n; i++) {
    const p = probs[i * k + truthIdx[i]!]!
    total -= Math.log(Math.min(Math.max(p, eps), 1 - eps))
  }
  return total / n
}

/** Each row's top-label confidence max_j p_ij and whether that label (first on ties) is the true one. */
export function topLabel(
  probs: ArrayLike<number>,
  n: number,
  k: number,
  truthIdx: ArrayLike<number>,
): { confidence: Float64Array, correct: Uint8Array } {
  checkScored(probs, n, k, truthIdx, false)
  const confidence = new Float64Array(n)
  const correct = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    let best = 0
    for (let j = 1; j < k; j++) if (probs[i * k + j]! > probs[i * k + best]!) best = j
    confidence[i] = probs[i * k + best]!
    correct[i] = best === truthIdx[i] ? 1 : 0
  }
  return { confidence, correct }
}

// ---------------------------------------------------------------------------------------------------------
// Calibration and coverage

/** One equal-width confidence bin (lo, hi] (the first also holds confidence 0). */
export interface ReliabilityBin {
  readonly lo: number
  readonly hi: number
  readonly count: number
  /** Mean confidence of the bin's items; null when the bin is empty. */
  readonly meanConfidence: number | null
  /** Share of the bin's items that are correct; null when the bin is empty. */
  readonly accuracy: number | null
}

/** Per-bin count, mean confidence and accuracy over `bins` equal-width bins of [0, 1] (Guo et al. 2017, §2). */
export function reliabilityDiagram(
  confidence: ArrayLike<number>,
  correct: ArrayLike<number | boolean>,
  bins = DEFAULT_CALIBRATION_BINS,
): ReliabilityBin[] {
  const { count, confSum, hitSum } = binned(confidence, correct, bins)
  return Array.from(count, (c, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: c,
    meanConfidence: c > 0 ? confSum[b]! / c : null,
    accuracy: c > 0 ? hitSum[b]! / c : null,
  }))
}

/** Expected calibration error (Guo et al. 2017, eq. 3): Σ_b (n_b / n)·|acc_b − conf_b| over equal-width bins. */
export function expectedCalibrationError(
  confidence: ArrayLike<number>,
  correct: ArrayLike<number | boolean>,
  bins = DEFAULT_CALIBRATION_BINS,
): number {
  const { count, confSum, hitSum } = binned(confidence, correct, bins)
  if (confidence.length === 0) throw new MetricError('EMPTY', 'expectedCalibrationError needs at least one item')
  // (n_b / n)·|acc_b − conf_b| = |Σ_b correct − Σ_b confidence| / n
  let ece = 0
  for (let b = 0; b < bins; b++) if (count[b]! > 0) ece += Math.abs(hitSum[b]! - confSum[b]!)
  return ece / confidence.length
}

/** Share of items with confidence ≥ threshold, and accuracy among them. */
export interface Coverage {
  /** covered / n, in [0, 1]. */
  readonly coverage: number
  /** correct among the covered / covered; 0 when nothing is covered (abstaining earns no credit). */
  readonly accuracy: number
  readonly covered: number
  readonly n: number
}

/** Coverage and selective accuracy at a confidence threshold (inclusive). */
export function coverageAt(
  confidence: ArrayLike<number>,
  correct: ArrayLike<number | boolean>,
  threshold = DEFAULT_COVERAGE_THRESHOLD,
): Coverage {
  if (!(threshold >= 0 && threshold <= 1)) throw new OptionError(`threshold must be in [0, 1], got ${threshold}`)
  checkConfidence(confidence, correct)
  const n = confidence.length
  if (n === 0) throw new MetricError('EMPTY', 'coverageAt needs at least one item')
  let covered = 0
  let hits = 0
  for (let i = 0; i < n; i++) {
    if (confidence[i]! >= threshold) {
      covered++
      if (correct[i]) hits++
    }
  }
  return { coverage: covered / n, accuracy: covered > 0 ? hits / covered : 0, covered, n }
}

/** Index of the bin (lo, hi] = (b/bins, (b+1)/bins] holding c, with 0 in bin 0; exact at the boundaries. */
function binOf(c: number, bins: number): number {
  let b = Math.min(bins - 1, Math.max(0, Math.ceil(c * bins) - 1))
  // c·bins can round across a boundary; settle against the same lo/hi the diagram reports
  while (b > 0 && c <= b / bins) b--
  while (b < bins - 1 && c > (b + 1) / bins) b++
  return b
}

function binned(confidence: ArrayLike<number>, correct: ArrayLike<number | boolean>, bins: number) {
  if (!Number.isInteger(bins) || bins < 1) throw new OptionError(`bins must be an integer ≥ 1, got ${bins}`)
  checkConfidence(confidence, correct)
  const count = new Float64Array(bins)
  const confSum = new Float64Array(bins)
  const hitSum = new Float64Array(bins)
  for (let i = 0; i < confidence.length; i++) {
    const b = binOf(confidence[i]!, bins)
    count[b]! += 1
    confSum[b]! += confidence[i]!
    if (correct[i]) hitSum[b]! += 1
  }
  return { count, confSum, hitSum }
}
