// Clustering metrics: the confusion matrix, accuracy under the best one-to-one mapping of predicted to true
// labels, and agreement between two labelings (ARI, NMI). Definitions and sources: docs/metrics.md.
import { maxWeightAssignment } from '../model/hungarian.js'
import { MetricError, indexLabels, sameLength } from './metrics-checks.js'

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
  const { rowSum, colSum } = marginals(cm.counts, cm.predLabels.length, kB)
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
  const { rowSum, colSum } = marginals(cm.counts, kA, kB)
  const mi = mutualInformation(cm.counts, rowSum, colSum, a.length)
  if (mi === 0) return 0 // as sklearn: no shared information scores 0 whatever the normaliser
  return mi / ((entropy(rowSum) + entropy(colSum)) / 2)
}

/** Row and column sums of a kA × kB row-major contingency table. */
function marginals(counts: Int32Array, kA: number, kB: number): { rowSum: Float64Array, colSum: Float64Array } {
  const rowSum = new Float64Array(kA)
  const colSum = new Float64Array(kB)
  for (let r = 0; r < kA; r++) {
    for (let c = 0; c < kB; c++) {
      rowSum[r]! += counts[r * kB + c]!
      colSum[c]! += counts[r * kB + c]!
    }
  }
  return { rowSum, colSum }
}

/** Σ_ij (n_ij/N) ln(N·n_ij / (a_i·b_j)), term by term as sklearn 1.2's mutual_info_score (terms below float64 ε dropped, total clipped at 0). */
function mutualInformation(counts: Int32Array, rowSum: Float64Array, colSum: Float64Array, n: number): number {
  const kA = rowSum.length
  const kB = colSum.length
  if (kA === 1 || kB === 1) return 0
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

/** Shannon entropy (nats) of a marginal of a contingency table (its row or column sums). */
function entropy(sums: Float64Array): number {
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
