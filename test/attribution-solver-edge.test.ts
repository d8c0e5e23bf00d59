// The absorbing-chain solver on the two edge shapes of issue 16, at test size (full size is in
// bench/attribution.ts): one very long path at order 3, where Gauss–Seidel contracts by about 1 − 1/length per
// sweep and cannot converge, and many channels with long paths at order 1, where one solve per channel is the
// cost (the bench's own generators, smaller). 'auto' must finish and agree with a reference solver that converges on the same input to 1e-10.
import { describe, expect, it } from 'vitest'
import { longPathTable as longPath, wideTable } from '../bench/attribution.js'
import { markov, PathTable } from '../src/attribution/index.js'

function expectSame(a: ReturnType<typeof markov>, b: ReturnType<typeof markov>): void {
  expect(Math.abs(a.conversionProbability - b.conversionProbability)).toBeLessThan(1e-10)
  a.channels.forEach((c, i) => {
    expect(Math.abs(c.removalEffect! - b.channels[i]!.removalEffect!)).toBeLessThan(1e-10)
    expect(Math.abs(a.valueRemovalEffects[i]! - b.valueRemovalEffects[i]!)).toBeLessThan(1e-10)
  })
}

describe('Markov solver on edge input', () => {
  it('a 200,000-step path at order 3 is solved by the direct factor and matches dense LU to 1e-10', () => {
    const t = longPath(200_000, 8, 16)
    const auto = markov(t, { order: 3 })
    expect(auto.states).toBeGreaterThan(500) // above the always-direct size, so auto first tries Gauss–Seidel
    expect(auto.solved.full).toBe('direct')
    // every journey ends at the last state with 1 conversion and 1 null: P = 1/2 exactly
    expect(Math.abs(auto.conversionProbability - 0.5)).toBeLessThan(1e-14)
    expectSame(auto, markov(t, { order: 3, solver: 'dense' }))
  })

  it('many channels with long paths at order 1 go through the inverse and match Gauss–Seidel to 1e-10', () => {
    const t = wideTable(280, 3000, 17)
    const auto = markov(t)
    expect(auto.states).toBeGreaterThan(256)
    expect(auto.solved.removed).toBe('inverse')
    expectSame(auto, markov(t, { solver: 'iterative' }))
  })

  it('a state entered only by journeys of zero weight is absorbed with nothing collected, as dense LU has it', () => {
    // the counterexample fast-check found (attribution-properties, seed -139434809): the direct factor saw a row
    // with no outgoing mass as singular
    const only = PathTable.from([{ path: ['a'], conversions: 0, nulls: 0, value: 0 }])
    for (const order of [1, 2]) expectSame(markov(only, { order, solver: 'direct' }), markov(only, { order, solver: 'dense' }))
    const mixed = PathTable.from([{ path: ['a'], conversions: 0, nulls: 0, value: 0 }, { path: ['b', 'a'], conversions: 2, nulls: 1, value: 30 }])
    for (const solver of ['direct', 'auto'] as const) expectSame(markov(mixed, { order: 2, solver }), markov(mixed, { order: 2, solver: 'dense' }))
  })

  it('the forced direct solver matches dense LU on the long path at order 2', () => {
    const t = longPath(50_000, 6, 3)
    expectSame(markov(t, { order: 2, solver: 'direct' }), markov(t, { order: 2, solver: 'dense' }))
  })
})
