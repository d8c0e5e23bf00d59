// The population model: M recurring viewing profiles learned without labels from the sessions of many
// households ("weekday mornings, children's titles, tablet"), the prior a household's persons are drawn from.
// A profile is a product of independent traits over the session — start hour, weekday, device *type*, genre
// and ln watched minutes — the same latent-class form as the household's persons (./mixture.ts), with the
// household-local device slot replaced by the device type every household shares. Its size M is chosen by
// held-out log-likelihood (fitPopulation). docs/model.md, "The population model".
import type { KernelOps } from '../kernels/ops.js'
import { DEVICE_TYPES } from './events.js'
import { Mixture, allocEncoded, encodeObservation, mixtureOptions, type Encoded, type MixtureOptions } from './mixture.js'
import { fitFrom, kmeansInit, levelsInUse } from './mixture-fit.js'
import type { Observation } from './observation.js'

/** A session as the population sees it: the observation's traits with the device's type instead of its slot. */
export interface PopulationRow {
  readonly hour: number
  readonly weekday: number
  /** Index in DEVICE_TYPES. */
  readonly deviceType: number
  readonly genre: number
  readonly logMinutes: number
}

/** Profiles are centred on the population's own distribution with this many pseudo-sessions per trait. */
export const PROFILE_OPTIONS: MixtureOptions = mixtureOptions({ prior: { time: 1, weekday: 1, device: 1, genre: 1, duration: 1 } })

export class PopulationModel {
  constructor(
    /** Content-derived identifier: equal profiles give equal versions (households record the one they used). */
    readonly version: string,
    /** The profiles (persons of a mixture whose device field holds the device type). */
    readonly profiles: Mixture,
  ) {}

  get size(): number {
    return this.profiles.k
  }

  /** ln φ_m(row i) for every profile m into out (M values at outOffset), without the profile weights. */
  logLik(e: Encoded, i: number, out: Float64Array, outOffset = 0): void {
    this.profiles.logLik(e, i, out, outOffset)
  }

  /** ln ρ_m: the profiles' population weights. */
  get logWeights(): Float64Array {
    return this.profiles.logPi
  }
}

/** Writes a population row as row i of e (the device field holds the type; withDuration false leaves it unknown). */
export function encodePopulationRow(r: PopulationRow, e: Encoded, i: number, withDuration = true): void {
  const o: Observation = { hour: r.hour, weekday: r.weekday, device: r.deviceType, genre: r.genre, logMinutes: r.logMinutes, startSec: 0 }
  encodeObservation(o, e, i, withDuration)
}

export function encodePopulation(rows: readonly PopulationRow[]): Encoded {
  const e = allocEncoded(rows.length)
  rows.forEach((r, i) => encodePopulationRow(r, e, i))
  return e
}

export interface PopulationFitOptions {
  /** Candidate sizes, tried in order; the one with the best held-out log-likelihood per session wins. */
  readonly sizes: readonly number[]
  readonly seed: number
  readonly maxIter?: number
}

export const POPULATION_FIT_DEFAULTS: PopulationFitOptions = { sizes: [1, 2, 4, 8, 12, 16, 24, 32, 48], seed: 1, maxIter: 100 }

export interface PopulationFit {
  readonly model: PopulationModel
  /** Held-out mean log-likelihood per session of every size tried. */
  readonly heldOut: readonly { size: number, logLik: number }[]
}

/**
 * Fits profiles on `train` for every candidate size and keeps the size whose profiles give `heldOut` (sessions of
 * other households) the highest log-likelihood; the chosen size is then refitted on both.
 */
export function fitPopulation(ops: KernelOps, train: readonly PopulationRow[], heldOut: readonly PopulationRow[], o: PopulationFitOptions = POPULATION_FIT_DEFAULTS): PopulationFit {
  const et = encodePopulation(train)
  const eh = encodePopulation(heldOut)
  const scores: { size: number, logLik: number }[] = []
  let best = { size: 1, logLik: -Infinity }
  for (const size of o.sizes) {
    if (size > et.n) break
    const m = fitProfiles(ops, et, size, o)
    const ll = meanLogLik(m, eh)
    scores.push({ size, logLik: ll })
    if (ll > best.logLik) best = { size, logLik: ll }
  }
  const all = encodePopulation([...train, ...heldOut])
  const profiles = fitProfiles(ops, all, best.size, o)
  return { model: new PopulationModel(versionOf(profiles), profiles), heldOut: scores }
}

function fitProfiles(ops: KernelOps, e: Encoded, size: number, o: PopulationFitOptions): Mixture {
  const resp = kmeansInit(ops, e, size, o.seed)
  return fitFrom(ops.kernels, e, size, resp, PROFILE_OPTIONS, 1, levelsInUse(e), o.maxIter ?? 100, 1e-5).mixture
}

/** Mean over rows of ln Σ_m ρ_m φ_m(row). */
export function meanLogLik(m: Mixture, e: Encoded): number {
  const out = new Float64Array(m.k)
  let total = 0
  for (let i = 0; i < e.n; i++) {
    m.logLik(e, i, out)
    let hi = -Infinity
    for (let j = 0; j < m.k; j++) hi = Math.max(hi, (out[j] = out[j]! + m.logPi[j]!))
    let s = 0
    for (let j = 0; j < m.k; j++) s += Math.exp(out[j]! - hi)
    total += hi + Math.log(s)
  }
  return e.n > 0 ? total / e.n : 0
}

/** FNV-1a over the profiles' statistics, as 8 hex digits prefixed by the size. */
function versionOf(m: Mixture): string {
  let h = 0x811c9dc5
  const mix = (a: Float64Array) => {
    const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0
  }
  mix(m.counts)
  mix(m.n)
  mix(m.durW)
  mix(m.durS)
  mix(m.durQ)
  return `pop${m.k}-${h.toString(16).padStart(8, '0')}`
}

/** DEVICE_TYPES index of a device type name (unknown names are 'other'). */
export function deviceTypeIndex(t: string): number {
  const i = (DEVICE_TYPES as readonly string[]).indexOf(t)
  return i >= 0 ? i : DEVICE_TYPES.indexOf('other')
}
