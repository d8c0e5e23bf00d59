// A short, human reason for an assignment: when, on what, and what was watched ("weekday evening, TV, drama").
import { FEATURES } from './features.js'
import type { Session } from './sessionizer.js'

const GENRE_START = FEATURES.findIndex((f) => f.name.startsWith('genre_'))

function partOfDay(hour: number): string {
  if (hour < 5) return 'night'
  if (hour < 12) return 'morning'
  if (hour < 17) return 'afternoon'
  if (hour < 22) return 'evening'
  return 'late evening'
}

/** "weekday evening, tv, drama" from the session and its feature vector x. */
export function explain(s: Session, x: Float64Array, utcOffsetMinutes: number): string {
  const local = new Date(s.startTs + utcOffsetMinutes * 60_000)
  const weekend = local.getUTCDay() === 0 || local.getUTCDay() === 6
  const when = `${weekend ? 'weekend' : 'weekday'} ${partOfDay(local.getUTCHours())}`
  let best = -1
  for (let g = GENRE_START; g < GENRE_START + 17 && g < FEATURES.length; g++) {
    if (x[g]! > 0 && (best < 0 || x[g]! > x[best]!)) best = g
  }
  const genre = best >= 0 ? FEATURES[best]!.name.slice('genre_'.length) : undefined
  return [when, s.deviceType, genre].filter(Boolean).join(', ')
}
