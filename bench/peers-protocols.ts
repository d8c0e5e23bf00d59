// The two protocols a peer is scored under, producing what idr eval scores (src/sim/evaluate.ts
// scoreHouseholds): offline (fit the whole history, then label it) and prequential (label each session with
// the fit of the sessions before it, refitted on idr's schedule, class names carried across refits).
import { maxWeightAssignment } from '../src/model/hungarian.js'
import type { PersonProbability } from '../src/model/household.js'
import type { ScoredHousehold, ScoredSession } from '../src/sim/evaluate.js'
import type { PeerHousehold, PeerSession } from './peers-data.js'
import type { Peer, PeerFit } from './peers-models.js'

export type Protocol = 'offline' | 'prequential'

/** First refit after this many closed sessions (idr: minSessions 3). */
export const FIRST_REFIT = 3
/** Histories longer than this are refitted by local moves where the peer has them (idr: fullSearchBelow 30). */
export const FULL_SEARCH_BELOW = 30
/** A new class keeps the name of the old one it overlaps most if at least this share of its mass was that class's (idr: KEEP_OVERLAP). */
export const KEEP_OVERLAP = 0.3

/** The next refit count after `last`: max(last + 5, ⌈1.5 · last⌉), idr's schedule (docs/model.md, Refits). */
export function nextRefitAt(last: number): number {
  return Math.max(last + 5, Math.ceil(1.5 * last))
}

/** One household scored under a protocol; seeds derive from the household's index. */
export function scoreWithPeer(peer: Peer, hh: PeerHousehold, protocol: Protocol, seed: number): ScoredHousehold {
  return protocol === 'offline' ? offline(peer, hh, seed) : prequential(peer, hh, seed)
}

function offline(peer: Peer, hh: PeerHousehold, seed: number): ScoredHousehold {
  const fit = peer.fit(hh.sessions, seed)
  const names = fit.ids ?? Array.from({ length: fit.k }, (_, j) => `c${j}`)
  const out = new Float64Array(fit.k)
  const nth = nthOfPerson(hh.sessions)
  const scored = hh.sessions.map((s, i): ScoredSession => ({ truth: s.truth, nth: nth[i]!, final: ranked(fit, names, s, out), open: undefined }))
  return { account: hh.account, k: fit.k, scored }
}

function prequential(peer: Peer, hh: PeerHousehold, seed: number): ScoredHousehold {
  const nth = nthOfPerson(hh.sessions)
  const scored: ScoredSession[] = []
  let fit: PeerFit | undefined
  let names: string[] = []
  let fresh = 0
  let refitAt = FIRST_REFIT
  for (let i = 0; i < hh.sessions.length; i++) {
    if (i >= refitAt) {
      const seen = hh.sessions.slice(0, i)
      const next = peer.refine && fit && i > FULL_SEARCH_BELOW ? peer.refine(fit, seen, seed + i) : peer.fit(seen, seed + i)
      if (next.ids) names = [...next.ids]
      else if (!fit) names = Array.from({ length: next.k }, () => `c${fresh++}`)
      else {
        const carried = carryNames(fit, names, next, seen)
        names = carried.map((n) => n ?? `c${fresh++}`)
      }
      fit = next
      refitAt = nextRefitAt(i)
    }
    const s = hh.sessions[i]!
    // cold start: before the first fit, one person holds every session
    const final = fit ? ranked(fit, names, s, new Float64Array(fit.k)) : [{ person: 'c0', p: 1 }]
    scored.push({ truth: s.truth, nth: nth[i]!, final, open: undefined })
  }
  return { account: hh.account, k: fit?.k ?? 1, scored }
}

/**
 * Names for the new fit's classes: the Hungarian optimum of overlap(a, b) = Σ_i p_old(a | s_i) · p_new(b | s_i)
 * over the sessions both saw; a class keeps its partner's name if ≥ KEEP_OVERLAP of its mass overlaps it, else
 * undefined (a fresh name). The same rule idr's persons keep their ids by (docs/model.md, Stable ids).
 */
export function carryNames(old: PeerFit, oldNames: readonly string[], next: PeerFit, sessions: readonly PeerSession[]): (string | undefined)[] {
  const overlap = new Float64Array(next.k * old.k)
  const mass = new Float64Array(next.k)
  const po = new Float64Array(old.k)
  const pn = new Float64Array(next.k)
  for (const s of sessions) {
    old.posterior(s, po)
    next.posterior(s, pn)
    for (let b = 0; b < next.k; b++) {
      mass[b]! += pn[b]!
      for (let a = 0; a < old.k; a++) overlap[b * old.k + a]! += pn[b]! * po[a]!
    }
  }
  const match = maxWeightAssignment(overlap, next.k, old.k)
  return Array.from({ length: next.k }, (_, b) => {
    const a = match[b]!
    return a >= 0 && overlap[b * old.k + a]! >= KEEP_OVERLAP * mass[b]! ? oldNames[a] : undefined
  })
}

/** The fit's probabilities for s, highest first (as idr's assignments are ordered). */
function ranked(fit: PeerFit, names: readonly string[], s: PeerSession, out: Float64Array): PersonProbability[] {
  fit.posterior(s, out)
  return names.map((person, j) => ({ person, p: out[j]! })).sort((a, b) => b.p - a.p || (a.person < b.person ? -1 : 1))
}

/** Each session's index among its first true person's sessions (ScoredSession.nth, as runModel counts it). */
function nthOfPerson(sessions: readonly PeerSession[]): number[] {
  const seen = new Map<string, number>()
  return sessions.map((s) => {
    const first = s.truth.split('+')[0]!
    const n = seen.get(first) ?? 0
    seen.set(first, n + 1)
    return n
  })
}
