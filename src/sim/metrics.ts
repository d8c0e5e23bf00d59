// Evaluation metrics: clustering agreement (ARI, NMI), session accuracy under the best one-to-one mapping
// of predicted to true persons, and the quality of the probabilities (Brier, log loss, calibration,
// coverage). Exact definitions, conventions and sources: docs/metrics.md.
import { IdrError } from '../errors.js'
import { maxWeightAssignment } from '../model/hungarian.js'
import { OptionError } from '../options/check.js'

/** Calibration bins (equal width on [0, 1]); 15 as in Guo et al. 2017. */
export const DEFAULT_CALIBRATION_BINS = 15
/** Confidence from which a session's top person counts as "assigned" in coverage. */
export const DEFAULT_COVERAGE_THRESHOLD = 0.85
/** Probabilities are clipped to [eps, 1 − eps] in the log loss (scikit-learn's default before 1.2; 1.2 uses float64 ε). */
export const DEFAULT_LOG_LOSS_EPS = 1e-15
/** How far a probability row's sum may stray from 1. */
export const PROBABILITY_SUM_TOLERANCE = 1e-6

/** Why a metric refused its arguments. */
export type MetricErrorCode =
  | 'BAD_SHAPE' // lengths do not match each other or the stated dimensions
  | 'NOT_FINITE' // NaN or ±Infinity where a finite number is required
  | 'BAD_VALUE' // a finite value outside its domain: negative probability, row not summing to 1, confidence > 1
  | 'BAD_LABEL' // a label that is not a safe integer, a class index out of range, a label missing from a given label set
  | 'BAD_OPTION' // an option out of range (bins < 1, threshold outside [0, 1], eps outside (0, 0.5])
  | 'EMPTY' // a mean over zero items, which has no value

/** A metric was given arguments it cannot honour. */
export class MetricError extends IdrError {
  declare readonly code: MetricErrorCode
  constructor(code: MetricErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Labels and the confusion matrix

/** Optional fixed label sets (in the order wanted for rows / columns); labels with no item get zero counts. */
export interface LabelSets {
  predLabels?: ArrayLike<number>
  trueLabels?: ArrayLike<number>
}

/** Counts of items per (predicted, true) label pair. */
export interface ConfusionMatrix {
  /** Row labels: the given predLabels, else the distinct predicted labels in ascending order. */
  readonly predLabels: readonly number[]
  /** Column labels: the given trueLabels, else the distinct true labels in ascending order. */
  readonly trueLabels: readonly number[]
  /** predLabels.length × trueLabels.length, row-major: counts[p·kTrue + t] items predicted p and truly t. */
  readonly counts: Int32Array
  /** Each item's row (index into predLabels). */
  readonly predIndex: Int32Array
  /** Each item's column (index into trueLabels); usable as `truthIdx` for the probability metrics. */
  readonly trueIndex: Int32Array
}

/** Confusion matrix of integer labels (any safe integers); rows are predicted labels, columns true labels. */
export function confusionMatrix(pred: ArrayLike<number>, truth: ArrayLike<number>, labels: LabelSets = {}): ConfusionMatrix {
  sameLength('pred', pred, 'truth', truth)
  const p = indexLabels('pred', pred, labels.predLabels)
  const t = indexLabels('truth', truth, labels.trueLabels)
  const kTrue = t.labels.length
  const counts = new Int32Array(p.labels.length * kTrue)
  for (let i = 0; i < pred.length; i++) counts[p.index[i]! * kTrue + t.index[i]!]! += 1
  return { predLabels: p.labels, trueLabels: t.labels, counts, predIndex: p.index, trueIndex: t.index }
}

/** Accuracy under the best one-to-one mapping of predicted to true labels. */
export interface BestMapping {
  /** correct / n, in [0, 1]. */
  readonly accuracy: number
  /** Items whose predicted label maps to their true label. */
  readonly correct: number
  readonly n: number
  readonly predLabels: readonly number[]
  readonly trueLabels: readonly number[]
  /** For each predLabels index, the trueLabels index it maps to, or −1 (the shape `mapProbabilities` takes). */
  readonly predToTrue: Int32Array
  /** Every predicted label → its true label, or null when it maps to none. */
  readonly mapping: ReadonlyMap<number, number | null>
}

/**
 * Share of items correctly labelled once predicted labels are renamed by the one-to-one mapping that
 * maximises that share (Hungarian algorithm on the confusion matrix). A predicted label maps to none when
 * there are more predicted than true labels, or when the optimum pairs it with a true label it never
 * co-occurs with (such a pair adds nothing and is dropped).
 */
export function bestMappingAccuracy(pred: ArrayLike<number>, truth: ArrayLike<number>, labels: LabelSets = {}): BestMapping {
  const cm = confusionMatrix(pred, truth, labels)
  const n = pred.length
  if (n === 0) throw new MetricError('EMPTY', 'bestMappingAccuracy needs at least one item')
  const kPred = cm.predLabels.length
  const kTrue = cm.trueLabels.length
  const assigned = maxWeightAssignment(cm.counts, kPred, kTrue)
  const predToTrue = new Int32Array(kPred).fill(-1)
  const mapping = new Map<number, number | null>()
  let correct = 0
  for (let r = 0; r < kPred; r++) {
    const c = assigned[r]!
    const hits = c >= 0 ? cm.counts[r * kTrue + c]! : 0
    if (hits > 0) {
      predToTrue[r] = c
      correct += hits
    }
    mapping.set(cm.predLabels[r]!, hits > 0 ? cm.trueLabels[c]! : null)
  }
  return { accuracy: correct / n, correct, n, predLabels: cm.predLabels, trueLabels: cm.trueLabels, predToTrue, mapping }
}

// ---------------------------------------------------------------------------------------------------------
// Clustering agreement

/**
 * Adjusted Rand index (Hubert & Arabie 1985) between two labelings of the same items; 1 = identical
 * partitions, about 0 for independent ones. Computed as scikit-learn 1.2's adjusted_rand_score (pair counts);
 * 1 when the partitions agree on every pair, which includes fewer than two items.
 */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const cm = confusionMatrix(a, b)
  const n = a.length
  const kB = cm.trueLabels.length
  const rowSum = new Float64Array(cm.predLabels.length)
  const colSum = new Float64Array(kB)
  for (let r = 0; r < rowSum.length; r++) {
    for (let c = 0; c < kB; c++) {
      rowSum[r]! += cm.counts[r * kB + c]!
      colSum[c]! += cm.counts[r * kB + c]!
    }
  }
  // ordered pairs of distinct items: together in both, only in b, only in a, in neither (sklearn's pair_confusion_matrix)
  let sumSquares = 0
  let byRowSum = 0
  let byColSum = 0
  for (let r = 0; r < rowSum.length; r++) {
    for (let c = 0; c < kB; c++) {
      const v = cm.counts[r * kB + c]!
      sumSquares += v * v
      byRowSum += v * rowSum[r]!
      byColSum += v * colSum[c]!
    }
  }
  // products reach n⁴ and pass 2^53 from n ≈ 10⁴; BigInt keeps them exact, as Python's ints do in sklearn
  const tp = BigInt(sumSquares - n)
  const onlyB = BigInt(byColSum - sumSquares)
  const onlyA = BigInt(byRowSum - sumSquares)
  const tn = BigInt(n) * BigInt(n) - onlyB - onlyA - BigInt(sumSquares)
  if (onlyA === 0n && onlyB === 0n) return 1
  const num = 2n * (tp * tn - onlyA * onlyB)
  const den = (tp + onlyA) * (onlyA + tn) + (tp + onlyB) * (onlyB + tn)
  return Number(num) / Number(den)
}

/**
 * Normalised mutual information I(a; b) / ((H(a) + H(b)) / 2), natural logs (Strehl & Ghosh 2002 with
 * the arithmetic mean; scikit-learn's default). As sklearn 1.2: 1 when both labelings have one class or
 * there are no items, 0 when the mutual information is 0 (e.g. exactly one side has a single class).
 */
export function normalizedMutualInfo(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const cm = confusionMatrix(a, b)
  const kA = cm.predLabels.length
  const kB = cm.trueLabels.length
  if ((kA === 1 && kB === 1) || (kA === 0 && kB === 0)) return 1
  const mi = mutualInformation(cm.counts, kA, kB, a.length)
  if (mi === 0) return 0 // as sklearn: no shared information scores 0 whatever the normaliser
  return mi / ((entropy(cm.counts, kA, kB, 'rows') + entropy(cm.counts, kA, kB, 'cols')) / 2)
}

/** Σ_ij (n_ij/N) ln(N·n_ij / (a_i·b_j)), term by term as sklearn 1.2's mutual_info_score (terms below float64 ε dropped, total clipped at 0). */
function mutualInformation(counts: Int32Array, kA: number, kB: number, n: number): number {
  if (kA === 1 || kB === 1) return 0
  const rowSum = new Float64Array(kA)
  const colSum = new Float64Array(kB)
  for (let r = 0; r < kA; r++) {
    for (let c = 0; c < kB; c++) {
      rowSum[r]! += counts[r * kB + c]!
      colSum[c]! += counts[r * kB + c]!
    }
  }
  const logN = Math.log(n)
  let mi = 0
  for (let r = 0; r < kA; r++) {
    for (let c = 0; c < kB; c++) {
      const v = counts[r * kB + c]!
      if (v === 0) continue
      const share = v / n
      const term = share * (Math.log(v) - logN) + share * (-Math.log(rowSum[r]! * colSum[c]!) + logN + logN)
      if (Math.abs(term) >= Number.EPSILON) mi += term
    }
  }
  return Math.max(mi, 0)
}

/** Shannon entropy (nats) of the row or column marginal of a contingency table. */
function entropy(counts: Int32Array, kA: number, kB: number, side: 'rows' | 'cols'): number {
  const k = side === 'rows' ? kA : kB
  const sums = new Float64Array(k)
  for (let r = 0; r < kA; r++) {
    for (let c = 0; c < kB; c++) sums[side === 'rows' ? r : c]! += counts[r * kB + c]!
  }
  let total = 0
  let nonEmpty = 0
  for (const s of sums) {
    total += s
    if (s > 0) nonEmpty++
  }
  if (nonEmpty <= 1) return 0
  const logTotal = Math.log(total)
  let h = 0
  for (const s of sums) if (s > 0) h -= (s / total) * (Math.log(s) - logTotal)
  return h
}

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

// ---------------------------------------------------------------------------------------------------------
// Argument checks

function sameLength(nameA: string, a: ArrayLike<unknown>, nameB: string, b: ArrayLike<unknown>): void {
  if (a.length !== b.length) throw new MetricError('BAD_SHAPE', `${nameA} and ${nameB} differ in length: ${a.length} vs ${b.length}`)
}

function dimension(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new MetricError('BAD_SHAPE', `${name} must be an integer ≥ ${min}, got ${v}`)
}

/** Maps each item's label to an index into the label list (given, or the sorted distinct labels). */
function indexLabels(name: string, values: ArrayLike<number>, given?: ArrayLike<number>): { labels: number[], index: Int32Array } {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isSafeInteger(values[i])) throw new MetricError('BAD_LABEL', `${name}[${i}] is ${values[i]}; labels must be safe integers`)
  }
  let labels: number[]
  if (given === undefined) {
    labels = [...new Set(Array.from(values))].sort((x, y) => x - y)
  } else {
    labels = Array.from(given)
    for (const [j, l] of labels.entries()) {
      if (!Number.isSafeInteger(l)) throw new MetricError('BAD_LABEL', `${name} label set entry ${j} is ${l}; labels must be safe integers`)
    }
  }
  const position = new Map<number, number>()
  for (const [j, l] of labels.entries()) {
    if (position.has(l)) throw new MetricError('BAD_LABEL', `${name} label set lists ${l} twice`)
    position.set(l, j)
  }
  const index = new Int32Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const j = position.get(values[i]!)
    if (j === undefined) throw new MetricError('BAD_LABEL', `${name}[${i}] is ${values[i]}, which the given label set does not list`)
    index[i] = j
  }
  return { labels, index }
}

/** n rows of k probabilities: finite, ≥ 0, each row summing to 1 ± PROBABILITY_SUM_TOLERANCE. */
function checkProbabilities(probs: ArrayLike<number>, n: number, k: number): void {
  for (let i = 0; i < n; i++) {
    let sum = 0
    for (let j = 0; j < k; j++) {
      const p = probs[i * k + j]!
      if (!Number.isFinite(p)) throw new MetricError('NOT_FINITE', `probs[${i}, ${j}] is ${p}; probabilities must be finite`)
      if (p < 0) throw new MetricError('BAD_VALUE', `probs[${i}, ${j}] is ${p}; probabilities must be ≥ 0`)
      sum += p
    }
    if (!(Math.abs(sum - 1) <= PROBABILITY_SUM_TOLERANCE)) {
      throw new MetricError('BAD_VALUE', `probs row ${i} sums to ${sum}; each row must sum to 1 (±${PROBABILITY_SUM_TOLERANCE})`)
    }
  }
}

/** probs is n × k valid probabilities, truthIdx holds n class indices in 0..k−1, and (for means) n ≥ 1. */
function checkScored(probs: ArrayLike<number>, n: number, k: number, truthIdx: ArrayLike<number>, needItems = true): void {
  dimension('n', n, 0)
  dimension('k', k, 1)
  if (probs.length !== n * k) throw new MetricError('BAD_SHAPE', `probs of ${n}×${k} needs ${n * k} values, got ${probs.length}`)
  if (truthIdx.length !== n) throw new MetricError('BAD_SHAPE', `truthIdx has ${truthIdx.length} entries, expected one per row (${n})`)
  if (needItems && n === 0) throw new MetricError('EMPTY', 'a mean over zero rows has no value; pass at least one row')
  checkProbabilities(probs, n, k)
  for (let i = 0; i < n; i++) {
    const y = truthIdx[i]!
    if (!Number.isInteger(y) || y < 0 || y >= k) throw new MetricError('BAD_LABEL', `truthIdx[${i}] is ${y}; expected a class index in 0..${k - 1}`)
  }
}

/** Confidences finite in [0, 1]; correctness flags booleans or 0/1, one per confidence. */
function checkConfidence(confidence: ArrayLike<number>, correct: ArrayLike<number | boolean>): void {
  sameLength('confidence', confidence, 'correct', correct)
  for (let i = 0; i < confidence.length; i++) {
    const c = confidence[i]!
    if (!Number.isFinite(c)) throw new MetricError('NOT_FINITE', `confidence[${i}] is ${c}; finite numbers only`)
    if (c < 0 || c > 1) throw new MetricError('BAD_VALUE', `confidence[${i}] is ${c}; confidences lie in [0, 1]`)
    const ok = correct[i]
    if (ok !== true && ok !== false && ok !== 0 && ok !== 1) {
      throw new MetricError('BAD_VALUE', `correct[${i}] is ${ok}; expected true/false or 1/0`)
    }
  }
}
