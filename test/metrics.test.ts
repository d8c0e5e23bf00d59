// Evaluation metrics against scikit-learn / scipy / numpy golden values, hand-worked examples and properties.
// Golden values from Debian's /usr/bin/python3 (scikit-learn 1.2.1, scipy 1.10.1, numpy 1.24.2), the exact call
// quoted beside each value; `from sklearn.metrics import adjusted_rand_score as ari, normalized_mutual_info_score
// as nmi, log_loss`, `from sklearn.metrics.cluster import contingency_matrix`, `from scipy.optimize import
// linear_sum_assignment`.
import { describe, expect, it } from 'vitest'
import { IdrError } from '../src/errors.js'
import { MetricError } from '../src/sim/metrics-checks.js'
import { adjustedRandIndex, bestMappingAccuracy, confusionMatrix, normalizedMutualInfo } from '../src/sim/metrics-clustering.js'
import {
  brierScore,
  coverageAt,
  expectedCalibrationError,
  mapProbabilities,
  negativeLogLikelihood,
  reliabilityDiagram,
  topLabel,
} from '../src/sim/metrics-probability.js'
import { OptionError } from '../src/options/check.js'

/** Park–Miller MINSTD in [0, 1): exact in JS and Python, so the golden script draws the same labels. */
function minstd(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 48271) % 2147483647
    return s / 2147483647
  }
}

/**
 * n items with truth in 0..3; pred is the truth renamed into {−3, 7, 42, 1000000007} (t → names[(t+1) % 4]),
 * replaced 30% of the time by a uniform draw. Python twin:
 *   t = floor(u()*4); pred = names[(t+1)%4] if u() < 0.7 else names[floor(u()*4)]
 */
function noisyLabels(n: number, seed: number): { pred: number[], truth: number[] } {
  const u = minstd(seed)
  const names = [-3, 7, 42, 1_000_000_007]
  const pred: number[] = []
  const truth: number[] = []
  for (let i = 0; i < n; i++) {
    const t = Math.floor(u() * 4)
    truth.push(t)
    pred.push(u() < 0.7 ? names[(t + 1) % 4]! : names[Math.floor(u() * 4)]!)
  }
  return { pred, truth }
}

function errorCode(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(MetricError)
    expect(e).toBeInstanceOf(IdrError)
    return (e as MetricError).code
  }
  throw new Error('expected a MetricError, got a result')
}

const smallA = [0, 0, 1, 1, 2, 2, 2, 3]
const smallB = [1, 1, 0, 0, 0, 2, 2, 2]

describe('confusion matrix', () => {
  it('counts predicted × true label pairs with sorted labels that need not be 0..k−1', () => {
    const cm = confusionMatrix([10, 10, -4, -4, 10], [3, 1, 1, 1, 3])
    expect(cm.predLabels).toEqual([-4, 10])
    expect(cm.trueLabels).toEqual([1, 3])
    expect(Array.from(cm.counts)).toEqual([2, 0, 1, 2])
    expect(Array.from(cm.predIndex)).toEqual([1, 1, 0, 0, 1])
    expect(Array.from(cm.trueIndex)).toEqual([1, 0, 0, 0, 1])
  })

  it('keeps given label sets in their order, with zero rows for labels nobody got', () => {
    const cm = confusionMatrix([2, 0], [9, 9], { predLabels: [2, 1, 0], trueLabels: [9, 8] })
    expect(cm.predLabels).toEqual([2, 1, 0])
    expect(Array.from(cm.counts)).toEqual([1, 0, 0, 0, 1, 0])
  })
})

describe('best-mapping accuracy', () => {
  it('matches scipy\'s assignment on the confusion matrix (0.75 on the small example)', () => {
    // cm = contingency_matrix(b, a); r, c = linear_sum_assignment(cm, maximize=True); cm[r, c].sum() / n -> 0.75
    const r = bestMappingAccuracy(smallA, smallB)
    expect(r.accuracy).toBe(0.75)
    expect(r.correct).toBe(6)
    expect(r.mapping.get(0)).toBe(1)
    expect(r.mapping.get(1)).toBe(0)
    expect(r.mapping.get(2)).toBe(2)
    expect(r.mapping.get(3)).toBe(null) // 3 only co-occurs with true 2, which 2 (two items) already holds
  })

  it('matches scipy on 300 noisy labels with arbitrary integer names (0.75)', () => {
    // pred, truth = noisy_labels(300, 2024); same contingency + linear_sum_assignment -> 0.75
    const { pred, truth } = noisyLabels(300, 2024)
    const r = bestMappingAccuracy(pred, truth)
    expect(r.accuracy).toBe(0.75)
    expect(r.mapping.get(7)).toBe(0) // the renaming t → names[(t+1) % 4] is recovered
    expect(r.mapping.get(1_000_000_007)).toBe(2)
  })

  it('matches scipy with fewer and with more predicted than true persons (0.6 and 0.5)', () => {
    // 3 predicted vs 4 true: 0.6; 5 predicted vs 4 true: 0.5 (same scipy snippet)
    expect(bestMappingAccuracy([0, 0, 0, 1, 1, 2, 2, 2, 2, 0], [5, 5, 6, 6, 6, 7, 7, 8, 8, 8]).accuracy).toBeCloseTo(0.6, 15)
    const five = bestMappingAccuracy([0, 1, 2, 3, 4, 4, 3, 1, 0, 2], [1, 1, 2, 2, 3, 3, 4, 4, 4, 1])
    expect(five.accuracy).toBeCloseTo(0.5, 15)
    expect([...five.mapping.values()].filter((t) => t === null)).toHaveLength(1)
  })

  it('is 1 for perfect predictions under any renaming', () => {
    const truth = [4, 4, 9, 1, 1, 9, 4]
    const rename = new Map([[4, 0], [9, -7], [1, 30]])
    expect(bestMappingAccuracy(truth.map((t) => rename.get(t)!), truth).accuracy).toBe(1)
  })

  it('does not change when the predicted labels are permuted', () => {
    const { pred, truth } = noisyLabels(300, 99)
    const perm = new Map([[-3, 42], [7, -3], [42, 1_000_000_007], [1_000_000_007, 7]])
    const before = bestMappingAccuracy(pred, truth).accuracy
    expect(before).toBeLessThan(1)
    expect(bestMappingAccuracy(pred.map((p) => perm.get(p)!), truth).accuracy).toBe(before)
  })

  it('maps a predicted person that shares no item with its optimal partner to none', () => {
    // pred 1 and 2 compete for true 0; the optimum gives true 0 to pred 1 and leaves pred 2 the unused true 9,
    // with which it never co-occurs: no credit, so it maps to none
    const r = bestMappingAccuracy([1, 1, 2, 3], [0, 0, 0, 5], { trueLabels: [0, 5, 9] })
    expect(r.mapping.get(2)).toBe(null)
    expect(Array.from(r.predToTrue)).toEqual([0, -1, 1])
    expect(r.accuracy).toBe(0.75)
  })
})

describe('normalised mutual information and adjusted Rand index', () => {
  it('match scikit-learn on the small example (NMI 0.70202, ARI 0.36842)', () => {
    // normalized_mutual_info_score(a, b) -> 0.7020168761809934; adjusted_rand_score(a, b) -> 0.3684210526315789
    expect(normalizedMutualInfo(smallA, smallB)).toBeCloseTo(0.7020168761809934, 14)
    expect(adjustedRandIndex(smallA, smallB)).toBeCloseTo(0.3684210526315789, 14)
  })

  it('match scikit-learn on 300 noisy labels (NMI 0.40665, ARI 0.44645)', () => {
    // nmi(truth, pred) -> 0.40665469887594224; ari(truth, pred) -> 0.44645438152506745
    const { pred, truth } = noisyLabels(300, 2024)
    expect(normalizedMutualInfo(truth, pred)).toBeCloseTo(0.40665469887594224, 13)
    expect(adjustedRandIndex(truth, pred)).toBeCloseTo(0.44645438152506745, 13)
  })

  it('are symmetric in their arguments', () => {
    const { pred, truth } = noisyLabels(500, 7)
    expect(normalizedMutualInfo(pred, truth)).toBeCloseTo(normalizedMutualInfo(truth, pred), 14)
    expect(adjustedRandIndex(pred, truth)).toBeCloseTo(adjustedRandIndex(truth, pred), 14)
    expect(normalizedMutualInfo(pred, truth)).toBeLessThan(1)
  })

  it('give exactly 0 NMI for independent labelings with unequal groups, dropping rounding residue as sklearn does', () => {
    // contingency [[10, 4], [20, 8]] = outer([2, 4], [5, 2]): the MI terms cancel up to 1e-16
    // nmi(a, b) -> 0.0; adjusted_rand_score(a, b) -> -0.01839926402943882
    const a = [...Array<number>(14).fill(0), ...Array<number>(28).fill(1)]
    const b = [...Array<number>(10).fill(0), ...Array<number>(4).fill(1), ...Array<number>(20).fill(0), ...Array<number>(8).fill(1)]
    expect(normalizedMutualInfo(a, b)).toBe(0)
    expect(adjustedRandIndex(a, b)).toBeCloseTo(-0.01839926402943882, 15)
  })

  // scikit-learn 1.2.1 on the degenerate cases: (nmi(a, b), adjusted_rand_score(a, b))
  it.each([
    ['no items', [], [], 1, 1],
    ['one class on both sides', [5, 5, 5], [7, 7, 7], 1, 1],
    ['one class on one side only', [0, 0, 1, 1], [3, 3, 3, 3], 0, 0],
    ['singletons against one class', [0, 1, 2, 3], [0, 0, 0, 0], 0, 0],
    ['independent labelings', [0, 0, 1, 1], [0, 1, 0, 1], 0, -0.5],
    ['singletons on both sides', [0, 1, 2], [5, 6, 7], 1, 1],
    ['a single item', [3], [4], 1, 1],
  ])('follow scikit-learn on %s', (_name, a, b, nmi, ari) => {
    expect(normalizedMutualInfo(a, b)).toBe(nmi)
    expect(adjustedRandIndex(a, b)).toBe(ari)
  })
})

describe('probability scores', () => {
  // y = [0, 1, 0, 2, 0]; the third row gives the true class probability 0 (clipped), the last gives it 1
  const P = Float64Array.of(0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.0, 1.0, 0.0, 0.25, 0.25, 0.5, 1.0, 0.0, 0.0)
  const y = [0, 1, 0, 2, 0]

  it('log loss matches sklearn.metrics.log_loss with eps 1e-15 (7.16235) and with its 1.2 default ε (7.46332)', () => {
    // log_loss(y, P, eps=1e-15, labels=[0, 1, 2]) -> 7.162348414144715
    // log_loss(y, P, labels=[0, 1, 2]) -> 7.463323812986009 (sklearn 1.2's eps="auto" = float64 machine ε)
    // sklearn also renormalises the clipped rows, which moves these by less than 1e-15
    expect(negativeLogLikelihood(P, 5, 3, y)).toBeCloseTo(7.162348414144715, 13)
    expect(negativeLogLikelihood(P, 5, 3, y, Number.EPSILON)).toBeCloseTo(7.463323812986009, 13)
  })

  it('log loss clips with the given eps', () => {
    // only the third row changes: −ln 1e-15 → −ln 0.01; the rest sum to −ln .7 − ln .8 − ln .5 (+ −ln(1 − 0.01) for the last)
    const expected = (-Math.log(0.7) - Math.log(0.8) - Math.log(0.01) - Math.log(0.5) - Math.log(0.99)) / 5
    expect(negativeLogLikelihood(P, 5, 3, y, 0.01)).toBeCloseTo(expected, 14)
  })

  it('Brier score matches numpy (0.515)', () => {
    // numpy: np.mean(np.sum((P - np.eye(3)[y]) ** 2, axis=1)) -> 0.515
    // by hand: (0.14 + 0.06 + 2 + 0.375 + 0) / 5
    expect(brierScore(P, 5, 3, y)).toBeCloseTo(0.515, 15)
  })

  it('top label takes the first maximum and checks it against the truth', () => {
    const { confidence, correct } = topLabel(P, 5, 3, y)
    expect(Array.from(confidence)).toEqual([0.7, 0.8, 1.0, 0.5, 1.0])
    expect(Array.from(correct)).toEqual([1, 1, 0, 1, 1])
    expect(Array.from(topLabel(Float64Array.of(0.5, 0.5), 1, 2, [1]).correct)).toEqual([0])
  })
})

describe('mapping probabilities onto true persons', () => {
  it('sums mapped columns and puts the mass of unmapped ones in a last, always-wrong column', () => {
    // predicted columns 0, 1, 2 → true 1, none, 0
    const out = mapProbabilities(Float64Array.of(0.5, 0.3, 0.2, 0.1, 0.1, 0.8), 3, Int32Array.of(1, -1, 0), 2)
    expect(Array.from(out)).toEqual([0.2, 0.5, 0.3, 0.8, 0.1, 0.1])
    // truth 0 for both rows: Brier = ((0.8² + 0.5² + 0.3²) + (0.2² + 0.1² + 0.1²)) / 2
    expect(brierScore(out, 2, 3, [0, 0])).toBeCloseTo((0.98 + 0.06) / 2, 14)
  })

  it('feeds the evaluation end to end: best mapping, mapped probabilities, log loss', () => {
    // model columns 0..2; column 2 never wins a session, so it maps to none and its mass is wrong
    const probs = Float64Array.of(0.9, 0.05, 0.05, 0.1, 0.6, 0.3, 0.2, 0.7, 0.1, 0.8, 0.1, 0.1)
    const pred = [0, 1, 1, 0]
    const truth = [11, 22, 22, 11]
    const best = bestMappingAccuracy(pred, truth, { predLabels: [0, 1, 2] })
    expect(best.accuracy).toBe(1)
    expect(Array.from(best.predToTrue)).toEqual([0, 1, -1])
    const mapped = mapProbabilities(probs, 3, best.predToTrue, best.trueLabels.length)
    const truthIdx = confusionMatrix(pred, truth).trueIndex
    expect(negativeLogLikelihood(mapped, 4, 3, truthIdx)).toBeCloseTo(-(Math.log(0.9) + Math.log(0.6) + Math.log(0.7) + Math.log(0.8)) / 4, 14)
  })
})

describe('calibration', () => {
  // Worked by hand, 10 items, 5 bins (0, .2], (.2, .4], (.4, .6], (.6, .8], (.8, 1] (the first also holds 0;
  // 0.2 and 0.4 sit on upper edges, so they belong to the lower bin):
  //   (.8, 1]:  .9✓ .9✓ .9✗ 1.0✓ → n 4, conf .925, acc .75 → 4/10 · .175 = .070
  //   (.6, .8]: .7✓ .65✗         → n 2, conf .675, acc .5  → 2/10 · .175 = .035
  //   (.4, .6]: .5✓              → n 1, conf .5,   acc 1   → 1/10 · .5   = .050
  //   (.2, .4]: .4✗              → n 1, conf .4,   acc 0   → 1/10 · .4   = .040
  //   [0, .2]:  .2✓ 0✗           → n 2, conf .1,   acc .5  → 2/10 · .4   = .080
  //   ECE = .275
  const conf = [0.9, 0.9, 0.9, 1.0, 0.7, 0.65, 0.5, 0.4, 0.2, 0]
  const hits = [true, true, false, true, true, false, true, false, true, false]

  it('ECE equals the hand-worked 0.275 with 5 bins, upper bin edges inclusive', () => {
    expect(expectedCalibrationError(conf, hits, 5)).toBeCloseTo(0.275, 14)
  })

  it('the reliability diagram lists each bin with its count, mean confidence and accuracy', () => {
    const d = reliabilityDiagram(conf, hits, 5)
    expect(d.map((b) => b.count)).toEqual([2, 1, 1, 2, 4])
    expect(d[0]).toEqual({ lo: 0, hi: 0.2, count: 2, meanConfidence: 0.1, accuracy: 0.5 })
    expect(d[1]!.accuracy).toBe(0)
    expect(d[4]!.meanConfidence).toBeCloseTo(0.925, 15)
    expect(d[4]!.accuracy).toBe(0.75)
    expect(reliabilityDiagram([0.95], [true])[7]).toEqual({ lo: 7 / 15, hi: 8 / 15, count: 0, meanConfidence: null, accuracy: null })
  })

  it('ECE is small for a perfectly calibrated sample and large for an overconfident one', () => {
    // correct ~ Bernoulli(confidence): ECE → 0 (sampling noise ≈ 0.01 with 20 000 items in 15 bins);
    // correct ~ Bernoulli(confidence²): ECE → E[c − c²] = 1/6
    const u = minstd(4711)
    const n = 20_000
    const c = Float64Array.from({ length: n }, () => u())
    const calibrated = Array.from(c, (p) => u() < p)
    const overconfident = Array.from(c, (p) => u() < p * p)
    expect(expectedCalibrationError(c, calibrated)).toBeLessThan(0.02)
    expect(expectedCalibrationError(c, overconfident)).toBeCloseTo(1 / 6, 1)
  })

  it('coverage counts confidences at or above the threshold and the accuracy among them', () => {
    // ≥ .85: .9✓ .9✓ .9✗ 1.0✓ → coverage 4/10, accuracy 3/4
    expect(coverageAt(conf, hits)).toEqual({ coverage: 0.4, accuracy: 0.75, covered: 4, n: 10 })
    expect(coverageAt(conf, hits, 0.9)).toEqual({ coverage: 0.4, accuracy: 0.75, covered: 4, n: 10 })
    expect(coverageAt(conf, hits, 1)).toEqual({ coverage: 0.1, accuracy: 1, covered: 1, n: 10 })
  })

  it('coverage reports accuracy 0, not NaN, when nothing reaches the threshold', () => {
    expect(coverageAt([0.5, 0.6], [1, 1], 0.85)).toEqual({ coverage: 0, accuracy: 0, covered: 0, n: 2 })
  })
})

describe('metric argument checks', () => {
  const ok = Float64Array.of(0.5, 0.5, 0.25, 0.75)

  it('refuses labelings of different lengths', () => {
    expect(errorCode(() => adjustedRandIndex([1, 2], [1]))).toBe('BAD_SHAPE')
    expect(errorCode(() => normalizedMutualInfo([1], [1, 2]))).toBe('BAD_SHAPE')
    expect(errorCode(() => bestMappingAccuracy([1, 2, 3], [1, 2]))).toBe('BAD_SHAPE')
  })

  it('refuses labels that are not safe integers, or missing from a given label set, or listed twice', () => {
    expect(errorCode(() => confusionMatrix([0, 1.5], [0, 1]))).toBe('BAD_LABEL')
    expect(errorCode(() => normalizedMutualInfo([0, NaN], [0, 1]))).toBe('BAD_LABEL')
    expect(errorCode(() => confusionMatrix([0, 3], [0, 1], { predLabels: [0, 1] }))).toBe('BAD_LABEL')
    expect(errorCode(() => confusionMatrix([0, 1], [0, 1], { trueLabels: [0, 1, 1] }))).toBe('BAD_LABEL')
  })

  it('refuses probabilities that are not finite, negative, or rows that do not sum to 1 within 1e-6', () => {
    expect(errorCode(() => brierScore(Float64Array.of(NaN, 1), 1, 2, [0]))).toBe('NOT_FINITE')
    expect(errorCode(() => brierScore(Float64Array.of(-0.1, 1.1), 1, 2, [0]))).toBe('BAD_VALUE')
    expect(errorCode(() => negativeLogLikelihood(Float64Array.of(0.5, 0.49), 1, 2, [0]))).toBe('BAD_VALUE')
    expect(errorCode(() => mapProbabilities(Float64Array.of(0.5, 0.6), 2, [0, 1], 2))).toBe('BAD_VALUE')
    expect(brierScore(Float64Array.of(0.5, 0.5 + 5e-7), 1, 2, [0])).toBeCloseTo(0.25 + (0.5 + 5e-7) ** 2, 15) // inside the tolerance
  })

  it('refuses shapes that do not match and class indices out of range', () => {
    expect(errorCode(() => brierScore(ok, 2, 3, [0, 1]))).toBe('BAD_SHAPE')
    expect(errorCode(() => brierScore(ok, 2, 2, [0]))).toBe('BAD_SHAPE')
    expect(errorCode(() => brierScore(ok, 2, 2, [0, 2]))).toBe('BAD_LABEL')
    expect(errorCode(() => mapProbabilities(ok, 3, [0, 1, 2], 3))).toBe('BAD_SHAPE')
    expect(errorCode(() => mapProbabilities(ok, 2, [0], 3))).toBe('BAD_SHAPE')
    expect(errorCode(() => mapProbabilities(ok, 2, [0, 3], 3))).toBe('BAD_LABEL')
  })

  it('refuses means over nothing', () => {
    expect(errorCode(() => brierScore(new Float64Array(0), 0, 2, []))).toBe('EMPTY')
    expect(errorCode(() => negativeLogLikelihood(new Float64Array(0), 0, 2, []))).toBe('EMPTY')
    expect(errorCode(() => expectedCalibrationError([], []))).toBe('EMPTY')
    expect(errorCode(() => coverageAt([], []))).toBe('EMPTY')
    expect(errorCode(() => bestMappingAccuracy([], []))).toBe('EMPTY')
  })

  it('refuses options out of range: bins, eps, threshold', () => {
    const option = (fn: () => unknown): unknown => { try { fn() } catch (e) { return e } }
    for (const fn of [() => expectedCalibrationError([0.5], [1], 0), () => reliabilityDiagram([0.5], [1], 2.5), () => negativeLogLikelihood(ok, 2, 2, [0, 1], 0), () => coverageAt([0.5], [1], 1.2)]) {
      expect(option(fn)).toBeInstanceOf(OptionError)
      expect((option(fn) as OptionError).code).toBe('BAD_OPTION')
    }
  })

  it('refuses confidences outside [0, 1] and correctness flags other than booleans or 0/1', () => {
    expect(errorCode(() => expectedCalibrationError([1.2], [1]))).toBe('BAD_VALUE')
    expect(errorCode(() => coverageAt([NaN], [1]))).toBe('NOT_FINITE')
    expect(errorCode(() => reliabilityDiagram([0.5], [2]))).toBe('BAD_VALUE')
    expect(errorCode(() => coverageAt([0.5, 0.5], [1]))).toBe('BAD_SHAPE')
  })
})
