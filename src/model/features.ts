// The feature vector of a viewing session (definitions and reasons in docs/features.md). Pure functions
// plus a running standardiser; no I/O.
import { DEVICE_TYPES, GENRES, type DeviceType } from './events.js'
import type { Session } from './sessionizer.js'
import { OptionError } from '../options/check.js'

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
/** Time since the previous session on the device is capped here (30 days), in hours. */
export const MAX_SINCE_PREVIOUS_H = 30 * 24
/** Used for a device's first session: a typical day, not the cap (which would make every first session an outlier). */
export const FIRST_SESSION_SINCE_H = 24
/** Screen diagonal assumed when a device does not report one, inches. */
export const DEFAULT_SCREEN_IN: Readonly<Record<DeviceType, number>> = { tv: 50, desktop: 20, mobile: 6, tablet: 10, console: 50, other: 20 }

export type FeatureGroup = 'time' | 'device' | 'content' | 'behaviour'

/** Default weights of the groups' log-likelihoods (the issue's defaults; behaviour as content). */
export const DEFAULT_GROUP_WEIGHTS: Readonly<Record<FeatureGroup, number>> = { time: 1.5, device: 1.2, content: 1.0, behaviour: 1.0 }

/** Groups known when a session opens (its first event): behaviour needs the session to run. */
export const GROUPS_AT_OPEN: readonly FeatureGroup[] = ['time', 'device', 'content']

interface FeatureDef { readonly name: string, readonly group: FeatureGroup }

/** Every dimension, in vector order. */
export const FEATURES: readonly FeatureDef[] = [
  { name: 'hour_sin', group: 'time' },
  { name: 'hour_cos', group: 'time' },
  { name: 'dow_sin', group: 'time' },
  { name: 'dow_cos', group: 'time' },
  { name: 'weekend', group: 'time' },
  ...DEVICE_TYPES.map((t) => ({ name: `device_${t}`, group: 'device' as const })),
  { name: 'log_screen_in', group: 'device' },
  ...GENRES.map((g) => ({ name: `genre_${g}`, group: 'content' as const })),
  { name: 'log_minutes', group: 'behaviour' },
  { name: 'events_per_min', group: 'behaviour' },
  { name: 'log_hours_since_previous', group: 'behaviour' },
  { name: 'device_switch', group: 'behaviour' },
]

export const FEATURE_DIM = FEATURES.length

/** Indices of the dimensions of each group. */
export const GROUP_DIMS: Readonly<Record<FeatureGroup, readonly number[]>> = {
  time: FEATURES.flatMap((f, i) => (f.group === 'time' ? [i] : [])),
  device: FEATURES.flatMap((f, i) => (f.group === 'device' ? [i] : [])),
  content: FEATURES.flatMap((f, i) => (f.group === 'content' ? [i] : [])),
  behaviour: FEATURES.flatMap((f, i) => (f.group === 'behaviour' ? [i] : [])),
}

/** What the household knows about the sessions before this one. */
export interface FeatureContext {
  /** Household's offset from UTC, minutes (local time decides hour and weekday). */
  readonly utcOffsetMinutes: number
  /** Event time the previous session on this device ended, if any. */
  readonly previousOnDeviceEndTs: number | undefined
  /** Device of the household's previous session, if any. */
  readonly previousDevice: string | undefined
}

/** Writes the session's feature vector (FEATURE_DIM values) into out at offset. */
export function sessionFeatures(s: Session, ctx: FeatureContext, out: Float64Array, offset = 0): void {
  const local = s.startTs + ctx.utcOffsetMinutes * 60_000
  const hour = (((local % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS // [0, 24)
  const day = Math.floor(local / DAY_MS)
  const dow = (((day + 3) % 7) + 7) % 7 // 0 = Monday (1970-01-01 was a Thursday)
  let i = offset
  out[i++] = Math.sin((2 * Math.PI * hour) / 24)
  out[i++] = Math.cos((2 * Math.PI * hour) / 24)
  out[i++] = Math.sin((2 * Math.PI * dow) / 7)
  out[i++] = Math.cos((2 * Math.PI * dow) / 7)
  out[i++] = dow >= 5 ? 1 : 0
  for (const t of DEVICE_TYPES) out[i++] = s.deviceType === t ? 1 : 0
  out[i++] = Math.log(s.screenIn ?? DEFAULT_SCREEN_IN[s.deviceType])
  let genreTotal = 0
  for (let g = 0; g < GENRES.length; g++) genreTotal += s.genreWeights[g]!
  for (let g = 0; g < GENRES.length; g++) out[i++] = genreTotal > 0 ? s.genreWeights[g]! / genreTotal : 0
  const minutes = s.watchedSec / 60
  const spanMin = Math.max(1, (s.lastTs - s.startTs) / 60_000)
  out[i++] = Math.log1p(minutes)
  out[i++] = s.events / spanMin
  const sinceH = ctx.previousOnDeviceEndTs === undefined
    ? FIRST_SESSION_SINCE_H
    : Math.min(MAX_SINCE_PREVIOUS_H, Math.max(0, (s.startTs - ctx.previousOnDeviceEndTs) / HOUR_MS))
  out[i++] = Math.log1p(sinceH)
  out[i++] = ctx.previousDevice !== undefined && ctx.previousDevice !== s.device ? 1 : 0
}

/**
 * Running mean and variance per dimension (Welford 1962), for standardising features within a household.
 * Dimensions with (almost) no variance yet are divided by 1, not by ~0.
 */
export class Standardizer {
  readonly mean: Float64Array
  /** Σ (x − mean)², per dimension. */
  readonly m2: Float64Array
  count = 0

  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new OptionError(`dim must be a positive integer, got ${dim}`)
    this.mean = new Float64Array(dim)
    this.m2 = new Float64Array(dim)
  }

  /** Adds one vector (dim values from x at offset). */
  add(x: Float64Array, offset = 0): void {
    this.count++
    for (let t = 0; t < this.dim; t++) {
      const v = x[offset + t]!
      const delta = v - this.mean[t]!
      this.mean[t] = this.mean[t]! + delta / this.count
      this.m2[t] = this.m2[t]! + delta * (v - this.mean[t]!)
    }
  }

  /** Standard deviation of dimension t (population), or 1 when there is too little spread to divide by. */
  scale(t: number): number {
    const sd = this.count > 1 ? Math.sqrt(this.m2[t]! / this.count) : 0
    return sd > 1e-6 ? sd : 1
  }

  /** (x − mean)/sd in place for dim values at offset. */
  apply(x: Float64Array, offset = 0): void {
    for (let t = 0; t < this.dim; t++) x[offset + t] = (x[offset + t]! - this.mean[t]!) / this.scale(t)
  }
}
