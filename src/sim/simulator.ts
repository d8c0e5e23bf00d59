// The ground-truth simulator: households that share one streaming account, their viewing sessions and
// marketing events with the true person on every event, and the Bayes oracle that bounds what any model can
// reach on them. Deterministic by seed. Entry point of src/sim/; docs/simulator.md describes the model.
import type { Channel, IdrEvent } from '../model/events.js'
import { buildCatalogue, type Catalogue } from './catalogue.js'
import { planHousehold, type HouseholdPlan } from './household.js'
import { drawLiftFactors } from './lift.js'
import { drawMarketing } from './marketing.js'
import { resolveOptions, type ResolvedSimOptions, type SimOptions } from './options.js'
import { rng } from './random.js'
import { deriveSeed } from './sampling.js'
import { drawSessions } from './sessions.js'
import { countEvents, deliveries, events, type SimDelivery } from './stream.js'
import type { SimHousehold, SimMarketingEvent } from './types.js'

export * from './options.js'
export type * from './types.js'
export { ARCHETYPES } from './personas.js'
export type { Archetype, PersonalDeviceType } from './personas.js'
export { DIFFICULTY_SETTINGS, NEW_DEVICE_SHARE } from './household.js'
export type { DifficultySettings } from './household.js'
export { TITLES_PER_GENRE } from './catalogue.js'
export type { Catalogue, Title } from './catalogue.js'
export { bayesCeiling, observe, oracleLogWeights, oraclePosterior } from './oracle.js'
export type { CeilingPart, CeilingReport, HouseholdCeiling, SessionObservation } from './oracle.js'
export { conversionProbability } from './marketing.js'
export { drawLiftFactors, LIFT_SIGMA } from './lift.js'
export type { HouseholdLift } from './lift.js'
export { heartbeatCount, weekdayOf } from './person-model.js'
export type { SimDelivery } from './stream.js'
export { NdjsonError, readEventsNdjson, writeEventsNdjson } from './ndjson.js'
export type { NdjsonErrorCode, NdjsonEventReader } from './ndjson.js'

/** Labels of the independent random streams derived from the seed (the disorder stage uses 4). */
export const STREAM = { catalogue: 0, household: 1, sessions: 2, marketing: 3, lift: 5, liftConversions: 6 } as const

export interface Simulation {
  /** The options in effect, defaults filled in. */
  readonly options: ResolvedSimOptions
  readonly catalogue: Catalogue
  readonly households: readonly SimHousehold[]
  /** Distinct events `events()` yields (duplicates from duplicateRate come on top). */
  readonly eventCount: number
  /** All households' events in arrival order (event-time order unless lateRate > 0); a fresh pass per call. */
  events(): IterableIterator<IdrEvent>
  /** The same stream with each event's arrival time and how it was delivered. */
  deliveries(): IterableIterator<SimDelivery>
}

/**
 * Simulates `households` accounts over `days` days. Households, sessions and marketing are drawn now
 * (household i depends only on the seed and i, so a larger run extends a smaller one); events are expanded
 * lazily by `events()`.
 */
export function simulate(options?: SimOptions): Simulation {
  const o = resolveOptions(options)
  const catalogue = buildCatalogue(rng(deriveSeed(o.seed, STREAM.catalogue)))
  const households = Array.from({ length: o.households }, (_, i): SimHousehold => {
    const plan = planHousehold(rng(deriveSeed(o.seed, STREAM.household, i)), i, o)
    return {
      account: plan.account,
      index: i,
      epochMs: o.startMs,
      heartbeatSec: o.heartbeatSec,
      persons: plan.persons,
      devices: plan.devices,
      regimes: plan.regimes,
      changes: plan.changes,
      sessions: drawSessions(rng(deriveSeed(o.seed, STREAM.sessions, i)), plan, catalogue, o),
      marketing: o.marketing ? householdMarketing(plan, o) : [],
    }
  })
  return {
    options: o,
    catalogue,
    households,
    eventCount: countEvents(households),
    events: () => events(households, o),
    deliveries: () => deliveries(households, o),
  }
}

/**
 * Household `plan.index`'s marketing, from its marketing and lift streams; `off` switches channels off for the
 * counterfactual runs of ground-truth.ts (drawMarketing keeps them aligned with the factual run).
 */
export function householdMarketing(plan: HouseholdPlan, o: ResolvedSimOptions, off?: ReadonlySet<Channel>): SimMarketingEvent[] {
  const factors = drawLiftFactors(rng(deriveSeed(o.seed, STREAM.lift, plan.index)), plan.bases)
  const extra = rng(deriveSeed(o.seed, STREAM.liftConversions, plan.index))
  return drawMarketing(rng(deriveSeed(o.seed, STREAM.marketing, plan.index)), plan, o, off, { factors, extra })
}
