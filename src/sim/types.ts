// The simulator's ground-truth records: households, their persons and devices, the true generative model
// in force on each day, sessions and marketing events. These are what evaluations compare the model against.
import type { Channel, DeviceType, Genre } from '../model/events.js'
import type { AgeGroup, TimeComponent } from './personas.js'

export type { AgeGroup, TimeComponent } from './personas.js'

export type Difficulty = 'easy' | 'default' | 'hard'

export interface SimPerson {
  /** `p1` … `p6`, unique within the household. */
  readonly id: string
  readonly archetype: string
  readonly age: AgeGroup
}

export interface SimDevice {
  /** Unique across the simulation: `dev-<household>-<n>`. */
  readonly id: string
  readonly deviceType: DeviceType
  /** Screen diagonal, inches (a console reports its TV's). */
  readonly screenIn: number
  /** Person id for a personal device, null for a shared one. */
  readonly owner: string | null
  /** First day (0-based) the device exists. */
  readonly fromDay: number
}

/**
 * One person's true session distribution on the days of a regime. Sessions of the person arrive, per day d,
 * as Poisson(7 · rate · weekday[dow(d)]); each independently draws its start time, device, primary genre and
 * watched time from the fields below. This is exactly what the oracle evaluates.
 */
export interface PersonModel {
  /** Mean sessions per day over a week. */
  readonly rate: number
  /** Day-of-week probabilities, Monday first (7 entries summing to 1). */
  readonly weekday: readonly number[]
  /** Start time of day (hours UTC): a mixture of wrapped normals on the 24 h circle; weights sum to 1. */
  readonly hours: readonly TimeComponent[]
  /** Device probabilities, indexed like `SimHousehold.devices` (0 for devices that do not exist yet). */
  readonly device: readonly number[]
  /** Primary-genre probabilities, indexed like GENRES. */
  readonly genre: readonly number[]
  /** Watched seconds X ~ lognormal(durationMu, durationSigma); the session lasts ⌈X⌉ whole seconds. */
  readonly durationMu: number
  readonly durationSigma: number
}

/** The models of all persons (same order as `SimHousehold.persons`) from `fromDay` until the next regime. */
export interface Regime {
  readonly fromDay: number
  readonly persons: readonly PersonModel[]
}

/** A change in a household's behaviour from some day on (for drift detection). */
export type SimChange =
  | { readonly kind: 'schedule', readonly day: number, readonly person: string, readonly shiftHours: number }
  | { readonly kind: 'device', readonly day: number, readonly person: string, readonly device: string }

/** A pause at `atSec` watched seconds into the session, lasting `gapMs` of wall time. */
export interface SimPause {
  readonly atSec: number
  readonly gapMs: number
}

export interface SimSession {
  readonly account: string
  /** `s1`, `s2`, … in start order, unique within the account. */
  readonly id: string
  /** Everyone watching, in household order. */
  readonly persons: readonly string[]
  /** `persons` joined by '+' (what the events' `truth` says). */
  readonly truth: string
  /** The person whose distributions generated the session (for co-viewing, the one who started it). */
  readonly initiator: string
  readonly coViewing: boolean
  readonly device: string
  readonly deviceType: DeviceType
  readonly screenIn: number
  /** Event time of the play, epoch ms. */
  readonly startMs: number
  /** Wall-clock end, epoch ms: start + watched time + pauses (the stop's time when there is one). */
  readonly endMs: number
  /** Watched seconds (whole seconds ≥ 1), the sum of the events' durationSec when the session stops. */
  readonly durationSec: number
  /** Whether a stop event is sent; otherwise the session goes silent after its last heartbeat or pause. */
  readonly stopped: boolean
  readonly pauses: readonly SimPause[]
  readonly content: string
  /** Primary genre first. */
  readonly genres: readonly Genre[]
  /** Day of the run (0-based) the session starts on. */
  readonly day: number
}

/** A marketing touch or a conversion of one person. */
export type SimMarketingEvent =
  | { readonly kind: 'touch', readonly ts: number, readonly person: string, readonly device: string, readonly channel: Channel, readonly campaign: string }
  | { readonly kind: 'convert', readonly ts: number, readonly person: string, readonly device: string, readonly value: number, readonly recentTouches: number }

export interface SimHousehold {
  /** `acct-000001`, … */
  readonly account: string
  /** 0-based position in the simulation. */
  readonly index: number
  /** Start of day 0, epoch ms (UTC midnight). */
  readonly epochMs: number
  /** Heartbeat period of the household's players, s (the oracle needs it to read a silent session's duration). */
  readonly heartbeatSec: number
  readonly persons: readonly SimPerson[]
  /** All devices over the run, including those that appear later (see `fromDay`). */
  readonly devices: readonly SimDevice[]
  /** The true models, ordered by fromDay; regimes[0].fromDay is 0. */
  readonly regimes: readonly Regime[]
  readonly changes: readonly SimChange[]
  /** In start order; no two overlap on one device. */
  readonly sessions: readonly SimSession[]
  /** In time order. */
  readonly marketing: readonly SimMarketingEvent[]
}
