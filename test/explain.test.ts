// The cached explanation (src/model/explain.ts) says exactly what the plain one with a Date says, for
// sessions at any time, offset, device type and genre mix.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEVICE_TYPES, GENRES } from '../src/model/events.js'
import { explain } from '../src/model/explain.js'
import { dominantGenre } from '../src/model/observation.js'
import type { Session } from '../src/model/sessionizer.js'

/** The reference: the explanation as first written, through a Date. */
function plain(s: Session, utcOffsetMinutes: number): string {
  const local = new Date(s.startTs + utcOffsetMinutes * 60_000)
  const weekend = local.getUTCDay() === 0 || local.getUTCDay() === 6
  const h = local.getUTCHours()
  const part = h < 5 ? 'night' : h < 12 ? 'morning' : h < 17 ? 'afternoon' : h < 22 ? 'evening' : 'late evening'
  const g = dominantGenre(s)
  return [`${weekend ? 'weekend' : 'weekday'} ${part}`, s.deviceType, g >= 0 ? GENRES[g] : undefined].filter(Boolean).join(', ')
}

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
