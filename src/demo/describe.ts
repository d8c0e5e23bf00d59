// Persons in words, for the demo's report: the engine's found persons (from idr.api.household.get) and the
// simulator's true persons (from their sessions), described the same way so they can be compared side by side.
import type { SimHousehold } from '../sim/types.js'

/** What a person's sessions look like, as shares (each list sorted by p, descending). */
export interface Habits {
  readonly hours: readonly { readonly hour: number, readonly p: number }[]
  /** Weekday shares by name ('mon' … 'sun'). */
  readonly weekdays: readonly { readonly day: string, readonly p: number }[]
  readonly devices: readonly { readonly device: string, readonly p: number }[]
  readonly genres: readonly { readonly genre: string, readonly p: number }[]
  readonly typicalMinutes: number | null
}

const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const

/** "evenings around 21:00; living-room tv (70%); drama, thriller; ~45 min, mostly weekends". */
export function describeHabits(h: Habits): string {
  const parts: string[] = []
  const top = h.hours[0]
  if (top) parts.push(`${partOfDay(top.hour)} around ${String(top.hour).padStart(2, '0')}:00`)
  const dev = h.devices[0]
  if (dev) parts.push(`${dev.device} (${Math.round(dev.p * 100)}%)`)
  const genres = h.genres.filter((g) => g.p >= 0.15).slice(0, 2).map((g) => g.genre)
  if (genres.length > 0) parts.push(`mostly ${genres.join(', ')}`)
  if (h.typicalMinutes !== null) parts.push(`~${Math.round(h.typicalMinutes)} min a session`)
  const weekend = h.weekdays.filter((d) => d.day === 'sat' || d.day === 'sun').reduce((s, d) => s + d.p, 0)
  if (weekend >= 0.5) parts.push('mostly at weekends')
  return parts.length > 0 ? parts.join('; ') : 'not enough sessions to describe'
}

function partOfDay(hour: number): string {
  if (hour >= 5 && hour < 12) return 'mornings'
  if (hour >= 12 && hour < 17) return 'afternoons'
  if (hour >= 17 && hour < 22) return 'evenings'
  return 'late nights'
}

/** A device as people would name it: "tv 55in", "mobile 6in". */
export function deviceLabel(deviceType: string, screenIn: number | undefined): string {
  return screenIn === undefined ? deviceType : `${deviceType} ${Math.round(screenIn)}in`
}

/** Each true person's habits, measured from the sessions they started (co-viewing counts for the initiator). */
export function trueHabits(h: SimHousehold): Map<string, { habits: Habits, share: number }> {
  const out = new Map<string, { habits: Habits, share: number }>()
  const devices = new Map(h.devices.map((d) => [d.id, deviceLabel(d.deviceType, d.screenIn)]))
  for (const person of h.persons) {
    const mine = h.sessions.filter((s) => s.initiator === person.id)
    const n = mine.length
    const shares = <K>(keys: K[]): { key: K, p: number }[] => {
      const c = new Map<K, number>()
      for (const k of keys) c.set(k, (c.get(k) ?? 0) + 1)
      return [...c].map(([key, v]) => ({ key, p: v / Math.max(n, 1) })).sort((a, b) => b.p - a.p)
    }
    const date = (s: { startMs: number }) => new Date(s.startMs)
    const minutes = mine.map((s) => Math.log1p(s.durationSec / 60))
    out.set(person.id, {
      share: h.sessions.length > 0 ? n / h.sessions.length : 0,
      habits: {
        hours: shares(mine.map((s) => date(s).getUTCHours())).map((x) => ({ hour: x.key, p: x.p })),
        weekdays: shares(mine.map((s) => WEEKDAY_NAMES[date(s).getUTCDay()]!)).map((x) => ({ day: x.key, p: x.p })),
        devices: shares(mine.map((s) => devices.get(s.device) ?? s.deviceType)).map((x) => ({ device: x.key, p: x.p })),
        genres: shares(mine.map((s) => s.genres[0] ?? 'other')).map((x) => ({ genre: x.key, p: x.p })),
        typicalMinutes: n > 0 ? Math.expm1(minutes.reduce((a, b) => a + b, 0) / n) : null,
      },
    })
  }
  return out
}
