// Exact expected values from issue 6, each derived by hand in a comment (tolerance 1e-9 throughout).
import { describe, expect, it } from 'vitest'
import { attribute, heuristic, hybrid, markov, orderedShapley, PathTable, shapleyExact, shapleySimplified, type Attribution, type Journey } from '../src/attribution/index.js'

const TOL = 9 // toBeCloseTo digits: |x − y| < 0.5e-9

function credit(a: Attribution): Record<string, number> {
  return Object.fromEntries(a.channels.map((c) => [c.channel, c.conversions]))
}
function removal(a: Attribution): Record<string, number | undefined> {
  return Object.fromEntries(a.channels.map((c) => [c.channel, c.removalEffect]))
}
function expectCredit(a: Attribution, expected: Record<string, number>): void {
  const got = credit(a)
  expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort())
  for (const [k, v] of Object.entries(expected)) expect(got[k], `${a.model} ${k}`).toBeCloseTo(v, TOL)
}
const p = (path: string, conversions: number, nulls = 0, value = conversions): Journey => ({ path: path.split(' > '), conversions, nulls, value })

describe('golden: repeated channels A/B (issue 6)', () => {
  const table = PathTable.from([p('A > B > A > B > B > A', 1), p('A > B > B > A > A', 1), p('A > A', 1)])

  // No nulls, so P(conv) = 1. Without A nothing converts: RE_A = 1. Without B, from A: 3 of 8 transitions
  // out of A go to conversion, 2 loop on A, 3 go to B (now null): x = 3/8 + 2/8 x → x = 1/2, RE_B = 1/2.
  // Credit ∝ RE over 3 conversions: A = 3 · 1/1.5 = 2, B = 1.
  it('first-order Markov: removal effects A = 1, B = 0.5; credit A = 2, B = 1', () => {
    const m = markov(table)
    expect(removal(m).A).toBeCloseTo(1, TOL)
    expect(removal(m).B).toBeCloseTo(0.5, TOL)
    expectCredit(m, { A: 2, B: 1 })
  })

  it('collapsing repeats does not change first-order Markov (a self-loop only delays absorption)', () => {
    const m = markov(table, { dedupRepeats: true })
    expect(removal(m).B).toBeCloseTo(0.5, TOL)
    expectCredit(m, { A: 2, B: 1 })
  })

  it('first touch and last touch give all three conversions to A', () => {
    expectCredit(heuristic(table, 'first'), { A: 3, B: 0 })
    expectCredit(heuristic(table, 'last'), { A: 3, B: 0 })
  })

  // linear counts every touch: 3/6 + 3/5 + 2/2 = 2.1 for A, 3/6 + 2/5 = 0.9 for B (so heuristics keep repeats)
  it('linear: A = 2.1, B = 0.9', () => {
    expectCredit(heuristic(table, 'linear'), { A: 2.1, B: 0.9 })
  })
})

describe('golden: C1 > C2 > C3 (issue 6)', () => {
  // start→C1 2/3, start→C2 1/3; C1→C2 1/2, C1→null 1/2; C2→C3 1; C3→conv 1/2, C3→null 1/2.
  // P = 2/3·1/4 + 1/3·1/2 = 1/3. Without C1: 1/3·1/2 = 1/6, RE 1/2; without C2 or C3: 0, RE 1.
  // Credit of one conversion ∝ (1/2, 1, 1) = 0.2, 0.4, 0.4.
  it('first-order Markov: 0.2 / 0.4 / 0.4', () => {
    const table = PathTable.from([p('C1 > C2 > C3', 1), p('C1', 0, 1), p('C2 > C3', 0, 1)])
    const m = markov(table)
    expect(m.conversionProbability).toBeCloseTo(1 / 3, TOL)
    expectCredit(m, { C1: 0.2, C2: 0.4, C3: 0.4 })
    expect(removal(m)).toEqual({ C1: expect.closeTo(0.5, TOL), C2: expect.closeTo(1, TOL), C3: expect.closeTo(1, TOL) })
  })
})

describe('golden: a > b, a > c with nulls (issue 6)', () => {
  // a→b 4/6, a→c 2/6; b→conv 3/4; c→conv 1/2. P = 2/3·3/4 + 1/3·1/2 = 2/3.
  // RE: a 1; b 1 − (1/6)/(2/3) = 3/4; c 1 − (1/2)/(2/3) = 1/4. Sum 2, 4 conversions: 2, 1.5, 0.5.
  it('first-order Markov: a = 2, b = 1.5, c = 0.5', () => {
    const table = PathTable.from([p('a > b', 3, 1), p('a > c', 1, 1)])
    expectCredit(markov(table), { a: 2, b: 1.5, c: 0.5 })
  })
})

describe('golden: Shapley (issue 6)', () => {
  // v({a}) = 4, v({b}) = 0, v({a,b}) = 10: φ_a = ½(4 − 0) + ½(10 − 0) = 7, φ_b = ½(0) + ½(10 − 4) = 3.
  it('a: 4, a > b: 6 → exact Shapley a = 7, b = 3; Markov a = 6.25, b = 3.75', () => {
    const table = PathTable.from([p('a', 4), p('a > b', 6)])
    expectCredit(shapleyExact(table), { a: 7, b: 3 })
    expectCredit(shapleySimplified(table), { a: 7, b: 3 })
    // Markov: a→conv 4/10, a→b 6/10, b→conv 1; RE_a = 1, RE_b = 1 − 0.4 = 0.6; 10 · (1, 0.6)/1.6
    expectCredit(markov(table), { a: 6.25, b: 3.75 })
  })

  // hybrid = w · Markov + (1 − w) · Shapley per channel: w = ½ → a = (6.25 + 7)/2 = 6.625, b = (3.75 + 3)/2 = 3.375;
  // w = ¼ → a = 6.25/4 + 7·¾ = 6.8125, b = 3.75/4 + 3·¾ = 3.1875
  it('a: 4, a > b: 6 → hybrid a = 6.625, b = 3.375 at weight ½; a = 6.8125, b = 3.1875 at weight ¼', () => {
    const table = PathTable.from([p('a', 4), p('a > b', 6)])
    expectCredit(hybrid(table, { markovWeight: 0.5 }), { a: 6.625, b: 3.375 })
    expectCredit(attribute(table, 'hybrid', { markovWeight: 0.25 }), { a: 6.8125, b: 3.1875 })
    expectCredit(hybrid(table, { markovWeight: 1 }), { a: 6.25, b: 3.75 })
    expectCredit(hybrid(table, { markovWeight: 0 }), { a: 7, b: 3 })
    // the measured default weight is 0 (docs/attribution.md, "The hybrid"): Shapley's credit
    expectCredit(hybrid(table), { a: 7, b: 3 })
    expect(() => hybrid(table, { markovWeight: 1.5 })).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }))
  })

  it('a > b > c > d: 10 → Shapley 2.5 each', () => {
    const table = PathTable.from([p('a > b > c > d', 10)])
    expectCredit(shapleyExact(table), { a: 2.5, b: 2.5, c: 2.5, d: 2.5 })
  })

  it('attributes value with the same worth function', () => {
    const table = PathTable.from([p('a', 4, 0, 40), p('a > b', 6, 0, 120)])
    const s = shapleyExact(table)
    // v_value({a}) = 40, v_value({a,b}) = 160: a = ½·40 + ½·160 = 100, b = 60
    expect(s.channels.map((c) => c.value)).toEqual([expect.closeTo(100, TOL), expect.closeTo(60, TOL)])
  })

  it('ordered Shapley credits each distinct channel at the rank of its first touch', () => {
    const table = PathTable.from([p('a', 4), p('b > a > b', 6)])
    const o = orderedShapley(table)
    // a: 4 at rank 1 (path a), 3 at rank 2 (path b > a > b); b: 3 at rank 1
    expect(Array.from(o.conversions[0]!)).toEqual([4, 3])
    expect(Array.from(o.conversions[1]!)).toEqual([3, 0])
  })
})

describe('golden: person level against account level (issue 6)', () => {
  // person 1 touches A and converts, person 2 touches B and does not; merged into the account they read A > B.
  const person = PathTable.from([p('A', 1), p('B', 0, 1)])
  const account = PathTable.from([p('A > B', 1)])

  // Person level, every model: the only converting path is A, so A = 1, B = 0 (Markov: RE_B = 0 since
  // removing B only removes a path to null).
  it.each(['first', 'last', 'linear', 'decay', 'position', 'markov', 'shapley'] as const)('person level, %s: A = 1, B = 0', (model) => {
    expectCredit(attribute(person, model), { A: 1, B: 0 })
  })

  // Account level: linear, position (two touches split 50/50), Shapley and Markov (both RE = 1) give 0.5 each;
  // first/last/decay do not split evenly by definition (first: A = 1, last: B = 1, decay: 1/3, 2/3 at half-life 1).
  it.each(['linear', 'position', 'markov', 'shapley'] as const)('account level, %s: A = 0.5, B = 0.5', (model) => {
    expectCredit(attribute(account, model), { A: 0.5, B: 0.5 })
  })

  it('account level, the order-dependent heuristics: first A = 1, last B = 1, decay A = 1/3, B = 2/3', () => {
    expectCredit(attribute(account, 'first'), { A: 1, B: 0 })
    expectCredit(attribute(account, 'last'), { A: 0, B: 1 })
    expectCredit(attribute(account, 'decay'), { A: 1 / 3, B: 2 / 3 })
  })
})

describe('golden: higher orders and the other heuristics (derived here)', () => {
  // a > c converts 5, b > c is null 5. Order 1 cannot tell the two c's apart: P = 1/2, RE_a = RE_b = 1/2,
  // RE_c = 1 → a = b = 1.25, c = 2.5. Order 2 has states (a,c) → conv and (b,c) → null: RE_a = 1, RE_b = 0,
  // RE_c = 1 → a = 2.5, b = 0, c = 2.5.
  const table = PathTable.from([p('a > c', 5), p('b > c', 0, 5)])
  it('order 1 blurs the history that order 2 keeps', () => {
    expectCredit(markov(table, { order: 1 }), { a: 1.25, b: 1.25, c: 2.5 })
    expectCredit(markov(table, { order: 2 }), { a: 2.5, b: 0, c: 2.5 })
    expectCredit(markov(table, { order: 3 }), { a: 2.5, b: 0, c: 2.5 })
  })

  // order 2 with repeats: a > a > b converts 1, a > b is null 1. States (a), (a,a), (a,b) [shared], so
  // (a,b)→conv 1/2: P = 1/2 and removing either channel gives 0; credit 0.5 each. Collapsed, both paths are
  // a > b (1 conv, 1 null): same numbers. The repeat changes the states, not these removal effects.
  it('dedupRepeats merges rows that become identical', () => {
    const t = PathTable.from([p('a > a > b', 1), p('a > b', 0, 1)])
    expectCredit(markov(t, { order: 2 }), { a: 0.5, b: 0.5 })
    expectCredit(markov(t, { order: 2, dedupRepeats: true }), { a: 0.5, b: 0.5 })
  })

  // position based 40/20/40 on a > b > c > d: 0.4, 0.1, 0.1, 0.4; one touch gets everything.
  it('position based: 40/20/40 with the middle split evenly; a single touch gets 100 %', () => {
    expectCredit(heuristic(PathTable.from([p('a > b > c > d', 1), p('e', 1)]), 'position'), { a: 0.4, b: 0.1, c: 0.1, d: 0.4, e: 1 })
  })

  // decay with half-life 2 touches on a > b > c: weights 2^-1, 2^-1/2, 1 over their sum
  it('time decay on a path table halves a touch\'s weight every halfLife touches back from the last', () => {
    const w = [0.5, Math.SQRT1_2, 1]
    const s = w[0]! + w[1]! + w[2]!
    expectCredit(heuristic(PathTable.from([p('a > b > c', 1)]), 'decay', { halfLife: 2 }), { a: w[0]! / s, b: w[1]! / s, c: w[2]! / s })
  })
})
