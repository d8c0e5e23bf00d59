// The household's contract: its options and what it produces (assignments, outputs, removals, exported rows).
// The model itself is ./household.ts.
import type { FeatureGroup } from './features.js'
import type { Trait } from './mixture.js'
import type { Observation } from './observation.js'
import type { PersonChange } from './persons.js'
import type { RefitTask } from './refit.js'
import type { Session, SessionizerOptions } from './sessionizer.js'
import type { UnseenOptions } from './unseen.js'

/** Trait exponents by feature group when none are given: the plain likelihood (measured, docs/model.md). */
export const UNIT_GROUP_WEIGHTS: Readonly<Record<FeatureGroup, number>> = { time: 1, device: 1, content: 1, behaviour: 1 }

export interface HouseholdOptions {
  sessionizer?: SessionizerOptions
  /** Household's offset from UTC, minutes. Default 0. */
  utcOffsetMinutes?: number
  /**
   * Exponents of the traits' log-likelihoods by feature group: time (hour, weekday), device, content (genre),
   * behaviour (watched time). Default 1 each (measured, docs/model.md).
   */
  groupWeights?: Partial<Record<FeatureGroup, number>>
  /** Pseudo-sessions shrinking each person's distributions toward the household's (docs/model.md). */
  prior?: Partial<Record<Trait, number>>
  /** Most persons considered. Default 6. */
  kMax?: number
  /** Closed sessions before the first refit (cold start before it); also the fewest sessions a person has. Default 3. */
  minSessions?: number
  /** Weight of the BIC's parameter penalty (1 = the textbook BIC). Default 0.3 (measured, docs/model.md). */
  penalty?: number
  /**
   * Softmax temperature applied to the scores (calibration of the identified persons' shares). Default 2:
   * chosen by ECE with the unseen mass on (docs/model.md, "Honest probabilities"); idr eval --fit-temperature.
   */
  temperature?: number
  /**
   * The mass of members not found yet, from a posterior over the household's size (./unseen.ts): the size
   * prior and the detection curve (`idr eval --fit-unseen` fits it on a deployment's own events, unsupervised).
   * false: assignments share all mass among the identified persons (the behaviour before 2026-12-04).
   */
  unseen?: UnseenOptions | false
  /** Sessions kept for refits (most recent). Default 400. */
  historyMax?: number
  /** Refit when closed sessions reach max(last + refitMinStep, ⌈refitGrowth × last⌉). Defaults 5 and 1.5. */
  refitMinStep?: number
  refitGrowth?: number
  /** Probability shift that makes an update worth publishing. Default 0.1. */
  materialChange?: number
  /** Refits over at most this many sessions search k = 1 … kMax from scratch; longer ones refine the current persons. Default 30. */
  fullSearchBelow?: number
  /** EM initialisations per k at refits. Default 2. */
  nInit?: number
  /**
   * 'inline' (default): refits run synchronously where they are triggered. 'deferred': the output carries a
   * RefitTask and the household takes no input until completeRefit() gets its result (run it anywhere, e.g.
   * on the pool); both give bit-identical assignments and snapshots.
   */
  refits?: 'inline' | 'deferred'
}

export const HOUSEHOLD_OPTION_NAMES = ['sessionizer', 'utcOffsetMinutes', 'groupWeights', 'prior', 'kMax', 'minSessions', 'penalty', 'temperature',
  'historyMax', 'refitMinStep', 'refitGrowth', 'materialChange', 'nInit', 'fullSearchBelow', 'refits', 'unseen']

/** Pseudo-person of someone not identified yet (cold start, and the unseen mass of ./unseen.ts). */
export const UNKNOWN_PERSON = 'unknown'

/** The most probable identified person of probabilities sorted most probable first (not `unknown`), or undefined. */
export function topIdentified(persons: readonly PersonProbability[]): string | undefined {
  return persons.find((q) => q.person !== UNKNOWN_PERSON)?.person
}

export type Stage = 'open' | 'update' | 'close'

export interface PersonProbability {
  readonly person: string
  readonly p: number
}

/** A session's person probabilities (the `idr.out.assign` payload, minus transport fields). */
export interface Assignment {
  readonly account: string
  readonly session: string
  readonly device: string
  /** Event that caused it (for close: the session's first event). */
  readonly eventId: string
  readonly stage: Stage
  readonly modelVersion: number
  /** Sorted by p, descending; sums to 1. */
  readonly persons: readonly PersonProbability[]
  readonly coldStart: boolean
  readonly explanation: string
}

/** What one input produced: assignments to publish, person changes from refits, rejected events. */
export interface HouseholdOutput {
  readonly assignments: Assignment[]
  readonly changes: PersonChange[]
  readonly rejected: { readonly eventId: string, readonly reason: string }[]
  /** Sessions closed by this input (live views; for evaluation, with their truth). */
  readonly closed: Session[]
  /** A refit to run elsewhere and hand back with completeRefit ('deferred' refits only). */
  refit?: RefitTask
}

/** What an erasure or a retention purge took out of a household (docs/privacy.md). */
export interface Removal {
  /** Closed sessions removed from the history. */
  readonly sessions: number
  /** Open sessions forgotten (they are never closed or published). */
  readonly openSessions: number
  /** Persons removed. */
  readonly persons: readonly string[]
  /** Devices forgotten (their pseudonyms replaced by placeholders). */
  readonly devices: number
  /** What the rebuild over the remaining history did to the persons. */
  readonly changes: readonly PersonChange[]
}

/** A kept closed session, as an export shows it: its observation and the person it is most likely to be. */
export interface HistoryRow {
  readonly observation: Observation
  /** Device pseudonym (or an erased device's placeholder). */
  readonly device: string
  /** Most probable person under the current persons, undefined while there are none. */
  readonly person: string | undefined
}

