// Taking data out of a household (erasure of a person or a device, retention) and the per-session owner view
// that access exports read. Each removal drops kept and open sessions, forgets devices where it must, and
// has the household rebuild its persons from what is left (docs/privacy.md).
import type { Kernels } from '../kernels/backend.js'
import { allocEncoded, encodeObservation } from './mixture.js'
import { eStep } from './mixture-fit.js'
import type { HistoryRow, Removal } from './household-types.js'
import { ERASED_DEVICE, emptyObservation, type DeviceSlots, type ObservationRing } from './observation.js'
import type { PersonChange, PersonModel } from './persons.js'
import type { Session, Sessionizer } from './sessionizer.js'

/** What a removal works on: the household's parts, and what only the household itself can do. */
export interface RemovalParts {
  readonly history: ObservationRing
  readonly devices: DeviceSlots
  readonly persons: PersonModel
  readonly sessionizer: Sessionizer
  readonly kernels: Kernels
  /** Drops open sessions without closing them (and their published probabilities); returns how many went. */
  forgetOpen(drop: (s: Session) => boolean): number
  /** A refit over what is left replaces the persons (none, cold start, when too little is left). */
  rebuild(): PersonChange[]
  /** The most probable person of an open session, without learning from it. */
  topPerson(s: Session): string | undefined
}

const NOTHING_REMOVED: Removal = { sessions: 0, openSessions: 0, persons: [], devices: 0, changes: [] }

/**
 * Erases a person: the closed sessions most probably theirs (highest responsibility under the current
 * persons) and the open sessions they lead leave the household, then the persons are rebuilt from what is
 * left by a refit, the person's statistics excluded, so nothing learned from them remains. Their id is
 * never given again. Not while the household is blocked on a refit (the runtime waits for it).
 */
export function erasePerson(h: RemovalParts, person: string): Removal {
  const j = h.persons.ids.indexOf(person)
  if (j < 0) return NOTHING_REMOVED
  const owner = owners(h)
  const sessions = h.history.retain((_, i) => owner[i] !== j)
  const open = h.forgetOpen((s) => h.topPerson(s) === person)
  h.persons.remove(person)
  return { sessions, openSessions: open, persons: [person], devices: 0, changes: h.rebuild() }
}

/**
 * Erases a device (its pseudonym): its closed and open sessions leave the household, its id is replaced
 * by a placeholder and the persons are rebuilt from the rest. A device in the shared overflow slot (past
 * MAX_DEVICES − 1 devices) takes every session of that slot with it: they cannot be told apart.
 */
export function eraseDevice(h: RemovalParts, device: string): Removal {
  const open = h.forgetOpen((s) => s.device === device)
  const slot = h.devices.erase(device)
  if (slot === undefined) return open > 0 ? { ...NOTHING_REMOVED, openSessions: open } : NOTHING_REMOVED
  const sessions = h.history.retain((o) => o.device !== slot)
  return { sessions, openSessions: open, persons: [], devices: 1, changes: sessions > 0 ? h.rebuild() : [] }
}

/**
 * Retention: closed sessions that started before cutoffMs leave the history, open sessions silent since
 * before it are forgotten (nothing else would close them before the account's next event), devices seen
 * only in what went are forgotten, and the persons are rebuilt from what is left (none when too little is
 * left: cold start).
 */
export function purgeBefore(h: RemovalParts, cutoffMs: number): Removal {
  const openSessions = h.forgetOpen((s) => s.lastTs < cutoffMs)
  const sessions = h.history.retain((o) => o.startSec * 1000 >= cutoffMs)
  if (sessions === 0 && openSessions === 0) return NOTHING_REMOVED
  const used = new Set<number>()
  const o = emptyObservation()
  for (let i = 0; i < h.history.length; i++) used.add(h.history.get(i, o).device)
  for (const s of h.sessionizer.openSessions) {
    const slot = h.devices.peek(s.device)
    if (slot !== undefined) used.add(slot)
  }
  let devices = 0
  for (const id of h.devices.ids()) {
    if (id.startsWith(ERASED_DEVICE) || used.has(h.devices.peek(id)!)) continue
    h.devices.erase(id)
    devices++
  }
  return { sessions, openSessions, persons: [], devices, changes: sessions > 0 ? h.rebuild() : [] }
}


/** The kept closed sessions, oldest first, each with its most probable person (for access exports). */
export function historyRows(h: RemovalParts): HistoryRow[] {
  const owner = owners(h)
  const ids = h.devices.ids()
  const rows: HistoryRow[] = []
  for (let i = 0; i < h.history.length; i++) {
    const observation = h.history.get(i, emptyObservation())
    rows.push({ observation, device: ids[observation.device] ?? ids[ids.length - 1]!, person: owner[i]! >= 0 ? h.persons.ids[owner[i]!] : undefined })
  }
  return rows
}

/** Per kept session, the index of its most probable person (−1 when there are none). */
function owners(h: RemovalParts): Int32Array {
  const n = h.history.length
  const k = h.persons.k
  const owner = new Int32Array(n).fill(-1)
  if (k === 0 || n === 0) return owner
  const e = allocEncoded(n)
  const o = emptyObservation()
  for (let i = 0; i < n; i++) encodeObservation(h.history.get(i, o), e, i)
  const resp = new Float64Array(n * k)
  eStep(h.kernels, h.persons.mixture, e, resp)
  for (let i = 0; i < n; i++) {
    let best = 0
    for (let j = 1; j < k; j++) if (resp[i * k + j]! > resp[i * k + best]!) best = j
    owner[i] = best
  }
  return owner
}
