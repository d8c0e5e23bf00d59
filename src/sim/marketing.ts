// Marketing touches and conversions per person (docs/simulator.md, "Marketing"). Touches arrive as a Poisson
// process per person, at the person's usual times of day and on the devices they use; each touch may lead
// to a conversion with a probability that grows with the person's touches in the last week and depends on
// the channel. A few conversions happen without a touch (organic).
import { CHANNELS, type Channel } from '../model/events.js'
import type { HouseholdPlan } from './household.js'
import type { HouseholdLift } from './lift.js'
import { DAY_MS, type ResolvedSimOptions } from './options.js'
import type { Rng } from './random.js'
import { drawTimeOfDayMs, regimeIndexOn } from './person-model.js'
import { cumulative, exponential, lognormal, pickCumulative, poisson } from './sampling.js'
import type { SimMarketingEvent } from './types.js'

/** Campaigns per channel: `<channel>-1` … `<channel>-3`. */
export const CAMPAIGNS_PER_CHANNEL = 3
/** Touches within this window before a touch (inclusive of it) count as recent, ms. */
export const RECENT_WINDOW_MS = 7 * DAY_MS
/**
 * P(convert | touch) = min(CONVERSION_CAP, CONVERSION_SCALE · propensity · lift(person, channel) · (1 − e^(−recent / RECENT_SATURATION))),
 * recent = the person's touches in the last RECENT_WINDOW_MS including this one, lift(person, channel) =
 * CHANNEL_LIFT[channel] × the person's factor (lift.ts).
 */
export const CONVERSION_SCALE = 0.1
export const RECENT_SATURATION = 2
export const CONVERSION_CAP = 0.5
/** How well each channel converts (relative): the mean lift of a person whose persona names no factor for the channel. */
export const CHANNEL_LIFT: Readonly<Record<Channel, number>> = {
  email: 1, social: 0.8, search: 1.6, display: 0.5, affiliate: 1.3, push: 0.9, tv: 0.7, organic: 1.2, referral: 1.5, other: 0.5,
}
/** A conversion follows its touch after an exponential delay with this mean, ms. */
export const CONVERSION_DELAY_MEAN_MS = 12 * 3_600_000
/** Organic conversions (no touch) per person per day. */
export const ORGANIC_PER_DAY = 0.003
/** Conversion values: lognormal with this median (currency units) and σ, rounded to cents. */
export const VALUE_MEDIAN = 12
export const VALUE_SIGMA = 0.6

const NO_CHANNELS: ReadonlySet<Channel> = new Set()

/** Probability that a touch converts; `liftFactor` is the person's factor on CHANNEL_LIFT[channel]. */
export function conversionProbability(channel: Channel, recentTouches: number, propensity: number, liftFactor = 1): number {
  return Math.min(CONVERSION_CAP, CONVERSION_SCALE * propensity * CHANNEL_LIFT[channel] * liftFactor * -Math.expm1(-recentTouches / RECENT_SATURATION))
}

/**
 * The household's touches and conversions over the run, in time order (conversions after the run are dropped).
 * `off` switches channels off for counterfactual runs (src/sim/ground-truth.ts): their touches are drawn and
 * then removed, and every draw is made exactly as in the factual run (a touch's uniform is compared with its
 * factual probability to decide whether its delay, device and value are drawn), so the runs stay aligned.
 * A remaining touch converts iff its uniform is below its probability given the remaining touches; since
 * that probability never exceeds the factual one, every counterfactual conversion reuses factual draws.
 * `lift` gives each person's lift factors (lift.ts; without it every factor is 1). It moves no draw of `r`:
 * a touch's delay, device and value come from `r` when its uniform is below the probability with factor 1
 * (exactly where they came from before person lifts), and from `lift.extra` when only the person's factor
 * makes the touch convert; both tests use the factual probability, so counterfactual runs stay aligned.
 */
export function drawMarketing(r: Rng, plan: HouseholdPlan, o: ResolvedSimOptions, off: ReadonlySet<Channel> = NO_CHANNELS, lift?: HouseholdLift): SimMarketingEvent[] {
  const endMs = o.startMs + o.days * DAY_MS
  const dayOf = (ts: number) => Math.min(o.days - 1, Math.floor((ts - o.startMs) / DAY_MS))
  const samplerOn = (p: number, day: number) => plan.samplers[regimeIndexOn(plan.regimes, day)]![p]!
  const out: SimMarketingEvent[] = []
  plan.bases.forEach((base, p) => {
    const person = base.id
    const channelCum = cumulative(base.channels)
    const factorOf = (channel: Channel) => (lift === undefined ? 1 : lift.factors[p]![CHANNELS.indexOf(channel)]!)
    const prob = (channel: Channel, recent: number, factor = factorOf(channel)) => conversionProbability(channel, recent, base.conversionPropensity, factor)
    const touches: { ts: number, channel: Channel }[] = []
    for (let day = 0; day < o.days; day++) {
      const s = samplerOn(p, day)
      for (let i = poisson(r, base.touchesPerDay); i > 0; i--) {
        const ts = o.startMs + day * DAY_MS + drawTimeOfDayMs(r, s)
        const device = plan.devices[pickCumulative(r, s.deviceCum)]!.id
        const channel = CHANNELS[pickCumulative(r, channelCum)]!
        const campaign = `${channel}-${1 + Math.floor(r.uniform() * CAMPAIGNS_PER_CHANNEL)}`
        touches.push({ ts, channel })
        if (!off.has(channel)) out.push({ kind: 'touch', ts, person, device, channel, campaign })
      }
    }
    touches.sort((a, b) => a.ts - b.ts)
    const recentAt = (ts: number, all: boolean) => touches.reduce((k, t) => k + (t.ts <= ts && t.ts > ts - RECENT_WINDOW_MS && (all || !off.has(t.channel)) ? 1 : 0), 0)
    const convert = (q: Rng, ts: number, recentTouches: number, happens: boolean) => {
      if (ts >= endMs) return
      const device = plan.devices[pickCumulative(q, samplerOn(p, dayOf(ts)).deviceCum)]!.id
      const value = Math.round(lognormal(q, Math.log(VALUE_MEDIAN), VALUE_SIGMA) * 100) / 100
      if (happens) out.push({ kind: 'convert', ts, person, device, value, recentTouches })
    }
    for (const t of touches) {
      const recent = recentAt(t.ts, true)
      const u = r.uniform() // bernoulli(r, p) draws exactly this one uniform
      const q = u < prob(t.channel, recent, 1) ? r : lift !== undefined && u < prob(t.channel, recent) ? lift.extra : undefined
      if (q === undefined) continue
      const kept = off.size === 0 ? recent : recentAt(t.ts, false)
      const happens = !off.has(t.channel) && u < prob(t.channel, kept)
      convert(q, t.ts + Math.round(exponential(q, CONVERSION_DELAY_MEAN_MS)), kept, happens)
    }
    for (let i = poisson(r, ORGANIC_PER_DAY * o.days); i > 0; i--) {
      const ts = o.startMs + Math.floor(r.uniform() * (endMs - o.startMs))
      convert(r, ts, recentAt(ts, off.size === 0), true)
    }
  })
  return out.sort((a, b) => a.ts - b.ts)
}
