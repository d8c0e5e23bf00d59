// Ground truth for attribution (src/sim/ground-truth.ts): counterfactual runs aligned with the factual one, and
// the comparison of person-level against account-level attribution on a scenario where the answer is known.
import { describe, expect, it } from 'vitest'
import { buildJourneys } from '../src/account/index.js'
import { attribute, creditByChannel, MODELS, nmae, ranks, shareError, spearman } from '../src/attribution/index.js'
import type { IdrEvent } from '../src/model/events.js'
import { counterfactualMarketing, groundTruth, SIM_CHANNELS } from '../src/sim/ground-truth.js'
import { simulate } from '../src/sim/simulator.js'
import type { SimMarketingEvent } from '../src/sim/types.js'

const OPTIONS = { households: 60, days: 30, seed: 3 }
const key = (m: SimMarketingEvent) => `${m.kind} ${m.ts} ${m.person} ${m.device} ${m.kind === 'touch' ? m.channel : m.value}`

describe('ground truth: counterfactual runs', () => {
  const sim = simulate(OPTIONS)

  it('reproduces the plain simulator\'s marketing exactly when no channel is switched off', () => {
    for (const h of sim.households.slice(0, 20)) expect(counterfactualMarketing(OPTIONS, h.index, [])).toEqual(h.marketing)
    const conversions = sim.households.reduce((s, h) => s + h.marketing.filter((m) => m.kind === 'convert').length, 0)
    expect(groundTruth(OPTIONS).conversions).toBe(conversions)
  })

  it('changes nothing when the channel switched off has no touches', () => {
    // the simulator never draws `other`; and a household without any email touch
    const h = sim.households.find((x) => !x.marketing.some((m) => m.kind === 'touch' && m.channel === 'email'))!
    expect(counterfactualMarketing(OPTIONS, h.index, ['email'])).toEqual(h.marketing)
    expect(counterfactualMarketing(OPTIONS, 0, ['other'])).toEqual(sim.households[0]!.marketing)
    expect(groundTruth(OPTIONS, ['other']).channels[0]!.incremental).toBe(0)
  })

  it('removes exactly the channel\'s touches and keeps every other draw: its conversions are a subset of the factual ones', () => {
    let lost = 0
    for (const h of sim.households) {
      for (const channel of ['email', 'social', 'search'] as const) {
        const cf = counterfactualMarketing(OPTIONS, h.index, [channel])
        const factualTouches = h.marketing.filter((m) => m.kind === 'touch' && m.channel !== channel).map(key)
        expect(cf.filter((m) => m.kind === 'touch').map(key)).toEqual(factualTouches)
        const factualConversions = new Set(h.marketing.filter((m) => m.kind === 'convert').map(key))
        const cfConversions = cf.filter((m) => m.kind === 'convert').map(key)
        for (const c of cfConversions) expect(factualConversions.has(c)).toBe(true)
        lost += factualConversions.size - cfConversions.length
      }
    }
    expect(lost).toBeGreaterThan(0)
  })

  it('gives non-negative incremental conversions that depend only on the seed', () => {
    const a = groundTruth(OPTIONS)
    expect(groundTruth(OPTIONS)).toEqual(a)
    expect(a.channels.map((c) => c.channel)).toEqual(SIM_CHANNELS)
    for (const c of a.channels) expect(c.incremental).toBeGreaterThanOrEqual(0)
    expect(a.channels.some((c) => c.incremental > 0)).toBe(true)
    expect(groundTruth({ ...OPTIONS, seed: 4 })).not.toEqual(a)
  })
})

describe('ground truth: per person', () => {
  const truth = groundTruth(OPTIONS)
  const sim = simulate(OPTIONS)

  it('lists every person of every household, with their factual conversions', () => {
    expect(truth.persons.map((p) => `${p.account} ${p.person}`)).toEqual(sim.households.flatMap((h) => h.persons.map((p) => `${h.account} ${p.id}`)))
    for (const h of sim.households) {
      for (const p of h.persons) {
        const mine = h.marketing.filter((m) => m.kind === 'convert' && m.person === p.id).length
        expect(truth.persons.find((x) => x.account === h.account && x.person === p.id)!.conversions).toBe(mine)
      }
    }
  })

  it('sums over persons to the channel totals', () => {
    truth.channels.forEach((c, k) => {
      const of = (f: (x: (typeof truth.channels)[number]) => number) => truth.persons.reduce((s, p) => s + f(p.channels[k]!), 0)
      expect(of((x) => x.incremental)).toBe(c.incremental)
      expect(of((x) => x.touches)).toBe(c.touches)
      expect(of((x) => x.incrementalValue)).toBeCloseTo(c.incrementalValue, 6)
    })
    expect(truth.persons.reduce((s, p) => s + p.conversions, 0)).toBe(truth.conversions)
  })

  it('gives 0 incremental conversions to a channel the person was never touched by, and never a negative count', () => {
    let untouched = 0
    let credited = 0
    for (const p of truth.persons) {
      for (const c of p.channels) {
        expect(c.incremental).toBeGreaterThanOrEqual(0)
        if (c.touches === 0) {
          untouched++
          expect(c.incremental).toBe(0)
          expect(c.incrementalValue).toBe(0)
        } else if (c.incremental > 0) credited++
      }
    }
    expect(untouched).toBeGreaterThan(0)
    expect(credited).toBeGreaterThan(0)
  })
})

describe('comparison scores', () => {
  it('computes NMAE, share error and Spearman by their definitions', () => {
    expect(nmae([2, 0], [1, 1])).toBeCloseTo(1, 12) // (1 + 1) / 2
    expect(shareError([2, 2], [1, 1])).toBeCloseTo(0, 12) // same shares, different totals
    expect(shareError([3, 1], [1, 1])).toBeCloseTo(0.5, 12) // |0.75 − 0.5| + |0.25 − 0.5|
    expect(Array.from(ranks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1])
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12)
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12)
    // ranks [1,2,3,4] vs [1,3,2,4]: 1 − 6·Σd²/(n(n²−1)) = 1 − 6·2/60 = 0.8
    expect(spearman([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12)
  })
})

/**
 * A household of two where the answer is known by construction: p1 (phone-1, evenings) is touched by search and
 * email, and each search touch converts with probability 0.4, each email touch with 0.15, 6 h later; p2
 * (phone-2, mornings) is touched by display, which never converts. So the true incremental conversions are
 * search's and email's own, display's are 0. Both watch on their phones daily, so the household model can learn
 * them. Seeded linear congruential draws.
 */
function knownScenario(accounts: number, days: number): { events: IdrEvent[], truth: Record<string, number> } {
  let s = 12345
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
  const truth: Record<string, number> = { search: 0, email: 0, display: 0 }
  const events: IdrEvent[] = []
  const day0 = Date.UTC(2026, 0, 5)
  for (let a = 0; a < accounts; a++) {
    const account = `acct-${a}`
    let n = 0
    const id = () => `${account}.${++n}`
    const watch = (ts: number, device: string, person: string, genre: 'drama' | 'news') => {
      events.push({ v: 1, id: id(), ts, account, device, kind: 'play', deviceType: 'mobile', screenIn: 6, content: `${genre}-1`, genres: [genre], durationSec: 0, truth: person })
      for (let k = 1; k <= 6; k++) events.push({ v: 1, id: id(), ts: ts + k * 300_000, account, device, kind: 'heartbeat', content: `${genre}-1`, durationSec: 300, truth: person })
      events.push({ v: 1, id: id(), ts: ts + 1_900_000, account, device, kind: 'stop', content: `${genre}-1`, durationSec: 100, truth: person })
    }
    for (let d = 0; d < days; d++) {
      const evening = day0 + d * 86_400_000 + 20 * 3_600_000 + Math.floor(u() * 1_800_000)
      const morning = day0 + d * 86_400_000 + 8 * 3_600_000 + Math.floor(u() * 1_800_000)
      watch(evening, 'phone-1', 'p1', 'drama')
      watch(morning, 'phone-2', 'p2', 'news')
      if (u() < 0.5) {
        const ts = morning + 600_000
        events.push({ v: 1, id: id(), ts, account, device: 'phone-2', kind: 'touch', channel: 'display', truth: 'p2' })
      }
      if (u() < 0.4) {
        const channel = u() < 0.5 ? 'search' : 'email'
        const ts = evening + 600_000
        events.push({ v: 1, id: id(), ts, account, device: 'phone-1', kind: 'touch', channel, truth: 'p1' })
        if (u() < (channel === 'search' ? 0.4 : 0.15)) {
          truth[channel]!++
          events.push({ v: 1, id: id(), ts: ts + 6 * 3_600_000, account, device: 'phone-1', kind: 'convert', value: 10, truth: 'p1' })
        }
      }
    }
  }
  events.sort((x, y) => x.ts - y.ts)
  return { events, truth }
}

describe('person level against account level', () => {
  it('is closer to the truth at person level (true persons, or model-assigned with hard conversions) when persons have distinct channels', () => {
    const { events, truth } = knownScenario(40, 40)
    const channels = ['search', 'email', 'display']
    const t = channels.map((c) => truth[c]!)
    expect(t[0]! + t[1]!).toBeGreaterThan(50)
    const { tables } = buildJourneys(events, { split: 'both' })
    for (const model of MODELS) {
      const err = (level: 'account' | 'person' | 'personHard' | 'oracle') => shareError(creditByChannel(attribute(tables[level]!, model), channels), t)
      // oracle: display is never on a converting path, so its credit is 0 under every model
      expect(creditByChannel(attribute(tables.oracle!, model), channels)[2]).toBe(0)
      // measured (seeded, deterministic): account 0.61–1.43 but last touch 0 (the converting touch is always
      // last); oracle 0.17–0.39; model-assigned with hard conversions 0.21–0.48 (last 0.005); soft 0.62–0.82
      if (model === 'last') {
        expect(err('oracle')).toBe(0)
        expect(err('personHard')).toBeLessThan(0.01)
      } else {
        expect(err('oracle'), model).toBeLessThan(err('account') - 0.2)
        expect(err('personHard'), model).toBeLessThan(err('account') - 0.1)
      }
      // the model's tempered probabilities (about 0.6 / 0.4 for a conversion at night) spread credit to the other
      // person's channel: the soft split is worse than the hard one here
      expect(err('personHard'), model).toBeLessThan(err('person'))
    }
  })
})
