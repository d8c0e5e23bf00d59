// A household's persons described for people and dashboards (idr.api.household.get): typical hours,
// weekdays, devices and genres per person, and each device's person affinities. Read-only.
import { GENRES } from './events.js'
import type { Household } from './household.js'
import { FIELD_SLOTS, VOCAB, type Field } from './mixture.js'

const TOP = 3
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const

export interface PersonProfile {
  readonly person: string
  /** Share of the household's sessions. */
  readonly share: number
  /** Hours of day (household-local) with the most viewing, with their shares. */
  readonly hours: readonly { readonly hour: number, readonly p: number }[]
  readonly weekdays: readonly { readonly day: string, readonly p: number }[]
  readonly devices: readonly { readonly device: string, readonly p: number }[]
  readonly genres: readonly { readonly genre: string, readonly p: number }[]
  /** Typical minutes watched per session (exp of the mean ln(1 + minutes), minus 1). */
  readonly typicalMinutes: number | null
}

export interface HouseholdProfile {
  readonly account: string
  readonly modelVersion: number
  readonly sessionsSeen: number
  readonly persons: readonly PersonProfile[]
  /** Per device: P(person | device) from the persons' device counts and shares. */
  readonly devices: readonly { readonly device: string, readonly persons: readonly { readonly person: string, readonly p: number }[] }[]
  readonly stats: { readonly events: number, readonly applied: number, readonly duplicates: number, readonly late: number, readonly sessions: number }
}

export function householdProfile(h: Household): HouseholdProfile {
  const m = h.persons.mixture
  const ids = h.persons.ids
  const deviceIds = h.deviceIds
  const total = ids.reduce((s, _, j) => s + m.n[j]!, 0)
  const dist = (j: number, f: Field): number[] => {
    const { offset, size } = FIELD_SLOTS[f]
    const row = Array.from(m.counts.subarray(j * VOCAB + offset, j * VOCAB + offset + size))
    const sum = row.reduce((a, b) => a + b, 0)
    return row.map((c) => (sum > 0 ? c / sum : 0))
  }
  const top = <T>(p: number[], name: (i: number) => T): { name: T, p: number }[] =>
    p.map((v, i) => ({ name: name(i), p: round(v) })).filter((x) => x.p > 0).sort((a, b) => b.p - a.p).slice(0, TOP)
  const persons = ids.map((person, j): PersonProfile => ({
    person,
    share: total > 0 ? round(m.n[j]! / total) : 0,
    hours: top(dist(j, 'time'), (i) => i).map((x) => ({ hour: x.name, p: x.p })),
    weekdays: top(dist(j, 'weekday'), (i) => WEEKDAYS[i]!).map((x) => ({ day: x.name, p: x.p })),
    devices: top(dist(j, 'device'), (i) => deviceIds[i] ?? `slot${i}`).map((x) => ({ device: x.name, p: x.p })),
    genres: top(dist(j, 'genre'), (i) => GENRES[i]!).map((x) => ({ genre: x.name, p: x.p })),
    typicalMinutes: m.durW[j]! > 0 ? round(Math.expm1(m.durS[j]! / m.durW[j]!)) : null,
  }))
  const devices = deviceIds.map((device, slot) => {
    const w = ids.map((_, j) => m.counts[j * VOCAB + FIELD_SLOTS.device.offset + slot]!)
    const sum = w.reduce((a, b) => a + b, 0)
    return { device, persons: ids.map((person, j) => ({ person, p: sum > 0 ? round(w[j]! / sum) : 0 })).sort((a, b) => b.p - a.p) }
  })
  const st = h.sessionizer.stats
  return {
    account: h.account, modelVersion: h.persons.version, sessionsSeen: h.sessionsSeen, persons, devices,
    stats: { events: st.events, applied: st.applied, duplicates: st.duplicates, late: st.late, sessions: st.closed },
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000
}
