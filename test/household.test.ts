// The household model end to end on a small hand-made stream: cold start, then two people told apart,
// stable ids across refits, and probabilities that are finite and sum to 1.
import { describe, expect, it } from 'vitest'
import { validateEvent, type IdrEvent } from '../src/model/events.js'
import { Household, UNKNOWN_PERSON, type Assignment } from '../src/model/household.js'
import { rng } from '../src/sim/random.js'
import { simulate } from '../src/sim/simulator.js'

const DAY = 86_400_000
const T0 = Date.UTC(2026, 0, 5)

/** Alice: phone, ~07:30, news, 20 min. Bob: TV, ~21:00, drama, 60 min. One session each per day. */
function stream(days: number, seed = 1): IdrEvent[] {
  const r = rng(seed)
  const out: IdrEvent[] = []
  let n = 0
  const session = (who: 'alice' | 'bob', day: number) => {
    const alice = who === 'alice'
    const start = T0 + day * DAY + (alice ? 7.5 : 21) * 3_600_000 + Math.round(r.normal() * 20 * 60_000)
    const minutes = alice ? 20 : 60
    const base = { v: 1, account: 'h1', device: alice ? 'phone' : 'tv', truth: who }
    out.push(validateEvent({ ...base, id: `e${n++}`, ts: start, kind: 'play', deviceType: alice ? 'mobile' : 'tv', content: alice ? 'news1' : 'drama1', genres: [alice ? 'news' : 'drama'] }))
    for (let m = 5; m <= minutes; m += 5) out.push(validateEvent({ ...base, id: `e${n++}`, ts: start + m * 60_000, kind: 'heartbeat', durationSec: 300 }))
    out.push(validateEvent({ ...base, id: `e${n++}`, ts: start + minutes * 60_000 + 1000, kind: 'stop', durationSec: 1 }))
  }
  for (let d = 0; d < days; d++) {
    session('alice', d)
    session('bob', d)
  }
  return out.sort((a, b) => a.ts - b.ts)
}

function run(events: IdrEvent[]): { h: Household, finals: { a: Assignment, truth: string }[] } {
  const h = new Household('h1')
  const finals: { a: Assignment, truth: string }[] = []
  const take = (o: ReturnType<Household['push']>) => {
    o.assignments.forEach((a) => {
      expect(a.persons.every((q) => Number.isFinite(q.p) && q.p >= 0)).toBe(true)
      expect(a.persons.reduce((s, q) => s + q.p, 0)).toBeCloseTo(1, 12)
      if (a.stage === 'close') finals.push({ a, truth: o.closed.find((s) => s.id === a.session)!.truth! })
    })
  }
  for (const e of events) take(h.push(e))
  take(h.flush())
  return { h, finals }
}

describe('Household', () => {
  it('starts cold: one known person against someone unknown, leaning on the device', () => {
    const { finals } = run(stream(1))
    expect(finals[0]!.a.coldStart).toBe(true)
    expect(finals[0]!.a.persons.map((q) => q.person)).toEqual(['p1', UNKNOWN_PERSON])
  })

  it('tells two people apart after a few days and keeps their ids', () => {
    const { h, finals } = run(stream(20))
    expect(h.persons.k).toBe(2)
    const later = finals.slice(12)
    const idOf = new Map<string, string>()
    let right = 0
    for (const { a, truth } of later) {
      const top = a.persons[0]!.person
      if (!idOf.has(truth)) idOf.set(truth, top)
      if (idOf.get(truth) === top) right++
    }
    expect(new Set(idOf.values()).size).toBe(2)
    expect(right / later.length).toBeGreaterThan(0.95)
    // the identified persons share 1 − U (the unseen mass, src/model/unseen.ts); the top one holds most of it
    const last = later.at(-1)!.a.persons
    const identified = last.filter((q) => q.person !== UNKNOWN_PERSON).reduce((x, q) => x + q.p, 0)
    expect(last[0]!.p / identified).toBeGreaterThan(0.8)
  })

  it('publishes an update when a content switch moves the probabilities by materialChange, and compares the next with it', () => {
    const events = stream(20)
    const h = new Household('h1', { materialChange: 0.001 })
    for (const e of events) h.push(e)
    const t = T0 + 21 * DAY + 14 * 3_600_000
    const base = { v: 1, account: 'h1', device: 'tablet', deviceType: 'tablet' as const }
    const opened = h.push(validateEvent({ ...base, id: 'x0', ts: t, kind: 'play', content: 'drama1', genres: ['drama'] })).assignments.filter((a) => a.stage !== 'close')
    expect(opened.map((a) => a.stage)).toEqual(['open'])
    expect(h.push(validateEvent({ ...base, id: 'x1', ts: t + 60_000, kind: 'heartbeat' })).assignments).toEqual([])
    // drama and news tie after one news title (the dominant genre stays drama); a second one tips it
    expect(h.push(validateEvent({ ...base, id: 'x2', ts: t + 120_000, kind: 'heartbeat', content: 'news1', genres: ['news'] })).assignments).toEqual([])
    const switched = h.push(validateEvent({ ...base, id: 'x3', ts: t + 180_000, kind: 'heartbeat', content: 'news2', genres: ['news'] })).assignments
    expect(switched.map((a) => a.stage)).toEqual(['update'])
    const before = new Map(opened[0]!.persons.map((q) => [q.person, q.p]))
    const moved = Math.max(...switched[0]!.persons.map((q) => Math.abs(q.p - before.get(q.person)!)))
    expect(moved).toBeGreaterThanOrEqual(0.001)
    // with the default threshold the same switch is not material
    const quiet = new Household('h1')
    for (const e of events) quiet.push(e)
    quiet.push(validateEvent({ ...base, id: 'x0', ts: t, kind: 'play', content: 'drama1', genres: ['drama'] }))
    quiet.push(validateEvent({ ...base, id: 'x2', ts: t + 120_000, kind: 'heartbeat', content: 'news1', genres: ['news'] }))
    const q = quiet.push(validateEvent({ ...base, id: 'x3', ts: t + 180_000, kind: 'heartbeat', content: 'news2', genres: ['news'] })).assignments
    expect(q.length).toBe(moved >= 0.1 ? 1 : 0)
    // once published, an update is what the next is compared with: the same dominant genre again moves nothing
    expect(h.push(validateEvent({ ...base, id: 'x4', ts: t + 240_000, kind: 'heartbeat', content: 'news3', genres: ['news'] })).assignments).toEqual([])
  })

  it('explains an assignment in words', () => {
    const { finals } = run(stream(3))
    const bob = finals.find((f) => f.truth === 'bob')!
    expect(bob.a.explanation).toBe('weekday evening, tv, drama')
  })

  it('is deterministic: the same events give the same assignments and state', () => {
    const events = stream(10, 3)
    const a = run(events)
    const b = run(events)
    expect(JSON.stringify(b.finals)).toBe(JSON.stringify(a.finals))
    expect(JSON.stringify(b.h.toState())).toBe(JSON.stringify(a.h.toState()))
  })
})

describe('Household snapshots', () => {
  it('restores mid-stream and continues exactly as the uninterrupted run, to the byte', () => {
    const events = stream(12, 5)
    const whole = run(events)
    const cut = Math.floor(events.length * 0.6)
    const first = new Household('h1')
    const before: string[] = []
    for (const e of events.slice(0, cut)) before.push(JSON.stringify(first.push(e).assignments))
    const restored = Household.fromSnapshot('h1', first.toSnapshot())
    expect(Buffer.from(restored.toSnapshot()).equals(Buffer.from(first.toSnapshot()))).toBe(true)
    const after: string[] = []
    for (const e of events.slice(cut)) after.push(JSON.stringify(restored.push(e).assignments))
    after.push(JSON.stringify(restored.flush().assignments))
    const reference = new Household('h1')
    const all = events.map((e) => JSON.stringify(reference.push(e).assignments))
    all.push(JSON.stringify(reference.flush().assignments))
    expect([...before, ...after]).toEqual(all)
    expect(Buffer.from(restored.toSnapshot()).equals(Buffer.from(whole.h.toSnapshot()))).toBe(true)
  })

  it('refuses bytes that are not a snapshot, with a typed error', () => {
    expect(() => Household.fromSnapshot('h1', Uint8Array.of(0xc1))).toThrow(expect.objectContaining({ code: 'BAD_SNAPSHOT' }))
    expect(() => Household.fromSnapshot('h1', Uint8Array.of(0x80))).toThrow(expect.objectContaining({ code: 'BAD_SNAPSHOT' }))
  })

  it('keeps a 4-person household with 6 months of history under 32 KB (measured 6.8 KB; heap in bench/household.ts)', () => {
    const sim = simulate({ households: 1, days: 182, seed: 3, sizeMix: [0, 0, 0, 1] })
    const h = new Household(sim.households[0]!.account)
    for (const e of sim.events()) h.push(e)
    h.flush()
    expect(h.sessionsSeen).toBeGreaterThan(500)
    expect(h.toSnapshot().byteLength).toBeLessThan(32 * 1024)
  })
})
