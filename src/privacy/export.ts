// Access requests: everything idr holds about an account, or about one person of it, as JSON (`idr export`,
// idr.api.privacy.export). What a household holds is its persons (their learned profiles), its device
// pseudonyms, the kept closed sessions (as the model sees them: start, hour, weekday, device, genre, minutes,
// most probable person), its open sessions, and the tombstones of erasures concerning it.
import { involvesPerson, channelName, type JourneyRecord, type JourneyTouch } from '../attribution/ledger.js'
import { GENRES } from '../model/events.js'
import type { Account } from '../account/account.js'
import { householdProfile, type PersonProfile } from '../model/profile.js'
import type { Tombstone } from './ports.js'

export const EXPORT_VERSION = 1 as const
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']

export interface AccessExport {
  readonly v: typeof EXPORT_VERSION
  readonly account: string
  /** The account's a_… pseudonym, as tombstones and audit records name it. */
  readonly accountPseudonym: string
  /** The person the export is limited to, if any. */
  readonly person?: string
  /** ISO time of the export. */
  readonly exportedAt: string
  /** False when idr holds no household for the account (nothing, or everything erased). */
  readonly found: boolean
  readonly persons: readonly PersonProfile[]
  readonly devices: readonly string[]
  readonly sessions: readonly ExportedSession[]
  readonly openSessions: readonly { readonly session: string, readonly device: string, readonly start: string, readonly last: string, readonly content: string | null, readonly watchedSec: number }[]
  readonly erasures: readonly { readonly scope: string, readonly target: string, readonly erasedAt: string }[]
  /** Completed marketing journeys holding the account (or the person): their own, or with a touch assigned to them. */
  readonly journeys: readonly ExportedJourney[]
  /** Touches not yet on a completed journey. */
  readonly pendingTouches: readonly ExportedTouch[]
}

export interface ExportedTouch {
  readonly at: string
  readonly channel: string
  readonly device: string
  readonly person: string
}

export interface ExportedJourney {
  readonly level: string
  readonly person: string | null
  readonly end: string
  readonly conversions: number
  readonly value: number
  readonly touches: readonly ExportedTouch[]
}

const touchOut = (t: JourneyTouch): ExportedTouch => ({ at: new Date(t.ts).toISOString(), channel: channelName(t.channel), device: t.device, person: t.person })

export interface ExportedSession {
  readonly start: string
  readonly hour: number
  readonly weekday: string
  readonly device: string
  readonly genre: string
  readonly minutes: number
  readonly person: string | null
}

/** The export of a household (undefined: none held) for the account, or for one person of it. */
export function accessExport(account: string, accountPseudonym: string, a: Account | undefined, tombstones: readonly Tombstone[], now: number, person?: string, stored: readonly JourneyRecord[] = []): AccessExport {
  const erasures = tombstones.filter((t) => t.account === accountPseudonym).map((t) => ({ scope: t.scope, target: t.target, erasedAt: new Date(t.erasedAt).toISOString() }))
  const h = a?.household
  const journeys = [...stored, ...(a?.journeys?.unstored ?? [])]
    .filter((r) => person === undefined || involvesPerson(r, person))
    .map((r): ExportedJourney => ({ level: r.level, person: r.person === '' ? null : r.person, end: new Date(r.endTs).toISOString(), conversions: r.conversions, value: r.value, touches: r.touches.map(touchOut) }))
  const pendingTouches = (a?.journeys?.pendingTouches() ?? []).filter((t) => person === undefined || t.person === person).map(touchOut)
  const base = { v: EXPORT_VERSION, account, accountPseudonym, ...(person !== undefined ? { person } : {}), exportedAt: new Date(now).toISOString(), erasures, journeys, pendingTouches }
  if (!h) return { ...base, found: journeys.length > 0, persons: [], devices: [], sessions: [], openSessions: [] }
  const profile = householdProfile(h)
  const sessions = h.historyRows()
    .filter((r) => person === undefined || r.person === person)
    .map((r): ExportedSession => ({
      start: new Date(r.observation.startSec * 1000).toISOString(),
      hour: Math.round(r.observation.hour * 100) / 100,
      weekday: WEEKDAYS[r.observation.weekday] ?? '?',
      device: r.device,
      genre: GENRES[r.observation.genre] ?? 'other',
      minutes: Math.round(Math.expm1(r.observation.logMinutes) * 10) / 10,
      person: r.person ?? null,
    }))
  const open = h.sessionizer.openSessions
    .filter((s) => person === undefined || h.score(s, false)[0]?.person === person)
    .map((s) => ({ session: s.id, device: s.device, start: new Date(s.startTs).toISOString(), last: new Date(s.lastTs).toISOString(), content: s.content ?? null, watchedSec: s.watchedSec }))
  const persons = profile.persons.filter((p) => person === undefined || p.person === person)
  const devices = person === undefined ? h.deviceIds : [...new Set(sessions.map((s) => s.device).concat(open.map((s) => s.device)))]
  return { ...base, found: person === undefined || persons.length > 0 || sessions.length > 0, persons, devices, sessions, openSessions: open }
}
