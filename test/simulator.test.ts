// The ground-truth simulator: determinism, valid events that agree with the session records, the configured
// mix of households, co-viewing, stops, devices, changes and marketing, and option checks.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { validateEvent, type IdrEvent } from '../src/model/events.js'
import { DEFAULT_SIZE_MIX, heartbeatCount, simulate, type SimHousehold, type SimOptions, type Simulation } from '../src/sim/simulator.js'
import { OptionError } from '../src/options/check.js'

function digest(events: Iterable<IdrEvent>): string {
  const h = createHash('sha256')
  for (const e of events) h.update(JSON.stringify(e))
  return h.digest('hex')
}

const allSessions = (sim: Simulation) => sim.households.flatMap((h) => h.sessions)

/** Binomial share check: |observed − p| within 4 standard errors √(p(1−p)/n) (a 1-in-15,000 false alarm). */
function expectShare(hits: number, n: number, p: number): void {
  expect(n).toBeGreaterThan(0)
  const se = Math.sqrt((p * (1 - p)) / n)
  expect(Math.abs(hits / n - p)).toBeLessThan(4 * se)
}

describe('simulate: determinism', () => {
  it('gives the same households and event stream for the same seed, and different ones for another seed', () => {
    const o: SimOptions = { households: 40, days: 7, seed: 7 }
    const a = simulate(o)
    const b = simulate(o)
    expect(b.households).toEqual(a.households)
    expect(digest(b.events())).toBe(digest(a.events()))
    expect(digest(a.events())).toBe(digest(a.events())) // each pass is fresh
    const c = simulate({ ...o, seed: 8 })
    expect(digest(c.events())).not.toBe(digest(a.events()))
    expect(c.households.map((h) => h.persons.length)).not.toEqual(a.households.map((h) => h.persons.length))
  })

  it('keeps household i the same when more households are simulated', () => {
    const small = simulate({ households: 5, days: 5 })
    const large = simulate({ households: 12, days: 5 })
    expect(large.households.slice(0, 5)).toEqual(small.households)
  })
})

describe('simulate: events', () => {
  const sim = simulate({ households: 120, days: 10, seed: 3 })
  const events = [...sim.events()]

  it('emits eventCount events, each valid under schema v1 and unchanged by the validator', () => {
    expect(events.length).toBe(sim.eventCount)
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
    const changed = events.filter((e) => JSON.stringify(validateEvent(JSON.parse(JSON.stringify(e)))) !== JSON.stringify(e))
    expect(changed).toEqual([])
  })

  it('yields events in event-time order when no disorder is configured', () => {
    expect(events.filter((e, i) => i > 0 && e.ts < events[i - 1]!.ts)).toEqual([])
  })

  it('expands each session into play, heartbeats every heartbeatSec of watching, pauses, and a stop when it stopped', () => {
    const byDevice = new Map<string, IdrEvent[]>()
    for (const e of events) {
      if (e.kind === 'touch' || e.kind === 'convert') continue
      const list = byDevice.get(e.device)
      if (list) list.push(e)
      else byDevice.set(e.device, [e])
    }
    // a play opens each session, so a device's events split at the plays must reproduce its session records
    const seen: unknown[] = []
    const expected: unknown[] = []
    for (const h of sim.households) {
      for (const s of h.sessions) {
        const beats = heartbeatCount(s.durationSec, h.heartbeatSec)
        expected.push({
          device: s.device, start: s.startMs, deviceType: s.deviceType, screenIn: s.screenIn, content: s.content, genres: s.genres,
          truths: [s.truth], ordered: true, heartbeats: beats, pauses: s.pauses.length, stop: s.stopped,
          watched: s.stopped ? s.durationSec : beats * h.heartbeatSec, last: s.stopped ? s.endMs : 'silent',
        })
      }
      for (const d of h.devices) {
        const groups: IdrEvent[][] = []
        for (const e of byDevice.get(d.id) ?? []) (e.kind === 'play' ? groups.push([e]) : groups.at(-1)!.push(e))
        for (const g of groups) {
          const play = g[0]!
          const stop = g.at(-1)!.kind === 'stop'
          seen.push({
            device: d.id, start: play.ts, deviceType: play.deviceType, screenIn: play.screenIn, content: play.content, genres: play.genres,
            truths: [...new Set(g.map((e) => e.truth))], ordered: g.every((e, k) => k === 0 || e.ts >= g[k - 1]!.ts),
            heartbeats: g.filter((e) => e.kind === 'heartbeat').length, pauses: g.filter((e) => e.kind === 'pause').length, stop,
            watched: g.reduce((acc, e) => acc + e.durationSec!, 0), last: stop ? g.at(-1)!.ts : 'silent',
          })
        }
      }
    }
    const key = (x: unknown) => { const r = x as { device: string, start: number }; return `${r.device}@${r.start}` }
    const order = (xs: unknown[]) => xs.sort((a, b) => (key(a) < key(b) ? -1 : 1))
    expect(seen.length).toBe(expected.length)
    expect(order(seen)).toEqual(order(expected))
  })

  it('never overlaps two sessions on one device', () => {
    for (const h of sim.households) {
      for (const d of h.devices) {
        const ss = h.sessions.filter((s) => s.device === d.id)
        for (let i = 1; i < ss.length; i++) expect(ss[i]!.startMs).toBeGreaterThanOrEqual(ss[i - 1]!.endMs)
      }
    }
  })

  it('leaves a device idle for more than 30 minutes after a session that went silent', () => {
    for (const h of sim.households) {
      for (const d of h.devices) {
        const ss = h.sessions.filter((s) => s.device === d.id)
        for (let i = 1; i < ss.length; i++) {
          const prev = ss[i - 1]!
          if (prev.stopped) continue
          const lastEvent = prev.startMs + heartbeatCount(prev.durationSec, h.heartbeatSec) * h.heartbeatSec * 1000 + prev.pauses.reduce((a, p) => a + p.gapMs, 0)
          expect(ss[i]!.startMs - lastEvent).toBeGreaterThan(30 * 60_000)
        }
      }
    }
  })

  it('labels touches and conversions with the person, on a device of the household', () => {
    const marketing = events.filter((e) => e.kind === 'touch' || e.kind === 'convert')
    expect(marketing.filter((e) => e.kind === 'touch').length).toBeGreaterThan(100)
    expect(marketing.filter((e) => e.kind === 'convert').length).toBeGreaterThan(5)
    const byAccount = new Map(sim.households.map((h) => [h.account, h]))
    for (const e of marketing) {
      const h = byAccount.get(e.account)!
      expect(h.persons.map((p) => p.id)).toContain(e.truth)
      expect(h.devices.map((d) => d.id)).toContain(e.device)
    }
  })
})

describe('simulate: sessions and households', () => {
  it('draws household sizes in the configured shares', () => {
    const n = 4000
    const sim = simulate({ households: n, days: 1, marketing: false })
    DEFAULT_SIZE_MIX.forEach((p, i) => expectShare(sim.households.filter((h) => h.persons.length === i + 1).length, n, p))
    const custom = simulate({ households: 500, days: 1, sizeMix: [0, 0, 1] })
    expect(custom.households.every((h) => h.persons.length === 3)).toBe(true)
  })

  it('labels co-viewing sessions with both persons, on shared devices only, at the configured rate', () => {
    const sim = simulate({ households: 300, days: 14, coViewingRate: 0.1, marketing: false })
    let shared = 0
    let co = 0
    const bad: unknown[] = []
    for (const h of sim.households) {
      const sharedIds = new Set(h.devices.filter((d) => d.owner === null).map((d) => d.id))
      for (const s of h.sessions) {
        const pair = s.persons.length === 2 && s.persons[0] !== s.persons[1]
        const ok = s.truth === s.persons.join('+') && s.persons.includes(s.initiator) && s.coViewing === pair && (s.persons.length === 1 || pair)
          && (!s.coViewing || sharedIds.has(s.device))
        if (!ok) bad.push(s)
        if (h.persons.length > 1 && sharedIds.has(s.device)) {
          shared++
          co += s.coViewing ? 1 : 0
        }
      }
    }
    expect(bad).toEqual([])
    expectShare(co, shared, 0.1)
    expect(allSessions(simulate({ households: 50, days: 7, coViewingRate: 0 })).some((s) => s.coViewing)).toBe(false)
  })

  it('ends sessions with a stop at the configured rate', () => {
    const sessions = allSessions(simulate({ households: 200, days: 14, stopRate: 0.7, marketing: false }))
    expectShare(sessions.filter((s) => s.stopped).length, sessions.length, 0.7)
  })

  it('lets personal devices be used mostly by their owner', () => {
    const sim = simulate({ households: 300, days: 14, marketing: false })
    let own = 0
    let total = 0
    for (const h of sim.households) {
      const owner = new Map(h.devices.map((d) => [d.id, d.owner]))
      for (const s of h.sessions) {
        const o = owner.get(s.device)
        if (o === null || o === undefined) continue
        total++
        own += s.initiator === o ? 1 : 0
      }
    }
    // measured 0.93 here ('default'; 0.96 on 'easy', 0.85 on 'hard' with 300 households × 30 days)
    expect(own / total).toBeGreaterThan(0.88)
  })

  it('gives devices realistic screens and consoles the screen of their TV', () => {
    const sim = simulate({ households: 300, days: 1, marketing: false })
    const range = { tv: [40, 75], desktop: [13, 27], tablet: [8, 13], mobile: [5, 7] } as const
    for (const h of sim.households) {
      const tv = h.devices.find((d) => d.deviceType === 'tv')!
      for (const d of h.devices) {
        if (d.deviceType === 'console') expect(d.screenIn).toBe(tv.screenIn)
        else {
          const [lo, hi] = range[d.deviceType as keyof typeof range]
          expect(d.screenIn).toBeGreaterThanOrEqual(lo)
          expect(d.screenIn).toBeLessThanOrEqual(hi)
        }
      }
    }
  })

  it('records one change in about changeRate of households, and applies it from its day on', () => {
    const sim = simulate({ households: 400, days: 20, changeRate: 0.25, marketing: false })
    const changed = sim.households.filter((h) => h.changes.length > 0)
    expectShare(changed.length, 400, 0.25)
    const withDevice = changed.filter((h) => h.changes[0]!.kind === 'device')
    expect(withDevice.length).toBeGreaterThan(10)
    for (const h of changed) {
      const c = h.changes[0]!
      expect(h.regimes.map((r) => r.fromDay)).toEqual([0, c.day])
      if (c.kind === 'device') {
        const uses = h.sessions.filter((s) => s.device === c.device)
        expect(uses.every((s) => s.day >= c.day)).toBe(true)
        expect(h.devices.find((d) => d.id === c.device)).toMatchObject({ owner: c.person, fromDay: c.day })
      } else {
        const p = h.persons.findIndex((x) => x.id === c.person)
        const before = h.regimes[0]!.persons[p]!.hours[0]!.meanH
        const after = h.regimes[1]!.persons[p]!.hours[0]!.meanH
        expect(((after - before - c.shiftHours) % 24 + 36) % 24 - 12).toBeCloseTo(0, 9)
      }
    }
    expect(simulate({ households: 100, days: 20, changeRate: 0 }).households.every((h: SimHousehold) => h.changes.length === 0)).toBe(true)
  })
})

describe('simulate: pauses and marketing', () => {
  it('puts pauses strictly inside complete heartbeat intervals, at pauseRate per interval, each at most 15 minutes', () => {
    const sim = simulate({ households: 200, days: 14, pauseRate: 0.2, marketing: false })
    let intervals = 0
    let pauses = 0
    const bad: unknown[] = []
    for (const h of sim.households) {
      const H = h.heartbeatSec
      for (const s of h.sessions) {
        const beats = heartbeatCount(s.durationSec, H)
        intervals += beats
        pauses += s.pauses.length
        const slots = s.pauses.map((p) => Math.floor(p.atSec / H))
        const ok = s.pauses.every((p, i) => p.atSec % H !== 0 && slots[i]! < beats && (i === 0 || slots[i]! > slots[i - 1]!) && p.gapMs > 0 && p.gapMs <= 15 * 60_000)
        if (!ok) bad.push(s)
      }
    }
    expect(bad).toEqual([])
    expect(Math.abs(pauses / intervals - 0.2)).toBeLessThan(4 * Math.sqrt((0.2 * 0.8) / intervals))
  })

  it('converts a touch more often when the person had more touches in the past week', () => {
    const sim = simulate({ households: 400, days: 30 })
    const touches = new Map<number, number>()
    const conversions = new Map<number, number>()
    for (const h of sim.households) {
      for (const p of h.persons) {
        const mine = h.marketing.filter((m) => m.person === p.id)
        const times = mine.filter((m) => m.kind === 'touch').map((m) => m.ts)
        for (const t of times) {
          const k = Math.min(3, times.filter((u) => u <= t && u > t - 7 * 86_400_000).length)
          touches.set(k, (touches.get(k) ?? 0) + 1)
        }
        for (const m of mine) if (m.kind === 'convert') conversions.set(Math.min(3, m.recentTouches), (conversions.get(Math.min(3, m.recentTouches)) ?? 0) + 1)
      }
    }
    const rate = (k: number) => (conversions.get(k) ?? 0) / touches.get(k)!
    // P ∝ 1 − e^(−k/2): 0.39 for k = 1, ≥ 0.78 for k ≥ 3, so about twice the rate (measured 0.055 vs 0.103,
    // from 91 and 434 conversions; organic conversions, 0.3 % per person-day, add a little to each)
    expect(touches.get(1)).toBeGreaterThan(1000)
    expect(touches.get(3)).toBeGreaterThan(1000)
    expect(rate(3)).toBeGreaterThan(1.4 * rate(1))
  })
})

describe('simulate: options', () => {
  const code = (o: unknown) => {
    try {
      simulate(o as SimOptions)
    } catch (e) {
      expect(e).toBeInstanceOf(OptionError)
      return [(e as OptionError).code, (e as Error).message]
    }
    throw new Error('expected an OptionError')
  }

  it('rejects bad values by name', () => {
    expect(code({ households: -5 })).toEqual(['BAD_OPTION', expect.stringContaining('households must be a positive integer')])
    expect(code({ households: -5 })[1]).toContain('got -5')
    expect(code({ days: 0 })[1]).toContain('days')
    expect(code({ difficulty: 'brutal' })[1]).toContain('difficulty must be one of easy, default, hard')
    expect(code({ coViewingRate: 1.5 })[1]).toContain('coViewingRate')
    expect(code({ sizeMix: [0, 0] })[1]).toContain('sizeMix')
    expect(code({ sizeMix: [1, 1, 1, 1, 1, 1, 1] })[1]).toContain('sizeMix')
    expect(code({ startMs: Date.UTC(2026, 0, 5, 3) })[1]).toContain('UTC midnight')
    expect(code({ heartbeatSec: 1 })[1]).toContain('heartbeatSec')
  })

  it('catches misspelt option names', () => {
    expect(code({ househlds: 5 })).toEqual(['BAD_OPTION', expect.stringContaining('did you mean "households"')])
  })

  it('reports the options in effect, defaults filled in', () => {
    const sim = simulate({ households: 2, days: 1 })
    expect(sim.options).toMatchObject({ households: 2, days: 1, seed: 1, difficulty: 'default', heartbeatSec: 300, stopRate: 0.85, coViewingRate: 0.05 })
  })
})
