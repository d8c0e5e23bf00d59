// Properties every model must keep on random path tables (fast-check): conservation, invariance under
// channel renaming and row order, removal effects in [0, 1], the Shapley axioms, solver agreement.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { attribute, buildChain, markov, MODELS, orderedShapley, PathTable, shapleyExact, shapleyFromWorth, shapleySimplified, type Attribution, type Journey } from '../src/attribution/index.js'

const CHANNELS = ['a', 'b', 'c', 'd', 'e']

const journey: fc.Arbitrary<Journey> = fc.record({
  path: fc.array(fc.constantFrom(...CHANNELS), { minLength: 1, maxLength: 7 }),
  conversions: fc.integer({ min: 0, max: 20 }),
  nulls: fc.integer({ min: 0, max: 20 }),
  value: fc.double({ min: 0, max: 1000, noNaN: true }),
}).map((j) => ({ ...j, value: j.conversions === 0 ? 0 : j.value }))

const journeys = fc.array(journey, { minLength: 1, maxLength: 25 })

function byChannel(a: Attribution): Map<string, { conversions: number, value: number, removalEffect?: number }> {
  return new Map(a.channels.map((c) => [c.channel, c]))
}
function close(a: number, b: number, scale = 1): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, scale, Math.abs(a), Math.abs(b))
}

describe('attribution properties', () => {
  it('every model attributes exactly the total conversions and the total value', () => {
    fc.assert(fc.property(journeys, fc.integer({ min: 1, max: 3 }), (js, order) => {
      const t = PathTable.from(js)
      for (const model of MODELS) {
        const a = attribute(t, model, { order })
        const conv = a.channels.reduce((s, c) => s + c.conversions, 0)
        const value = a.channels.reduce((s, c) => s + c.value, 0)
        expect(close(conv, t.totalConversions()), `${model} conversions ${conv} vs ${t.totalConversions()}`).toBe(true)
        expect(close(value, t.totalValue()), `${model} value ${value} vs ${t.totalValue()}`).toBe(true)
        for (const c of a.channels) expect(c.conversions).toBeGreaterThanOrEqual(-1e-12)
      }
    }), { numRuns: 60 })
  })

  it('renaming channels renames the credit and changes nothing else', () => {
    fc.assert(fc.property(journeys, (js) => {
      const rename = (c: string) => `ch-${c.toUpperCase()}`
      const t = PathTable.from(js)
      const r = PathTable.from(js.map((j) => ({ ...j, path: j.path.map(rename) })))
      for (const model of MODELS) {
        const a = byChannel(attribute(t, model, { order: 2 }))
        const b = byChannel(attribute(r, model, { order: 2 }))
        for (const [ch, c] of a) {
          expect(close(c.conversions, b.get(rename(ch))!.conversions), model).toBe(true)
          expect(close(c.value, b.get(rename(ch))!.value, 1000), model).toBe(true)
        }
      }
    }), { numRuns: 40 })
  })

  it('permuting the rows of the table changes no credit', () => {
    fc.assert(fc.property(journeys.chain((js) => fc.tuple(fc.constant(js), fc.shuffledSubarray(js, { minLength: js.length, maxLength: js.length }))), ([js, shuffled]) => {
      const a = PathTable.from(js)
      const b = PathTable.from(shuffled)
      for (const model of MODELS) {
        const x = byChannel(attribute(a, model, { order: 3 }))
        const y = byChannel(attribute(b, model, { order: 3 }))
        for (const [ch, c] of x) expect(close(c.conversions, y.get(ch)!.conversions), model).toBe(true)
      }
    }), { numRuns: 40 })
  })

  it('first-order removal effects lie in [0, 1], and a channel seen only on null paths gets 0', () => {
    fc.assert(fc.property(journeys, (js) => {
      const t = PathTable.from([...js, { path: ['zz'], conversions: 0, nulls: 3 }])
      const m = markov(t)
      for (const c of m.channels) {
        expect(c.removalEffect!).toBeGreaterThanOrEqual(0)
        expect(c.removalEffect!).toBeLessThanOrEqual(1)
      }
      expect(byChannel(m).get('zz')!.conversions).toBe(0)
    }), { numRuns: 60 })
  })

  it('the dense and the iterative solver agree to 1e-10', () => {
    fc.assert(fc.property(journeys, fc.integer({ min: 1, max: 3 }), (js, order) => {
      const t = PathTable.from(js)
      const d = markov(t, { order, solver: 'dense' })
      const g = markov(t, { order, solver: 'iterative' })
      expect(Math.abs(d.conversionProbability - g.conversionProbability)).toBeLessThan(1e-10)
      d.channels.forEach((c, i) => expect(Math.abs(c.removalEffect! - g.channels[i]!.removalEffect!)).toBeLessThan(1e-10))
    }), { numRuns: 40 })
  })

  it('the direct factor agrees with dense LU and with Gauss–Seidel to 1e-10', () => {
    fc.assert(fc.property(journeys, fc.integer({ min: 1, max: 3 }), (js, order) => {
      const t = PathTable.from(js)
      const f = markov(t, { order, solver: 'direct' })
      for (const ref of [markov(t, { order, solver: 'dense' }), markov(t, { order, solver: 'iterative' })]) {
        expect(Math.abs(f.conversionProbability - ref.conversionProbability)).toBeLessThan(1e-10)
        f.channels.forEach((c, i) => {
          expect(Math.abs(c.removalEffect! - ref.channels[i]!.removalEffect!)).toBeLessThan(1e-10)
          expect(Math.abs(f.valueRemovalEffects[i]! - ref.valueRemovalEffects[i]!)).toBeLessThan(1e-10)
        })
      }
    }), { numRuns: 60 })
  })

  it('on a chain too large for the dense default, Gauss–Seidel matches LU to 1e-10', () => {
    // 8 channels, order 3: several hundred live states, so 'auto' takes the iterative path
    let seed = 7
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
    const js: Journey[] = Array.from({ length: 4000 }, () => {
      const path = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => 'abcdefgh'[Math.floor(rand() * 8)]!)
      const converted = rand() < 0.2 ? 1 : 0
      return { path, conversions: converted, nulls: 1 - converted, value: converted * 10 * rand() }
    })
    const t = PathTable.from(js)
    const auto = markov(t, { order: 3 })
    expect(auto.states).toBeGreaterThan(300)
    const dense = markov(t, { order: 3, solver: 'dense' })
    expect(Math.abs(auto.conversionProbability - dense.conversionProbability)).toBeLessThan(1e-10)
    auto.channels.forEach((c, i) => {
      expect(Math.abs(c.removalEffect! - dense.channels[i]!.removalEffect!)).toBeLessThan(1e-10)
      expect(Math.abs(auto.valueRemovalEffects[i]! - dense.valueRemovalEffects[i]!)).toBeLessThan(1e-10)
    })
  })

  it('exact Shapley of the ⊆-worth equals the simplified formula, and ordered Shapley sums to it', () => {
    fc.assert(fc.property(journeys, (js) => {
      const t = PathTable.from(js)
      const exact = shapleyExact(t)
      const simple = shapleySimplified(t)
      const ordered = orderedShapley(t)
      exact.channels.forEach((c, i) => {
        expect(close(c.conversions, simple.channels[i]!.conversions)).toBe(true)
        expect(close(c.value, simple.channels[i]!.value, 1000)).toBe(true)
        expect(close(ordered.conversions[i]!.reduce((s, x) => s + x, 0), c.conversions)).toBe(true)
      })
    }), { numRuns: 60 })
  })

  it('the Shapley value of any game is efficient, symmetric and gives null players nothing', () => {
    const n = 5
    fc.assert(fc.property(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 2 ** n, maxLength: 2 ** n }), (raw) => {
      // a random game in which players 3 and 4 are interchangeable and player 2 adds nothing to any coalition
      const w = Float64Array.from(raw)
      w[0] = 0
      const swap = (S: number) => (S & ~0b11000) | (((S >> 3) & 1) << 4) | (((S >> 4) & 1) << 3)
      for (let S = 0; S < w.length; S++) if (swap(S) < S) w[S] = w[swap(S)]!
      for (let S = 0; S < w.length; S++) if (S & 0b100) w[S] = w[S & ~0b100]!
      const phi = shapleyFromWorth(w, n)
      expect(close(phi.reduce((s, x) => s + x, 0), w[w.length - 1]!, 10)).toBe(true)
      expect(Math.abs(phi[2]!)).toBeLessThan(1e-12)
      expect(close(phi[3]!, phi[4]!, 10)).toBe(true)
    }), { numRuns: 100 })
  })

  it('an order-k chain has states only for observed tuples of at most k touches', () => {
    const t = PathTable.from([{ path: ['a', 'b', 'c', 'd'], conversions: 1 }])
    const chain = buildChain(t, 3)
    expect(Array.from({ length: chain.states - 1 }, (_, s) => chain.stateTuple(s + 1).map((c) => t.channels[c]).join(''))).toEqual(['a', 'ab', 'abc', 'bcd'])
  })
})
