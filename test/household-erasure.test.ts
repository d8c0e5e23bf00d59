// Erasure and retention inside one household: what is erased leaves the history, the open sessions, the
// device slots and (through a rebuild) the persons, and never comes back through a snapshot or later input.
import { describe, expect, it } from 'vitest'
import type { IdrEvent } from '../src/model/events.js'
import { Household } from '../src/model/household.js'
import { simulate } from '../src/sim/simulator.js'

const DAY_MS = 86_400_000

/** A 3-person household after `days` of events, and its events. */
function lived(days = 60, seed = 11): { h: Household, events: IdrEvent[] } {
  const sim = simulate({ households: 1, days, seed, sizeMix: [0, 0, 1] })
  const h = new Household(sim.households[0]!.account)
  const events = [...sim.events()]
  for (const e of events) h.push(e)
  return { h, events }
}

const contains = (bytes: Uint8Array, text: string): boolean => Buffer.from(bytes).includes(Buffer.from(text, 'utf8'))

describe('Household erasure', () => {
  it('erases a person: their sessions, their id and their statistics go; the others stay', () => {
    const { h } = lived()
    expect(h.persons.k).toBeGreaterThanOrEqual(2)
    const rows = h.historyRows()
    const victim = h.persons.ids[0]!
    const theirs = rows.filter((r) => r.person === victim).length
    expect(theirs).toBeGreaterThan(0)
    const removal = h.erasePerson(victim)
    expect(removal.persons).toEqual([victim])
    expect(removal.sessions).toBe(theirs)
    expect(h.historyRows().length).toBe(rows.length - theirs)
    expect(h.persons.ids).not.toContain(victim)
    expect(h.persons.k).toBeGreaterThanOrEqual(1)
    // the id is never given again, also after a snapshot round trip and more input
    const back = Household.fromSnapshot(h.account, h.toSnapshot())
    expect(back.persons.ids).not.toContain(victim)
    expect(back.toSnapshot()).toEqual(h.toSnapshot())
  })

  it('is idempotent: erasing a person who is gone changes nothing', () => {
    const { h } = lived()
    const victim = h.persons.ids[0]!
    h.erasePerson(victim)
    const once = h.toSnapshot()
    expect(h.erasePerson(victim)).toMatchObject({ sessions: 0, persons: [] })
    expect(h.toSnapshot()).toEqual(once)
  })

  it('erases a device: its pseudonym leaves the snapshot bytes, its sessions the history', () => {
    const { h } = lived()
    const device = h.deviceIds[0]!
    expect(contains(h.toSnapshot(), device)).toBe(true)
    const before = h.historyRows()
    const on = before.filter((r) => r.device === device).length
    expect(on).toBeGreaterThan(0)
    const removal = h.eraseDevice(device)
    expect(removal).toMatchObject({ sessions: on, devices: 1 })
    expect(h.deviceIds).not.toContain(device)
    expect(contains(h.toSnapshot(), device)).toBe(false)
    expect(h.historyRows().every((r) => r.device !== device)).toBe(true)
    // the other devices keep their slots, through a snapshot too
    const after = Household.fromSnapshot(h.account, h.toSnapshot())
    expect(after.deviceIds).toEqual(h.deviceIds)
    expect(after.deviceIds[0]).toBe('~erased~0')
  })

  it('forgets open sessions of an erased device without publishing them', () => {
    const { h, events } = lived(20)
    const last = events.at(-1)!
    const device = 'device-to-erase'
    const play = { ...last, id: 'e-open-1', kind: 'play' as const, device, ts: last.ts + 60_000, content: 'c1', deviceType: 'tv' as const, genres: ['drama' as const], durationSec: 30 }
    expect(h.push(play).assignments.map((a) => a.stage)).toEqual(['open'])
    expect(h.sessionizer.openSessions.some((s) => s.device === device)).toBe(true)
    expect(h.eraseDevice(device)).toMatchObject({ openSessions: 1, sessions: 0 })
    expect(h.sessionizer.openSessions.some((s) => s.device === device)).toBe(false)
    const closes = h.flush().assignments.filter((a) => a.device === device)
    expect(closes).toEqual([])
    expect(contains(h.toSnapshot(), device)).toBe(false)
  })

  it('purges sessions older than a cutoff, drops devices seen only in them, and empties when nothing is left', () => {
    const { h, events } = lived(60)
    const end = events.at(-1)!.ts
    const rows = h.historyRows()
    const cutoff = end - 30 * DAY_MS
    const old = rows.filter((r) => r.observation.startSec * 1000 < cutoff).length
    expect(old).toBeGreaterThan(0)
    expect(h.purgeBefore(cutoff).sessions).toBe(old)
    expect(h.historyRows().every((r) => r.observation.startSec * 1000 >= cutoff)).toBe(true)
    expect(h.purgeBefore(cutoff).sessions).toBe(0)
    h.flush()
    const all = h.purgeBefore(end + DAY_MS)
    expect(all.sessions).toBeGreaterThan(0)
    expect(h.empty).toBe(true)
    expect(h.persons.k).toBe(0)
    expect(h.deviceIds.every((d) => d.startsWith('~erased~'))).toBe(true)
  })

  it('reads a format-3 snapshot, its history dated at the last event time', () => {
    const { h, events } = lived(20)
    const state = h.toState()
    const rows = state.history.length / 16
    const legacy = new Uint8Array(rows * 12)
    for (let i = 0; i < rows; i++) legacy.set(state.history.subarray(i * 16, i * 16 + 12), i * 12)
    const old = Household.fromState(h.account, { ...state, v: 3, history: legacy })
    const lastSec = Math.floor(events.at(-1)!.ts / 1000)
    expect(old.historyRows().every((r) => Math.abs(r.observation.startSec - lastSec) <= 0)).toBe(true)
    expect(old.historyRows().map((r) => r.person)).toEqual(h.historyRows().map((r) => r.person))
  })
})
