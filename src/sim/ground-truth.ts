// Ground truth for attribution: true incremental conversions per channel from counterfactual runs — the same
// seeds with one channel switched off (its touches removed, every other draw identical; see drawMarketing),
// so incremental(c) = conversions(all channels) − conversions(without c). docs/simulator.md, "Ground truth".
import { CHANNELS, type Channel } from '../model/events.js'
import { planHousehold } from './household.js'
import { drawMarketing } from './marketing.js'
import { resolveOptions, type SimOptions } from './options.js'
import { rng } from './random.js'
import { deriveSeed } from './sampling.js'
import { STREAM } from './simulator.js'
import type { SimMarketingEvent } from './types.js'

/** Channels the simulator draws touches from (every channel but `other`). */
export const SIM_CHANNELS: readonly Channel[] = CHANNELS.filter((c) => c !== 'other')

/** One channel's true effect over a run. */
export interface ChannelTruth {
  readonly channel: Channel
  /** conversions(all) − conversions(without the channel). */
  readonly incremental: number
  /** The same difference of total conversion value. */
  readonly incrementalValue: number
  /** Touches of the channel in the factual run. */
  readonly touches: number
}

export interface GroundTruth {
  /** Conversions in the factual run (all channels on), organic ones included. */
  readonly conversions: number
  readonly value: number
  /** Per channel, in the order asked for. */
  readonly channels: readonly ChannelTruth[]
}

/**
 * The marketing events of household `index` with the channels in `off` switched off: the counterfactual run of
 * the same seed (touches of `off` removed, every other draw identical). With `off` empty it is exactly the
 * marketing of `simulate(options).households[index]`.
 */
export function counterfactualMarketing(options: SimOptions, index: number, off: Iterable<Channel>): SimMarketingEvent[] {
  const o = resolveOptions(options)
  const plan = planHousehold(rng(deriveSeed(o.seed, STREAM.household, index)), index, o)
  return drawMarketing(rng(deriveSeed(o.seed, STREAM.marketing, index)), plan, o, new Set(off))
}

/**
 * True incremental conversions (and value) per channel over the simulation `options` describes: one factual
 * and one counterfactual marketing run per channel and household (sessions are not drawn; they do not affect
 * marketing). Conversion depends on the person's touches of every channel in the last week, so removing a
 * channel also lowers the conversion probability of the other channels' touches: incremental(c) includes
 * those interactions, and Σ_c incremental(c) need not equal the touch-driven conversions.
 */
export function groundTruth(options: SimOptions, channels: readonly Channel[] = SIM_CHANNELS): GroundTruth {
  const o = resolveOptions({ ...options, marketing: true })
  const conv = new Float64Array(channels.length)
  const val = new Float64Array(channels.length)
  const touches = new Float64Array(channels.length)
  let conversions = 0
  let value = 0
  for (let i = 0; i < o.households; i++) {
    const plan = planHousehold(rng(deriveSeed(o.seed, STREAM.household, i)), i, o)
    const run = (off: ReadonlySet<Channel>) => drawMarketing(rng(deriveSeed(o.seed, STREAM.marketing, i)), plan, o, off)
    const factual = run(new Set())
    const [c0, v0] = totals(factual)
    conversions += c0
    value += v0
    const present = new Set<Channel>()
    for (const m of factual) {
      if (m.kind !== 'touch') continue
      present.add(m.channel)
      const k = channels.indexOf(m.channel)
      if (k >= 0) touches[k] = touches[k]! + 1
    }
    channels.forEach((ch, k) => {
      if (!present.has(ch)) return // no touch to remove: the counterfactual run is the factual one
      const [c1, v1] = totals(run(new Set([ch])))
      conv[k] = conv[k]! + c0 - c1
      val[k] = val[k]! + v0 - v1
    })
  }
  return {
    conversions, value,
    channels: channels.map((channel, k) => ({ channel, incremental: conv[k]!, incrementalValue: val[k]!, touches: touches[k]! })),
  }
}

function totals(events: readonly SimMarketingEvent[]): [number, number] {
  let n = 0
  let v = 0
  for (const m of events) {
    if (m.kind !== 'convert') continue
    n++
    v += m.value
  }
  return [n, v]
}
