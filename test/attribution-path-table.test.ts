// The path table's aggregation: identical paths merge into one row whatever the order and the number of rows.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { AttributionError, dedupRepeats, PathTable, PathTableBuilder } from '../src/attribution/index.js'

describe('path table', () => {
  it('merges identical paths exactly as a map keyed by the joined path does, across slot-table growth', () => {
    const journey = fc.record({
      path: fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 0, maxLength: 6 }),
      nulls: fc.integer({ min: 0, max: 3 }),
    })
    fc.assert(fc.property(fc.array(journey, { maxLength: 3000 }), (js) => {
      const t = PathTable.from(js.map((j) => ({ ...j, conversions: j.path.length ? 1 : 0 })))
      const expected = new Map<string, number>()
      for (const j of js) expected.set(j.path.join('>'), (expected.get(j.path.join('>')) ?? 0) + j.nulls)
      expect(t.rows).toBe(expected.size)
      for (let i = 0; i < t.rows; i++) expect(t.nulls[i]).toBe(expected.get(t.pathNames(i).join('>')))
    }), { numRuns: 30 })
  })

  it('collapses consecutive repeats and merges the rows that become identical', () => {
    const t = PathTable.from([
      { path: ['a', 'a', 'b', 'b', 'a'], conversions: 1 },
      { path: ['a', 'b', 'a'], conversions: 2, nulls: 1 },
    ])
    const d = dedupRepeats(t)
    expect([...d.journeys()]).toEqual([{ path: ['a', 'b', 'a'], conversions: 3, value: 0, nulls: 1 }])
  })

  it('refuses negative counts and ids that were never interned', () => {
    const b = new PathTableBuilder()
    const a = b.channelId('a')
    expect(() => b.addIds([a], 0, 1, -1, 0, 0)).toThrow(AttributionError)
    expect(() => b.addIds([a, 7], 0, 2, 1, 0, 0)).toThrow(expect.objectContaining({ code: 'BAD_PATH_TABLE' }))
    expect(() => b.addIds([], 0, 0, 1, 0, 0)).toThrow(expect.objectContaining({ code: 'BAD_PATH_TABLE' }))
  })
})
