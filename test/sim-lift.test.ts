// Per-person causal lift (src/sim/lift.ts): persona-dependent factors on CHANNEL_LIFT, drawn from their own
// streams so that every touch and every draw of the marketing stream is the one drawn without them.
import { describe, expect, it } from 'vitest'
import { CHANNELS } from '../src/model/events.js'
import { planHousehold, type HouseholdPlan } from '../src/sim/household.js'
import { drawLiftFactors, LIFT_SIGMA } from '../src/sim/lift.js'
import { drawMarketing } from '../src/sim/marketing.js'
import { ARCHETYPES, drawPerson } from '../src/sim/personas.js'
import { rng } from '../src/sim/random.js'
import { deriveSeed } from '../src/sim/sampling.js'
import { householdMarketing, resolveOptions, simulate, STREAM } from '../src/sim/simulator.js'
import type { SimMarketingEvent } from '../src/sim/types.js'

const O = resolveOptions({ households: 80, days: 30, seed: 5 })
const plans: HouseholdPlan[] = Array.from({ length: O.households }, (_, i) => planHousehold(rng(deriveSeed(O.seed, STREAM.household, i)), i, O))
const key = (m: SimMarketingEvent) => `${m.kind} ${m.ts} ${m.person} ${m.device} ${m.kind === 'touch' ? m.channel : m.value}`
const neutral = (plan: HouseholdPlan) => drawMarketing(rng(deriveSeed(O.seed, STREAM.marketing, plan.index)), plan, O)
const withFactor = (plan: HouseholdPlan, factor: number) => drawMarketing(rng(deriveSeed(O.seed, STREAM.marketing, plan.index)), plan, O, undefined, {
  factors: plan.bases.map(() => new Float64Array(CHANNELS.length).fill(factor)),
  extra: rng(deriveSeed(O.seed, STREAM.liftConversions, plan.index)),
})
const touches = (ms: readonly SimMarketingEvent[]) => ms.filter((m) => m.kind === 'touch').map(key)
const conversions = (ms: readonly SimMarketingEvent[]) => ms.filter((m) => m.kind === 'convert').map(key)

describe('person lift: alignment with the run without it', () => {
  it('draws the same touches as without person lifts, in every household', () => {
    for (const plan of plans) expect(touches(householdMarketing(plan, O))).toEqual(touches(neutral(plan)))
  })

  it('gives exactly the run without person lifts when every factor is 1', () => {
    for (const plan of plans) expect(withFactor(plan, 1)).toEqual(neutral(plan))
  })

  it('keeps every conversion of the run without lifts, same time, device and value, when every factor is above 1', () => {
    let added = 0
    for (const plan of plans) {
      const base = conversions(neutral(plan))
      const lifted = new Set(conversions(withFactor(plan, 1.5)))
      for (const c of base) expect(lifted.has(c)).toBe(true)
      added += lifted.size - base.length
    }
    expect(added).toBeGreaterThan(0)
  })

  it('leaves the sessions of simulate() unchanged and only adds or removes conversions', () => {
    const sim = simulate(O)
    for (const h of sim.households) {
      const plan = plans[h.index]!
      expect(touches(h.marketing)).toEqual(touches(neutral(plan)))
      expect(h.marketing).toEqual(householdMarketing(plan, O))
    }
    const lifted = sim.households.reduce((s, h) => s + conversions(h.marketing).length, 0)
    const without = plans.reduce((s, p) => s + conversions(neutral(p)).length, 0)
    expect(lifted).not.toBe(without)
  })
})

describe('person lift: factors', () => {
  const teen = ARCHETYPES.find((a) => a.name === 'teen-scifi')!
  const r = rng(11)
  const persons = Array.from({ length: 4000 }, (_, i) => drawPerson(r, `p${i}`, teen))
  const factors = drawLiftFactors(rng(12), persons)
  const at = (c: (typeof CHANNELS)[number]) => factors.map((f) => f[CHANNELS.indexOf(c)]!)
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

  it('averages the persona\'s lift per channel (1 where the persona names none)', () => {
    // mean of persona · e^(σZ − σ²/2) is the persona's lift; sd of the mean ≈ persona · 0.53 / √4000 ≈ 0.008 · persona
    expect(mean(at('social'))).toBeCloseTo(teen.lift.social!, 1)
    expect(mean(at('email'))).toBeCloseTo(teen.lift.email!, 1)
    expect(mean(at('search'))).toBeCloseTo(1, 1)
  })

  it('spreads a person\'s factor lognormally with sd LIFT_SIGMA on the log scale', () => {
    const logs = at('display').map(Math.log)
    const m = mean(logs)
    const sd = Math.sqrt(mean(logs.map((x) => (x - m) ** 2)))
    expect(sd).toBeCloseTo(LIFT_SIGMA, 1)
    expect(m).toBeCloseTo(-0.5 * LIFT_SIGMA * LIFT_SIGMA, 1)
  })

  it('depends only on the lift stream: the same seed gives the same factors', () => {
    expect(drawLiftFactors(rng(12), persons)).toEqual(factors)
    expect(drawLiftFactors(rng(13), persons)).not.toEqual(factors)
  })
})
