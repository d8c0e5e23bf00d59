// Ground truth for attribution: true incremental conversions per channel from counterfactual runs — the same
// seeds with one channel switched off (its touches removed, every other draw identical; see drawMarketing),
// so incremental(c) = conversions(all channels) − conversions(without c). docs/simulator.md, "Ground truth".
import { CHANNELS, type Channel } from '../model/events.js'
import { planHousehold } from './household.js'
import { resolveOptions, type SimOptions } from './options.js'
import { rng } from './random.js'
import { deriveSeed } from './sampling.js'
import { householdMarketing, STREAM } from './simulator.js'
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

/** One person's true effects: the same differences, counting only that person's conversions and touches. */
export interface PersonTruth {
  readonly account: string
  readonly person: string
  /** The person's conversions in the factual run, organic ones included. */
  readonly conversions: number
  readonly value: number
  /** Per channel, in the order asked for; they sum over persons to GroundTruth.channels. */
  readonly channels: readonly ChannelTruth[]
}

export interface GroundTruth {
  /** Conversions in the factual run (all channels on), organic ones included. */
  readonly conversions: number
  readonly value: number
  /** Per channel, in the order asked for. */
  readonly channels: readonly ChannelTruth[]
  /** Per person of every household, in household then person order. */
  readonly persons: readonly PersonTruth[]
}

/**
 * The marketing events of household `index` with the channels in `off` switched off: the counterfactual run of
 * the same seed (touches of `off` removed, every other draw identical). With `off` empty it is exactly the
 * marketing of `simulate(options).households[index]`.
 */
export function counterfactualMarketing(options: SimOptions, index: number, off: Iterable<Channel>): SimMarketingEvent[] {
  const o = resolveOptions(options)
  return householdMarketing(planHousehold(rng(deriveSeed(o.seed, STREAM.household, index)), index, o), o, new Set(off))
}

/**
 * True incremental conversions (and value) per channel over the simulation `options` describes, in total and per
 * person: one factual and one counterfactual marketing run per channel and household (sessions are not drawn;
 * they do not affect marketing). Conversion depends on the person's touches of every channel in the last week,
 * so removing a channel also lowers the conversion probability of the other channels' touches: incremental(c)
 * includes those interactions, and Σ_c incremental(c) need not equal the touch-driven conversions. A person's
 * incremental(c) counts the conversions of that person the channel caused (a counterfactual run keeps a subset
 * of the factual conversions, each with its person), so it is 0 for a channel the person was never touched by.
 */
export function groundTruth(options: SimOptions, channels: readonly Channel[] = SIM_CHANNELS): GroundTruth {
  const o = resolveOptions({ ...options, marketing: true })
  const persons: PersonTruth[] = []
  for (let i = 0; i < o.households; i++) {
    const plan = planHousehold(rng(deriveSeed(o.seed, STREAM.household, i)), i, o)
    const ids = plan.bases.map((b) => b.id)
    const n = ids.length
    const run = (off: ReadonlySet<Channel>) => byPerson(householdMarketing(plan, o, off), ids)
    const factual = householdMarketing(plan, o)
    const [c0, v0] = byPerson(factual, ids)
    const conv = ids.map(() => new Float64Array(channels.length))
    const val = ids.map(() => new Float64Array(channels.length))
    const touches = ids.map(() => new Float64Array(channels.length))
    const present = new Set<Channel>()
    for (const m of factual) {
      if (m.kind !== 'touch') continue
      present.add(m.channel)
      const k = channels.indexOf(m.channel)
      const p = ids.indexOf(m.person)
      if (k >= 0) touches[p]![k] = touches[p]![k]! + 1
    }
    channels.forEach((ch, k) => {
      if (!present.has(ch)) return // no touch to remove: the counterfactual run is the factual one
      const [c1, v1] = run(new Set([ch]))
      for (let p = 0; p < n; p++) {
        conv[p]![k] = c0[p]! - c1[p]!
        val[p]![k] = v0[p]! - v1[p]!
      }
    })
    ids.forEach((person, p) => persons.push({
      account: plan.account, person, conversions: c0[p]!, value: v0[p]!,
      channels: channels.map((channel, k) => ({ channel, incremental: conv[p]![k]!, incrementalValue: val[p]![k]!, touches: touches[p]![k]! })),
    }))
  }
  const sum = (f: (x: PersonTruth) => number) => persons.reduce((a, x) => a + f(x), 0)
  return {
    conversions: sum((x) => x.conversions),
    value: sum((x) => x.value),
    channels: channels.map((channel, k) => ({
      channel,
      incremental: sum((x) => x.channels[k]!.incremental),
      incrementalValue: sum((x) => x.channels[k]!.incrementalValue),
      touches: sum((x) => x.channels[k]!.touches),
    })),
    persons,
  }
}

/** Conversions and their total value per person (in the order of `ids`). */
function byPerson(events: readonly SimMarketingEvent[], ids: readonly string[]): [Float64Array, Float64Array] {
  const n = new Float64Array(ids.length)
  const v = new Float64Array(ids.length)
  for (const m of events) {
    if (m.kind !== 'convert') continue
    const p = ids.indexOf(m.person)
    n[p] = n[p]! + 1
    v[p] = v[p]! + m.value
  }
  return [n, v]
}
