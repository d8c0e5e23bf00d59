// The Bayes oracle: for each session, the posterior over the household's persons under the true generative
// model and true priors, from what the session's events reveal (start time, weekday, device, primary genre,
// watched time). No model can do better on average; its accuracy is the ceiling the household model is
// judged against. The math and why it is exact: docs/simulator.md, "The Bayes oracle".
import { GENRES } from '../model/events.js'
import { DAY_MS, SimError } from './options.js'
import { logLognormalInterval, wrappedNormalPdf } from './sampling.js'
import { HOUR_MS, heartbeatCount, regimeIndexOn, weekdayOf } from './person-model.js'
import type { SimHousehold, SimSession } from './types.js'

const GENRE_INDEX = new Map<string, number>(GENRES.map((g, i) => [g, i]))

/** What the oracle reads from a session: only what its events show. */
export interface SessionObservation {
  /** Day of the run. */
  readonly day: number
  /** Monday = 0. */
  readonly weekday: number
  /** Start time of day, hours: the middle of the start's 1 ms bin (so the density is the bin's mass / 1 ms, error < 1e−12 relative). */
  readonly hour: number
  readonly device: number
  readonly genre: number
  /** Watched seconds X lie in (lo, hi]: (D − 1, D] with a stop, (m·H, (m + 1)·H] after m heartbeats without one. */
  readonly durationLoSec: number
  readonly durationHiSec: number
}

/** Reads the observable part of a session. */
export function observe(h: SimHousehold, s: SimSession): SessionObservation {
  const device = h.devices.findIndex((d) => d.id === s.device)
  const genre = GENRE_INDEX.get(s.genres[0] ?? '')
  if (device < 0 || genre === undefined) {
    throw new SimError('BAD_SESSION', `session ${s.id} of ${h.account}: ${device < 0 ? `device ${s.device} is not in the household` : `primary genre ${String(s.genres[0])} is unknown`}`)
  }
  const dayStart = h.epochMs + s.day * DAY_MS
  let lo: number
  let hi: number
  if (s.stopped) {
    lo = s.durationSec - 1
    hi = s.durationSec
  } else {
    const m = heartbeatCount(s.durationSec, h.heartbeatSec)
    lo = m * h.heartbeatSec
    hi = lo + h.heartbeatSec
  }
  return {
    day: s.day,
    weekday: weekdayOf(dayStart / DAY_MS),
    hour: (s.startMs - dayStart + 0.5) / HOUR_MS,
    device,
    genre,
    durationLoSec: lo,
    durationHiSec: hi,
  }
}

/**
 * ln of each person's joint density of the observation, up to a constant shared by all persons:
 * ln[rate_p · weekday_p(w)] + ln f_p(hour) + ln P_p(device) + ln P_p(genre) + ln P_p(lo < X ≤ hi).
 */
export function oracleLogWeights(h: SimHousehold, x: SessionObservation, out = new Float64Array(h.persons.length)): Float64Array {
  const regime = h.regimes[regimeIndexOn(h.regimes, x.day)]!
  regime.persons.forEach((m, p) => {
    let time = 0
    for (const c of m.hours) time += c.weight * wrappedNormalPdf(x.hour, c.meanH, c.sdH, 24)
    out[p] = Math.log(m.rate * m.weekday[x.weekday]!) + Math.log(time) + Math.log(m.device[x.device]!) + Math.log(m.genre[x.genre]!)
      + logLognormalInterval(x.durationLoSec, x.durationHiSec, m.durationMu, m.durationSigma)
  })
  return out
}

/** The posterior over `h.persons` for session s (sums to 1). */
export function oraclePosterior(h: SimHousehold, s: SimSession, out = new Float64Array(h.persons.length)): Float64Array {
  oracleLogWeights(h, observe(h, s), out)
  let max = -Infinity
  for (let p = 0; p < out.length; p++) max = Math.max(max, out[p]!)
  if (!(max > -Infinity) || Number.isNaN(max)) {
    throw new SimError('BAD_SESSION', `session ${s.id} of ${h.account} has probability 0 under every person's model`)
  }
  let sum = 0
  for (let p = 0; p < out.length; p++) sum += (out[p] = Math.exp(out[p]! - max))
  for (let p = 0; p < out.length; p++) out[p] = out[p]! / sum
  return out
}

export interface CeilingPart {
  readonly sessions: number
  /** Share of sessions whose most probable person is (one of) the viewer(s); NaN with no sessions. */
  readonly accuracy: number
}

export interface HouseholdCeiling extends CeilingPart {
  readonly account: string
  readonly persons: number
}

export interface CeilingReport extends CeilingPart {
  readonly correct: number
  /** Households of two or more persons only (one-person households are trivially right). */
  readonly multiPerson: CeilingPart
  readonly coViewing: CeilingPart
  /** The trivial guess: always the person with the most sessions in the household. */
  readonly mostActiveAccuracy: number
  /** Mean probability of the oracle's top person: equals its accuracy if the oracle is calibrated. */
  readonly meanTopProbability: number
  /** Mean −ln P(viewers) (co-viewing: the summed probability of its persons). */
  readonly logLoss: number
  readonly perHousehold: readonly HouseholdCeiling[]
}

/** The oracle's argmax (lowest index on ties) scored against the truth; a co-viewing session counts if the guess is any of its persons. */
export function bayesCeiling(sim: { readonly households: readonly SimHousehold[] }): CeilingReport {
  let sessions = 0, correct = 0, multi = 0, multiCorrect = 0, co = 0, coCorrect = 0, active = 0, top = 0, loss = 0
  const perHousehold: HouseholdCeiling[] = []
  for (const h of sim.households) {
    const post = new Float64Array(h.persons.length)
    const counts = new Float64Array(h.persons.length)
    const index = new Map(h.persons.map((p, i) => [p.id, i]))
    for (const s of h.sessions) counts[index.get(s.initiator)!]! += 1
    const mostActive = h.persons[counts.indexOf(Math.max(...counts))]!.id
    let hCorrect = 0
    for (const s of h.sessions) {
      oraclePosterior(h, s, post)
      let best = 0
      for (let p = 1; p < post.length; p++) if (post[p]! > post[best]!) best = p
      const ok = s.persons.includes(h.persons[best]!.id)
      hCorrect += ok ? 1 : 0
      active += s.persons.includes(mostActive) ? 1 : 0
      top += post[best]!
      loss -= Math.log(s.persons.reduce((acc, id) => acc + post[index.get(id)!]!, 0))
      if (s.coViewing) {
        co++
        coCorrect += ok ? 1 : 0
      }
    }
    sessions += h.sessions.length
    correct += hCorrect
    if (h.persons.length > 1) {
      multi += h.sessions.length
      multiCorrect += hCorrect
    }
    perHousehold.push({ account: h.account, persons: h.persons.length, sessions: h.sessions.length, accuracy: hCorrect / h.sessions.length })
  }
  return {
    sessions,
    correct,
    accuracy: correct / sessions,
    multiPerson: { sessions: multi, accuracy: multiCorrect / multi },
    coViewing: { sessions: co, accuracy: coCorrect / co },
    mostActiveAccuracy: active / sessions,
    meanTopProbability: top / sessions,
    logLoss: loss / sessions,
    perHousehold,
  }
}
