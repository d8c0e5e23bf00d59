// The unseen mass: a posterior over the household's size gives every assignment the share of members not
// found yet, so a household that may hold a second person never gets p = 1.00 (src/model/unseen.ts).
import { describe, expect, it } from 'vitest'
import { Household, UNKNOWN_PERSON } from '../src/model/household.js'
import { CENSUS_SIZE_PRIOR, DEFAULT_DETECTION, UnseenMass, detectionAt, fitDetection, sizePosterior, type SizeObservation } from '../src/model/unseen.js'
import { evaluateEvents } from '../src/sim/evaluate.js'
import { rng } from '../src/sim/random.js'
import { simulate } from '../src/sim/simulator.js'
import { validateEvent, type IdrEvent } from '../src/model/events.js'

describe('the size posterior', () => {
  it('is a distribution over sizes of at least the persons found', () => {
    const post = sizePosterior(CENSUS_SIZE_PRIOR, DEFAULT_DETECTION, 2, 40)
    expect(post[0]).toBe(0)
    expect(post.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
  })

  it('keeps the prior while nothing can have been found yet, and trusts what was found after many sessions', () => {
    const u = new UnseenMass()
    // n = 0, d ≈ 0.014: P(K | k̂ = 1) ≈ prior, U ≈ Σ prior(K)·(K − 1)/K = 0.432 for the census prior
    const atStart = CENSUS_SIZE_PRIOR.reduce((a, p, i) => a + p * i / (i + 1), 0)
    expect(u.of(1, 0)).toBeCloseTo(atStart, 1)
    expect(u.of(1, 10)).toBeGreaterThan(u.of(1, 100))
    expect(u.of(1, 100)).toBeGreaterThan(u.of(1, 1000))
    expect(u.of(1, 1000)).toBeLessThan(0.05)
    expect(u.of(6, 5)).toBe(0) // the prior's largest size: no one left to find
  })

  it('recovers a detection curve from the sizes it generates (unsupervised: no truth)', () => {
    const truth = { a: -3.5, b: 0.8, c: 0.9 }
    let seed = 7
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
    const obs: SizeObservation[] = []
    for (let h = 0; h < 3000; h++) {
      let r = rand()
      let size = 1
      while (size < CENSUS_SIZE_PRIOR.length && (r -= CENSUS_SIZE_PRIOR[size - 1]!) > 0) size++
      const n = Math.floor(2 ** (rand() * 9))
      let k = 1
      for (let m = 1; m < size; m++) k += rand() < detectionAt(truth, n) ? 1 : 0
      obs.push({ k, n })
    }
    const fit = fitDetection(obs).detection
    for (const n of [5, 30, 200]) expect(Math.abs(detectionAt(fit, n) - detectionAt(truth, n))).toBeLessThan(0.06)
  })

  it('refuses a prior or a detection curve that is not one, by name', () => {
    expect(() => new UnseenMass({ prior: [0.5, -1] })).toThrow(/unseen.prior/)
    expect(() => new UnseenMass({ detection: { a: 0, b: -1, c: 1 } })).toThrow(/unseen.detection/)
    expect(() => new Household('a', { unseen: { priors: [1] } as never })).toThrow(/unknown option "priors"/)
  })
})

/** One viewer: evening dramas on one TV around 20:00, about an hour a day. */
function oneViewer(days: number): IdrEvent[] {
  const r = rng(3)
  const out: IdrEvent[] = []
  for (let d = 0; d < days; d++) {
    const ts = Date.UTC(2026, 0, 5 + d, 20) + Math.round(r.normal() * 30 * 60_000)
    const base = { v: 1, account: 'a', device: 'tv' }
    out.push(validateEvent({ ...base, id: `e${d}a`, ts, kind: 'play', deviceType: 'tv', content: 'drama1', genres: ['drama'] }))
    out.push(validateEvent({ ...base, id: `e${d}b`, ts: ts + 3_600_000, kind: 'stop', durationSec: 3000 + Math.round(r.normal() * 300) }))
  }
  return out
}

describe('assignments carry the unseen mass', () => {
  it('gives a one-viewer household no near-certain assignment in its first 20 sessions, and sums to 1', () => {
    const h = new Household('a')
    const finals = oneViewer(20).flatMap((e) => h.push(e).assignments).filter((a) => a.stage === 'close')
    const last = finals.at(-1)!
    expect(h.persons.k).toBeLessThan(6)
    expect(last.persons.find((q) => q.person === UNKNOWN_PERSON)!.p).toBeGreaterThan(0.1)
    expect(Math.max(...finals.map((a) => a.persons[0]!.p))).toBeLessThan(0.9)
    expect(last.persons.reduce((a, q) => a + q.p, 0)).toBeCloseTo(1, 12)
  })

  it('is off with unseen: false (the identified persons share all the mass)', () => {
    const h = new Household('a', { unseen: false })
    const last = oneViewer(20).flatMap((e) => h.push(e).assignments).filter((a) => a.stage === 'close').at(-1)!
    expect(last.persons.some((q) => q.person === UNKNOWN_PERSON)).toBe(false)
    expect(last.persons.reduce((a, q) => a + q.p, 0)).toBeCloseTo(1, 12)
  })
})

describe('calibration on simulated households (regression floor)', () => {
  it('lowers ECE well below the model without it and keeps accuracy (measured 0.161 → 0.087, 100 × 30 days)', () => {
    const sim = simulate({ households: 100, days: 30, seed: 5 })
    const before = evaluateEvents(sim.events(), { household: { unseen: false, temperature: 9 } })
    const after = evaluateEvents(sim.events())
    expect(after.ece).toBeLessThan(before.ece - 0.06)
    expect(after.accuracy).toBeGreaterThan(before.accuracy - 0.02)
  })
})
