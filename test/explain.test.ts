// The cached explanation (src/model/explain.ts) says exactly what the Date-based one it replaced says (its twin
// in bench/explain.ts), for sessions at any time, offset, device type and genre mix.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEVICE_TYPES, GENRES } from '../src/model/events.js'
import { explain } from '../src/model/explain.js'
import type { Session } from '../src/model/sessionizer.js'
import { explainWithDate as plain } from '../bench/explain.js'

describe('explain', () => {
  it('agrees with the Date-based explanation everywhere', () => {
    fc.assert(fc.property(
      fc.integer({ min: -2_000_000_000_000, max: 4_000_000_000_000 }), fc.integer({ min: -720, max: 840 }),
      fc.constantFrom(...DEVICE_TYPES), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: GENRES.length, maxLength: GENRES.length }),
      (startTs, offset, deviceType, weights) => {
        const s = { startTs, deviceType, genreWeights: Float64Array.from(weights) } as unknown as Session
        expect(explain(s, offset)).toBe(plain(s, offset))
      },
    ), { numRuns: 5_000 })
  })
})
