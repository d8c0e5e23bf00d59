// A short, human reason for an assignment: when, on what, and what was watched ("weekday evening, TV, drama").
// Every assignment carries one, so it is built without a Date or string work per call: the few hundred
// possible phrases are made once, on first use, and looked up by their parts.
import { DEVICE_TYPES, GENRES } from './events.js'
import { dominantGenre } from './observation.js'
import type { Session } from './sessionizer.js'

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
const PARTS = ['night', 'morning', 'afternoon', 'evening', 'late evening'] as const
const DEVICE_INDEX = new Map<string, number>(DEVICE_TYPES.map((d, i) => [d, i]))
/** Phrase cache: [weekend][part of day][device type][dominant genre + 1]. */
const PHRASES: string[] = []

function partOfDay(hour: number): number {
  return hour < 5 ? 0 : hour < 12 ? 1 : hour < 17 ? 2 : hour < 22 ? 3 : 4
}

/** "weekday evening, tv, drama": local part of day, device type and the session's dominant genre. */
export function explain(s: Session, utcOffsetMinutes: number): string {
  const local = s.startTs + utcOffsetMinutes * 60_000
  const dayMs = ((local % DAY_MS) + DAY_MS) % DAY_MS
  const weekday = (((Math.floor(local / DAY_MS) + 4) % 7) + 7) % 7 // 1970-01-01 was a Thursday: 0 = Sunday
  const weekend = weekday === 0 || weekday === 6 ? 1 : 0
  const part = partOfDay(Math.floor(dayMs / HOUR_MS))
  const device = DEVICE_INDEX.get(s.deviceType)
  const g = dominantGenre(s)
  if (device === undefined) return phrase(weekend, part, s.deviceType, g) // not a schema device type: not cached
  const key = ((weekend * PARTS.length + part) * DEVICE_TYPES.length + device) * (GENRES.length + 1) + (g + 1)
  return (PHRASES[key] ??= phrase(weekend, part, s.deviceType, g))
}

function phrase(weekend: number, part: number, deviceType: string, genre: number): string {
  return [`${weekend ? 'weekend' : 'weekday'} ${PARTS[part]}`, deviceType, genre >= 0 ? GENRES[genre] : undefined].filter(Boolean).join(', ')
}
