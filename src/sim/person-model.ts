// Calendar helpers and a person model prepared for sampling, shared by sessions, marketing and the oracle.
import type { Rng } from './random.js'
import { cumulative, pickCumulative, wrappedNormal } from './sampling.js'
import type { PersonModel, Regime } from './types.js'

export const HOUR_MS = 3_600_000

/** Day-of-week of a day number since the epoch, Monday = 0 (1970-01-01 was a Thursday). */
export function weekdayOf(epochDay: number): number {
  return (((epochDay + 3) % 7) + 7) % 7
}

/** The regime in force on `day` (regimes ordered by fromDay, the first from day 0). */
export function regimeIndexOn(regimes: readonly Regime[], day: number): number {
  let i = 0
  while (i + 1 < regimes.length && regimes[i + 1]!.fromDay <= day) i++
  return i
}

/** Heartbeats a session of `durationSec` watched seconds sends: one at every k·H < duration, k ≥ 1. */
export function heartbeatCount(durationSec: number, heartbeatSec: number): number {
  return Math.ceil(durationSec / heartbeatSec) - 1
}

/** A person model with the running sums its categorical draws need. */
export interface PersonSampler {
  readonly model: PersonModel
  readonly hoursCum: Float64Array
  readonly deviceCum: Float64Array
  readonly genreCum: Float64Array
}

export function personSampler(model: PersonModel): PersonSampler {
  return { model, hoursCum: cumulative(model.hours.map((c) => c.weight)), deviceCum: cumulative(model.device), genreCum: cumulative(model.genre) }
}

/** A start time of day, whole ms after midnight, from the person's time-of-day mixture. */
export function drawTimeOfDayMs(r: Rng, s: PersonSampler): number {
  const c = s.model.hours[pickCumulative(r, s.hoursCum)]!
  return Math.floor(wrappedNormal(r, c.meanH, c.sdH, 24) * HOUR_MS)
}
