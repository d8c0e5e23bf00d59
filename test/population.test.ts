import { describe, expect, it } from 'vitest'
import { defaultKernels } from '../src/kernels/backend.js'
import { KernelOps } from '../src/kernels/ops.js'
import { allocEncoded, encodeObservation } from '../src/model/mixture.js'
import { encodePopulationRow, fitPopulation, type PopulationModel, type PopulationRow } from '../src/model/population.js'
import { PROFILE_PRIORS, fitProfilePersons, refineProfilePersons, responsibilities, selectProfilePersons, type ProfileRows } from '../src/model/profile-persons.js'
import { learnStrengths } from '../src/model/population-strength.js'
import { lnGamma } from '../src/model/special.js'
import { rng, type Rng } from '../src/sim/random.js'

const ops = new KernelOps(defaultKernels())
const KIDS = 12, DRAMA = 0, TV = 0, TABLET = 3

interface Row extends PopulationRow { readonly slot: number, readonly who: string }

/** Morning children's titles on a tablet, ~30 min. */
function morningKids(r: Rng, slot: number, who: string): Row {
  return { hour: (8 + r.normal() + 24) % 24, weekday: Math.floor(r.uniform() * 7), deviceType: TABLET, genre: KIDS, logMinutes: Math.log1p(30) + 0.3 * r.normal(), slot, who }
}
/** Evening drama on the TV, ~60 min. */
function eveningDrama(r: Rng, slot: number, who: string): Row {
  return { hour: (21 + r.normal() + 24) % 24, weekday: Math.floor(r.uniform() * 7), deviceType: TV, genre: DRAMA, logMinutes: Math.log1p(60) + 0.3 * r.normal(), slot, who }
}
/** Traits that carry nothing: any hour, genre, device type and length. */
function noise(r: Rng, slot: number, who: string): Row {
  return { hour: 24 * r.uniform(), weekday: Math.floor(r.uniform() * 7), deviceType: Math.floor(r.uniform() * 5), genre: Math.floor(r.uniform() * 17), logMinutes: 1 + 4 * r.uniform(), slot, who }
}

function rowsOf(sessions: readonly Row[]): { rows: ProfileRows, init: ReturnType<typeof allocEncoded> } {
  const e = allocEncoded(sessions.length)
  const init = allocEncoded(sessions.length)
  sessions.forEach((s, i) => {
    encodePopulationRow(s, e, i)
    encodeObservation({ ...s, device: s.slot, startSec: 0 }, init, i)
  })
  return { rows: { e, slot: Int32Array.from(sessions, (s) => s.slot) }, init }
}

function population(make: (r: Rng) => Row, seed: number): PopulationModel {
  const r = rng(seed)
  const train = Array.from({ length: 1200 }, () => make(r))
  const heldOut = Array.from({ length: 300 }, () => make(r))
  return fitPopulation(ops, train, heldOut, { sizes: [1, 2, 4, 8], seed: 1 }).model
}

const mixedWorld = (r: Rng) => (r.uniform() < 0.5 ? morningKids(r, 0, '') : eveningDrama(r, 0, ''))
const select = { kMax: 5, nInit: 2, minPersonSessions: 3, seed: 7 }

describe('lnGamma', () => {
  it('matches known values and the recurrence', () => {
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 12)
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12)
    for (const x of [0.003, 0.3, 7.7, 123.4, 1e4]) expect(lnGamma(x + 1) - lnGamma(x)).toBeCloseTo(Math.log(x), 9)
  })
})

describe('population model', () => {
  it('chooses its size by held-out likelihood and is deterministic', () => {
    const r = rng(3)
    const train = Array.from({ length: 1200 }, () => mixedWorld(r))
    const heldOut = Array.from({ length: 300 }, () => mixedWorld(r))
    const a = fitPopulation(ops, train, heldOut, { sizes: [1, 2, 4], seed: 1 })
    const b = fitPopulation(ops, train, heldOut, { sizes: [1, 2, 4], seed: 1 })
    expect(a.model.version).toBe(b.model.version)
    expect(a.heldOut.map((h) => h.size)).toEqual([1, 2, 4])
    // two kinds of session: one profile explains the held-out sessions worse than two
    expect(a.heldOut[1]!.logLik).toBeGreaterThan(a.heldOut[0]!.logLik + 0.5)
    expect(a.model.size).toBeGreaterThanOrEqual(2)
  })
})

describe('persons under the population model', () => {
  const pop = population(mixedWorld, 5)

  it('finds two persons with different habits from 30 sessions each', () => {
    const r = rng(11)
    const sessions = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? morningKids(r, 1, 'a') : eveningDrama(r, 0, 'b')))
    const { rows, init } = rowsOf(sessions)
    const fit = selectProfilePersons(ops, rows, init, pop, PROFILE_PRIORS, select)
    expect(fit.persons.k).toBe(2)
    const one = fitProfilePersons(rows, pop, 1, new Float64Array(60).fill(1))
    expect(fit.evidence).toBeGreaterThan(one.evidence)
    // the two persons split the sessions as the truth does
    const top = sessions.map((_, i) => (fit.resp[i * 2]! > 0.5 ? 0 : 1))
    const agree = sessions.filter((s, i) => (s.who === 'a') === (top[i] === top[0])).length
    expect(agree).toBe(60)
  })

  it('finds a second person by a local move from one (split), and keeps two that are two', () => {
    const r = rng(14)
    const sessions = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? morningKids(r, 1, 'a') : eveningDrama(r, 0, 'b')))
    const { rows, init } = rowsOf(sessions)
    const one = fitProfilePersons(rows, pop, 1, new Float64Array(60).fill(1)).persons
    const two = refineProfilePersons(ops, rows, init, pop, PROFILE_PRIORS, select, responsibilities(one, rows), 1)
    expect(two.persons.k).toBe(2)
    const again = refineProfilePersons(ops, rows, init, pop, PROFILE_PRIORS, select, responsibilities(two.persons, rows), 2)
    expect(again.persons.k).toBe(2)
  })

  it('keeps one person with one habit whole', () => {
    const r = rng(12)
    const sessions = Array.from({ length: 60 }, () => eveningDrama(r, 0, 'a'))
    const { rows, init } = rowsOf(sessions)
    expect(selectProfilePersons(ops, rows, init, pop, PROFILE_PRIORS, select).persons.k).toBe(1)
  })

  it('does not split a household on traits that carry no signal', () => {
    const noisePop = population((r) => noise(r, 0, ''), 6)
    for (const seed of [21, 22, 23]) {
      const r = rng(seed)
      // three people whose sessions are drawn from the same noise, each on any of the household's three devices
      const sessions = Array.from({ length: 90 }, (_, i) => {
        const slot = Math.floor(r.uniform() * 3)
        return { ...noise(r, slot, `p${i % 3}`), deviceType: [TV, 2, TABLET][slot]! }
      })
      const { rows, init } = rowsOf(sessions)
      expect(selectProfilePersons(ops, rows, init, noisePop, PROFILE_PRIORS, select).persons.k).toBe(1)
    }
  })

  it('scores a session on a device it has never seen', () => {
    const r = rng(13)
    const sessions = Array.from({ length: 20 }, () => eveningDrama(r, 0, 'a'))
    const fit = fitProfilePersons(rowsOf(sessions).rows, pop, 1, new Float64Array(20).fill(1))
    const fresh = rowsOf([morningKids(r, 5, 'x')]).rows
    const out = new Float64Array(1)
    fit.persons.logJoint(fresh, 0, out, new Float64Array(pop.size))
    expect(Number.isFinite(out[0]!)).toBe(true)
  })
})

describe('trait strengths learned at population level', () => {
  /** Households of two persons; `person` draws one session of person p of household h. */
  function world(person: (r: Rng, h: number, p: number) => Row, seed: number) {
    const r = rng(seed)
    const households = Array.from({ length: 24 }, (_, h) => Array.from({ length: 40 }, (_, i) => person(r, h, i % 2)))
    const pooled = households.flat()
    const pop = fitPopulation(ops, pooled.slice(0, 720), pooled.slice(720), { sizes: [1, 2, 4, 8], seed: 1 }).model
    return learnStrengths(ops, households.map((s) => rowsOf(s)), pop, PROFILE_PRIORS, select).priors.strength
  }

  it('is high for a trait on which persons are their profile and low for a personal habit', () => {
    // persons are one of two profiles: they follow them closely
    const shared = world((r, _h, p) => (p === 0 ? morningKids(r, 1, 'a') : eveningDrama(r, 0, 'b')), 31)
    // each person has their own hour, anywhere in the day; nothing else differs
    const hours = Array.from({ length: 48 }, (_, x) => (x * 7.3) % 24)
    const personal = world((r, h, p) => ({ ...noise(r, 0, `p${p}`), deviceType: TV, hour: (hours[2 * h + p]! + 0.7 * r.normal() + 24) % 24 }), 32)
    expect(shared.time).toBeGreaterThanOrEqual(30)
    expect(personal.time).toBeLessThanOrEqual(10)
    expect(personal.time).toBeLessThan(shared.time)
  })
})
