// Simulation options: named defaults with units, and their validation at the API boundary.
import { IdrError } from '../errors.js'
import { checkOptionNames, OptionError } from '../options/check.js'
import { EVENT_LIMITS } from '../model/events.js'
import type { Difficulty } from './types.js'

export const DAY_MS = 86_400_000

export const DEFAULT_HOUSEHOLDS = 1000
export const DEFAULT_DAYS = 30
export const DEFAULT_SEED = 1
/** Monday 2026-01-05 00:00 UTC. */
export const DEFAULT_START_MS = Date.UTC(2026, 0, 5)
/** Shares of household sizes 1..6 (census-like: roughly the EU/US distribution of private households). */
export const DEFAULT_SIZE_MIX: readonly number[] = [0.28, 0.35, 0.15, 0.13, 0.06, 0.03]
/** Share of sessions on a shared device (in households of 2+) watched by two persons. */
export const DEFAULT_CO_VIEWING_RATE = 0.05
export const DEFAULT_HEARTBEAT_SEC = 300
/** Share of sessions that end with a stop event; the rest go silent. */
export const DEFAULT_STOP_RATE = 0.85
/** Probability of a pause in each complete heartbeat interval. */
export const DEFAULT_PAUSE_RATE = 0.05
/** Share of households with one behaviour change during the run. */
export const DEFAULT_CHANGE_RATE = 0.1
/** After a session that went silent its device stays idle this long past the last event, ms (the sessionizer's gap). */
export const DEFAULT_SILENT_IDLE_MS = 30 * 60_000
export const DEFAULT_MAX_LATENESS_MS = 10 * 60_000

export interface SimOptions {
  /** Number of households (accounts). Default 1000. */
  households?: number
  /** Length of the run, days. Default 30. */
  days?: number
  /** Seed of every random stream. Default 1. */
  seed?: number
  /** Overlap between household members (docs/simulator.md, "Difficulty"). Default 'default'. */
  difficulty?: Difficulty
  /** Start of day 0, epoch ms; must be a UTC midnight. Default Monday 2026-01-05. */
  startMs?: number
  /** Relative shares of household sizes 1, 2, … (at most 6 entries). Default DEFAULT_SIZE_MIX. */
  sizeMix?: readonly number[]
  /** Share of shared-device sessions watched by two persons. Default 0.05. */
  coViewingRate?: number
  /** Heartbeat period, s (integer 10..3600). Default 300. */
  heartbeatSec?: number
  /** Share of sessions that send a stop event. Default 0.85. */
  stopRate?: number
  /** Probability of a pause per complete heartbeat interval. Default 0.05. */
  pauseRate?: number
  /** Share of households with one change (schedule shift or new device). Default 0.1. */
  changeRate?: number
  /** Idle time a device keeps after a silent session, ms. Default 30 min. */
  silentIdleMs?: number
  /** Marketing touches and conversions. Default true. */
  marketing?: boolean
  /** Probability that an event is delivered twice (same id). Default 0. */
  duplicateRate?: number
  /** Probability that an event is delivered after its event time. Default 0. */
  lateRate?: number
  /** Upper bound of lateness and of a duplicate's delay, ms. Default 10 min. */
  maxLatenessMs?: number
}

export type ResolvedSimOptions = { readonly [K in keyof SimOptions]-?: Exclude<SimOptions[K], undefined> }

export type SimErrorCode =
  | 'BAD_OPTION' // an option is unknown, misspelt or out of range
  | 'BAD_SESSION' // the oracle was given a session its household cannot have produced

/** A simulation was asked for something it cannot do. */
export class SimError extends IdrError {
  declare readonly code: SimErrorCode
  constructor(code: SimErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

const DEFAULTS: ResolvedSimOptions = {
  households: DEFAULT_HOUSEHOLDS,
  days: DEFAULT_DAYS,
  seed: DEFAULT_SEED,
  difficulty: 'default',
  startMs: DEFAULT_START_MS,
  sizeMix: DEFAULT_SIZE_MIX,
  coViewingRate: DEFAULT_CO_VIEWING_RATE,
  heartbeatSec: DEFAULT_HEARTBEAT_SEC,
  stopRate: DEFAULT_STOP_RATE,
  pauseRate: DEFAULT_PAUSE_RATE,
  changeRate: DEFAULT_CHANGE_RATE,
  silentIdleMs: DEFAULT_SILENT_IDLE_MS,
  marketing: true,
  duplicateRate: 0,
  lateRate: 0,
  maxLatenessMs: DEFAULT_MAX_LATENESS_MS,
}

/** The difficulty levels, easiest first. */
export const DIFFICULTIES: readonly Difficulty[] = ['easy', 'default', 'hard']
const MAX_HOUSEHOLDS = 10_000_000
const MAX_DAYS = 3650

function bad(message: string): never {
  throw new OptionError(message)
}

function integer(name: string, v: number, lo: number, hi: number, unit = ''): void {
  if (!Number.isInteger(v) || v < lo || v > hi) bad(`${name} must be an integer in [${lo}, ${hi}]${unit}, got ${String(v)}`)
}

function share(name: string, v: number): void {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) bad(`${name} must be a number in [0, 1], got ${String(v)}`)
}

/** Fills in defaults and rejects unknown names and bad values with an OptionError (BAD_OPTION). */
export function resolveOptions(options: SimOptions = {}): ResolvedSimOptions {
  if (typeof options !== 'object' || options === null) bad(`simulate: options must be an object, got ${String(options)}`)
  checkOptionNames('simulate', options, Object.keys(DEFAULTS))
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
  const o = { ...DEFAULTS, ...defined } as ResolvedSimOptions
  if (!Number.isInteger(o.households) || o.households < 1 || o.households > MAX_HOUSEHOLDS) {
    bad(`households must be a positive integer (at most ${MAX_HOUSEHOLDS}), got ${String(o.households)}`)
  }
  integer('days', o.days, 1, MAX_DAYS, ' (days)')
  integer('seed', o.seed, 0, 0xffff_ffff)
  if (!DIFFICULTIES.includes(o.difficulty)) bad(`difficulty must be one of ${DIFFICULTIES.join(', ')}, got ${String(o.difficulty)}`)
  if (!Number.isInteger(o.startMs) || o.startMs % DAY_MS !== 0) bad(`startMs must be a UTC midnight (a multiple of ${DAY_MS} ms), got ${String(o.startMs)}`)
  // the last day plus a week of trailing sessions must stay inside the event schema's time range
  if (o.startMs < EVENT_LIMITS.tsMin || o.startMs + (o.days + 7) * DAY_MS > EVENT_LIMITS.tsMax) {
    bad(`startMs must lie in [${EVENT_LIMITS.tsMin}, ${EVENT_LIMITS.tsMax}) with the whole run, got ${o.startMs}`)
  }
  const mix = o.sizeMix
  if (!Array.isArray(mix) || mix.length < 1 || mix.length > 6) bad(`sizeMix must be an array of 1 to 6 shares (sizes 1, 2, …), got ${String(mix)}`)
  mix.forEach((v, i) => {
    if (typeof v !== 'number' || !(v >= 0 && v < Infinity)) bad(`sizeMix[${i}] must be a finite share ≥ 0, got ${String(v)}`)
  })
  if (!(mix.reduce((s, v) => s + v, 0) > 0)) bad('sizeMix must have at least one positive share')
  share('coViewingRate', o.coViewingRate)
  integer('heartbeatSec', o.heartbeatSec, 10, 3600, ' (s)')
  share('stopRate', o.stopRate)
  share('pauseRate', o.pauseRate)
  share('changeRate', o.changeRate)
  integer('silentIdleMs', o.silentIdleMs, 0, DAY_MS, ' (ms)')
  if (typeof o.marketing !== 'boolean') bad(`marketing must be true or false, got ${String(o.marketing)}`)
  share('duplicateRate', o.duplicateRate)
  share('lateRate', o.lateRate)
  integer('maxLatenessMs', o.maxLatenessMs, 1, DAY_MS, ' (ms)')
  return Object.freeze({ ...o, sizeMix: Object.freeze([...mix]) })
}
