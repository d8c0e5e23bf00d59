// The calibration rows of idr eval (docs/metrics.md, "Calibration rows of `idr eval`"): every found person on a
// column of its own, and the unseen mass counted for the viewer when no found person stands for them.
import { describe, expect, it } from 'vitest'
import { scoreHouseholds, type ScoredSession } from '../src/sim/evaluate.js'

const session = (truth: string, final: [string, number][]): ScoredSession =>
  ({ truth, nth: 0, final: final.map(([person, p]) => ({ person, p })), open: undefined })

describe('the calibration rows of idr eval', () => {
  it('counts the unseen mass for a member no found person stands for, and against one that is found', () => {
    // one person found (p1, the best mapping's A); B is nobody's: the 0.3 of unknown is B's
    const rows = [session('A', [['p1', 0.7], ['unknown', 0.3]]), session('A', [['p1', 0.7], ['unknown', 0.3]]), session('B', [['p1', 0.7], ['unknown', 0.3]])]
    const r = scoreHouseholds([{ account: 'acct', k: 1, scored: rows }], 0, 1, null)
    // A's rows: (0.7 − 1)² + 0.3² each; B's: 0.7² + (0.3 − 1)² (the pooled scorer before gave B 0.7² + 1 + 0.3²)
    expect(r.brier).toBeCloseTo((0.18 + 0.18 + 0.98) / 3, 12)
    expect(r.accuracy).toBeCloseTo(2 / 3, 12)
  })

  it('keeps a found person that maps to no one on its own column instead of adding it to unknown', () => {
    // one true person split into p1 (mapped) and p2 (nobody's): p2's sessions are wrong at 0.6, not at 0.6 + 0.1
    const rows = [
      ...Array.from({ length: 6 }, () => session('A', [['p1', 0.6], ['p2', 0.3], ['unknown', 0.1]])),
      ...Array.from({ length: 4 }, () => session('A', [['p2', 0.6], ['p1', 0.3], ['unknown', 0.1]])),
    ]
    const r = scoreHouseholds([{ account: 'acct', k: 2, scored: rows }], 0, 1, null)
    // all ten at confidence 0.6, six right; pooled (the scorer before), p2's four sat at 0.7 with accuracy 0: ECE 0.52
    const used = r.reliability.filter((bin) => bin.count > 0)
    expect(used.map((bin) => bin.count)).toEqual([10])
    expect(used[0]!.meanConfidence).toBeCloseTo(0.6, 12)
    expect(used[0]!.accuracy).toBeCloseTo(0.6, 12)
    expect(r.ece).toBeCloseTo(0, 12)
  })
})
