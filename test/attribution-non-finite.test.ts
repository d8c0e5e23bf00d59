// Counts that would overflow or are not finite are refused with a typed error wherever a table is built
// (builder, constructor, the engine's timed journeys) and wherever a model sums them (exact Shapley's worths).
import { describe, expect, it } from 'vitest'
import { AttributionError } from '../src/attribution/errors.js'
import { markov, PathTable, PathTableBuilder, shapleyFromWorth, TimedJourneys } from '../src/attribution/index.js'
import { MAX_SAFE_TOTAL } from '../src/attribution/path-table.js'

function code(fn: () => unknown): string {
  try { fn() } catch (e) { if (e instanceof AttributionError) return e.code; throw e }
  throw new Error('expected a refusal')
}

describe('non-finite and overflowing counts', () => {
  it('the builder refuses a count above MAX_SAFE_TOTAL with OVERFLOW and Infinity or NaN with BAD_VALUE', () => {
    expect(code(() => new PathTableBuilder().add({ path: ['a'], conversions: 2 ** 60 }))).toBe('OVERFLOW')
    expect(code(() => new PathTableBuilder().add({ path: ['a'], conversions: 1, value: Infinity }))).toBe('BAD_VALUE')
    expect(code(() => new PathTableBuilder().add({ path: ['a'], conversions: 0, nulls: NaN }))).toBe('BAD_VALUE')
  })

  it('the builder refuses journeys whose running total passes MAX_SAFE_TOTAL, merged or not', () => {
    const b = new PathTableBuilder().add({ path: ['a'], conversions: MAX_SAFE_TOTAL })
    expect(code(() => b.add({ path: ['a'], conversions: 1 }))).toBe('OVERFLOW')
    const v = new PathTableBuilder().add({ path: ['a'], conversions: 1, value: MAX_SAFE_TOTAL })
    expect(code(() => v.add({ path: ['b'], conversions: 1, value: 1 }))).toBe('OVERFLOW')
  })

  it('a table built by hand is held to the same rule', () => {
    const make = (conv: number, nulls = 0) => new PathTable(['a'], Int32Array.of(0, 1), Uint16Array.of(0), Float64Array.of(conv), Float64Array.of(0), Float64Array.of(nulls))
    expect(code(() => make(NaN))).toBe('BAD_VALUE')
    expect(code(() => make(Infinity))).toBe('BAD_VALUE')
    expect(code(() => make(-1))).toBe('BAD_VALUE')
    expect(code(() => make(1, 2 ** 54))).toBe('OVERFLOW')
    expect(make(1, 1).totalConversions()).toBe(1)
  })

  it('the engine\'s journeys (the report\'s path) refuse totals that would overflow', () => {
    const timed = new TimedJourneys()
    for (let i = 0; i < 2; i++) timed.addPath({ channels: [0], times: [i], conversions: MAX_SAFE_TOTAL, value: 0, nulls: 0, endTs: i })
    expect(code(() => timed.table())).toBe('OVERFLOW')
  })

  it('Markov on counts at the bound stays finite', () => {
    // the largest totals the rule admits, on a path whose transitions repeat: edge weights reach total × touches
    const b = new PathTableBuilder()
    b.add({ path: ['a', 'a', 'b', 'a', 'b'], conversions: MAX_SAFE_TOTAL / 2, nulls: MAX_SAFE_TOTAL / 2, value: MAX_SAFE_TOTAL })
    for (const order of [1, 2, 3]) {
      const m = markov(b.build(), { order })
      expect(Number.isFinite(m.conversionProbability)).toBe(true)
      for (const c of m.channels) expect(Number.isFinite(c.conversions) && Number.isFinite(c.value)).toBe(true)
    }
  })

  it('exact Shapley refuses a non-finite worth (BAD_VALUE) and worths whose differences overflow (OVERFLOW)', () => {
    expect(code(() => shapleyFromWorth(Float64Array.of(0, Infinity, 1, 2), 2))).toBe('BAD_VALUE')
    expect(code(() => shapleyFromWorth(Float64Array.of(0, NaN, 1, 2), 2))).toBe('BAD_VALUE')
    expect(code(() => shapleyFromWorth(Float64Array.of(-1.7e308, 1.7e308, 1.7e308, 1.7e308), 2))).toBe('OVERFLOW')
  })
})
