// A short, human reason for an assignment: when, on what, and what was watched ("weekday evening, TV, drama").
import { GENRES } from './events.js'
import { dominantGenre } from './observation.js'
import type { Session } from './sessionizer.js'

function partOfDay(hour: number): string {
  if (hour < 5) return 'night'
  if (hour < 12) return 'morning'
  if (hour < 17) return 'afternoon'
  if (hour < 22) return 'evening'
  return 'late evening'
}

/** "weekday evening, tv, drama": local part of day, device type and the session's dominant genre. */
export function explain(s: Session, utcOffsetMinutes: number): string {
  const local = new Date(s.startTs + utcOffsetMinutes * 60_000)
  const weekend = local.getUTCDay() === 0 || local.getUTCDay() === 6
  const when = `${weekend ? 'weekend' : 'weekday'} ${partOfDay(local.getUTCHours())}`
  const g = dominantGenre(s)
  return [when, s.deviceType, g >= 0 ? GENRES[g] : undefined].filter(Boolean).join(', ')
}
