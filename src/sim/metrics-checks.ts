// Argument checks of the evaluation metrics and the error they throw: shapes, labels, probability rows, confidences.
import { IdrError } from '../errors.js'

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

/** Both arrays hold one entry per item. */
export function sameLength(nameA: string, a: ArrayLike<unknown>, nameB: string, b: ArrayLike<unknown>): void {
  if (a.length !== b.length) throw new MetricError('BAD_SHAPE', `${nameA} and ${nameB} differ in length: ${a.length} vs ${b.length}`)
}

/** A dimension (row or column count) is an integer ≥ min. */
export function dimension(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new MetricError('BAD_SHAPE', `${name} must be an integer ≥ ${min}, got ${v}`)
}

/** Maps each item's label to an index into the label list (given, or the sorted distinct labels). */
export function indexLabels(name: string, values: ArrayLike<number>, given?: ArrayLike<number>): { labels: number[], index: Int32Array } {
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
export function checkProbabilities(probs: ArrayLike<number>, n: number, k: number): void {
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
export function checkScored(probs: ArrayLike<number>, n: number, k: number, truthIdx: ArrayLike<number>, needItems = true): void {
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
export function checkConfidence(confidence: ArrayLike<number>, correct: ArrayLike<number | boolean>): void {
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
