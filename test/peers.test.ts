import { describe, expect, it } from 'vitest'
import { collectSessions, type PeerHousehold, type PeerSession } from '../bench/peers-data.js'
import { gaussianPeer, latentClassPeer, mostActivePeer } from '../bench/peers-models.js'
import { carryNames, nextRefitAt, scoreWithPeer } from '../bench/peers-protocols.js'
import { evaluateEvents, scoreHouseholds } from '../src/sim/evaluate.js'
import { simulate } from '../src/sim/simulator.js'

/** Two people nothing in common: a morning phone and drama, an evening TV and sport; b watches twice as often. */
function twoStrangers(): PeerHousehold {
  const sessions: PeerSession[] = []
  for (let i = 0; i < 60; i++) {
    const b = i % 3 !== 0
    sessions.push(b
      ? { hour: 20 + (i % 3) * 0.5, weekday: i % 7, device: 1, genre: 11, logMinutes: 4, deviceType: 0, content: 2, truth: 'b' }
      : { hour: 8 + (i % 2) * 0.5, weekday: i % 7, device: 0, genre: 0, logMinutes: 3, deviceType: 2, content: 1, truth: 'a' })
  }
  return { account: 'acct', sessions }
}

const score = (runs: Parameters<typeof scoreHouseholds>[0]) => scoreHouseholds(runs, 0, 1, null)

describe('the peers of bench/peers.ts', () => {
  it('finds two people who share nothing, offline, with k chosen by BIC', () => {
    const scored = scoreWithPeer(latentClassPeer(['hour', 'weekday', 'device', 'genre']), twoStrangers(), 'offline', 1)
    expect(scored.k).toBe(2)
    expect(score([scored]).accuracy).toBe(1)
  })

  it('labels them prequentially once the first refit has seen both', () => {
    const scored = scoreWithPeer(latentClassPeer(['hour', 'weekday', 'device', 'genre']), twoStrangers(), 'prequential', 1)
    // cold for 3 sessions, then BIC keeps one class on 3 and on 8 sessions: a's first five sessions go to b
    expect(scored.k).toBe(2)
    expect(score([scored]).accuracy).toBe(55 / 60)
    const last = new Map(scored.scored.map((s) => [s.truth, s.final[0]!.person]))
    expect(scored.scored.slice(13).every((s) => s.final[0]!.person === last.get(s.truth))).toBe(true)
  })

  it('never puts the two people in one class of the diagonal Gaussian mixture', () => {
    // the fixture's few distinct values let the Gaussians split a person further; they never mix the two
    const scored = scoreWithPeer(gaussianPeer(1), twoStrangers(), 'offline', 1)
    const truthsOf = new Map<string, Set<string>>()
    for (const s of scored.scored) truthsOf.set(s.final[0]!.person, (truthsOf.get(s.final[0]!.person) ?? new Set()).add(s.truth))
    expect(scored.k).toBeGreaterThanOrEqual(2)
    expect([...truthsOf.values()].every((t) => t.size === 1)).toBe(true)
  })

  it('scores the most-active oracle at the share of the most active person, with those shares as probabilities', () => {
    const scored = scoreWithPeer(mostActivePeer, twoStrangers(), 'offline', 1)
    const r = score([scored])
    expect(r.accuracy).toBeCloseTo(2 / 3, 12)
    expect(r.accuracy).toBeCloseTo(r.baselineDominant, 12)
    expect(scored.scored[0]!.final[0]).toEqual({ person: 'b', p: 2 / 3 })
  })

  it('keeps class names across a refit that finds the same people in another order', () => {
    const hh = twoStrangers()
    const peer = latentClassPeer(['hour', 'device'])
    const a = peer.fit(hh.sessions, 1)
    const b = peer.fit([...hh.sessions].reverse(), 7)
    const names = ['x', 'y']
    const carried = carryNames(a, names, b, hh.sessions)
    const pa = new Float64Array(2)
    const pb = new Float64Array(2)
    a.posterior(hh.sessions[0]!, pa)
    b.posterior(hh.sessions[0]!, pb)
    expect(carried[pb[0]! > 0.5 ? 0 : 1]).toBe(names[pa[0]! > 0.5 ? 0 : 1])
    expect(new Set(carried).size).toBe(2)
  })

  it('refits on idr\'s schedule: 3, 8, 13, 20, 30, 45', () => {
    const at = [3]
    while (at.length < 6) at.push(nextRefitAt(at.at(-1)!))
    expect(at).toEqual([3, 8, 13, 20, 30, 45])
  })

  it('sees exactly the sessions idr eval scores', () => {
    const sim = simulate({ households: 5, days: 10, seed: 3 })
    const households = collectSessions(sim.events())
    const report = evaluateEvents(sim.events())
    expect(households.reduce((n, h) => n + h.sessions.length, 0)).toBe(report.sessions)
  })
})
