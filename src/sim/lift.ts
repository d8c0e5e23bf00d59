// Per-person causal lift per channel (docs/simulator.md, "Marketing"): how strongly a touch of each channel
// persuades each person, as a factor on the channel's population lift (CHANNEL_LIFT in marketing.ts). Drawn from
// streams of their own (STREAM.lift, STREAM.liftConversions), so adding them left every session, touch and
// conversion uniform of the other streams as it was: only conversion probabilities moved (marketing.ts).
import { CHANNELS } from '../model/events.js'
import type { PersonBase } from './personas.js'
import type { Rng } from './random.js'
import { jitter } from './sampling.js'

/** Log-scale sd of a person's lift factor around their persona's, natural log. */
export const LIFT_SIGMA = 0.5

/** A household's person lifts: factors[p] over CHANNELS, and the stream that draws the conversions only a lift causes. */
export interface HouseholdLift {
  readonly factors: readonly Float64Array[]
  readonly extra: Rng
}

/**
 * Each person's lift factors over CHANNELS: factor[p][c] = persona lift(c) × e^(LIFT_SIGMA · Z − LIFT_SIGMA²/2)
 * (mean: the persona's lift), one standard normal per person and channel in CHANNELS order; person p's lift of
 * channel c is CHANNEL_LIFT[c] × factor[p][c].
 */
export function drawLiftFactors(r: Rng, bases: readonly PersonBase[]): Float64Array[] {
  const meanOne = Math.exp(-0.5 * LIFT_SIGMA * LIFT_SIGMA)
  return bases.map((b) => Float64Array.from(CHANNELS, (c) => (b.archetype.lift[c] ?? 1) * meanOne * jitter(r, LIFT_SIGMA)))
}
