// Who lives in a simulated household: viewing archetypes, the per-person randomisation around them, and the
// household composition by size. Everything here is before difficulty mixing (see household.ts).
import { CHANNELS, GENRES, type Channel, type Genre } from '../model/events.js'
import type { Rng } from './random.js'
import { jitter, normalise, pick } from './sampling.js'

export type AgeGroup = 'adult' | 'teen' | 'child'
export type PersonalDeviceType = 'mobile' | 'tablet' | 'desktop'

/** One component of a time-of-day mixture: a wrapped normal on the 24 h circle (hours, UTC). */
export interface TimeComponent {
  readonly weight: number
  readonly meanH: number
  readonly sdH: number
}

/** A viewing habit that persons are drawn around. */
export interface Archetype {
  readonly name: string
  /** Typical age group; the household slot decides (the first two persons are adults). */
  readonly age: AgeGroup
  /** Preferred session start times. */
  readonly hours: readonly TimeComponent[]
  /** Weight of a Saturday or Sunday relative to a weekday (1 = no preference). */
  readonly weekendFactor: number
  /** Mean sessions per day. */
  readonly sessionsPerDay: number
  /** Share of sessions on the person's own personal devices (before difficulty). */
  readonly personalShare: number
  /** Personal devices the person may own; the first is always owned. */
  readonly personal: readonly PersonalDeviceType[]
  /** Weight of the console against the TV (1) among shared-device sessions, when there is a console. */
  readonly consoleLiking: number
  /** Relative weights of primary genres; genres not named get BACKGROUND_GENRE_WEIGHT. */
  readonly genres: Partial<Record<Genre, number>>
  /** Median watched time, minutes. */
  readonly durationMedianMin: number
  /** Lognormal σ of watched time (natural log scale). */
  readonly durationSigma: number
  /** Mean marketing touches per day. */
  readonly touchesPerDay: number
  /** Relative marketing channel affinities; channels not named get BACKGROUND_CHANNEL_WEIGHT. */
  readonly channels: Partial<Record<Channel, number>>
  /** How strongly a touch of the channel persuades this persona, × CHANNEL_LIFT; channels not named get 1 (lift.ts). */
  readonly lift: Partial<Record<Channel, number>>
}

const BACKGROUND_GENRE_WEIGHT = 0.08
const BACKGROUND_CHANNEL_WEIGHT = 0.3

export const ARCHETYPES: readonly Archetype[] = [
  {
    name: 'evening-drama', age: 'adult', hours: [{ weight: 1, meanH: 20.75, sdH: 1.3 }], weekendFactor: 1.2,
    sessionsPerDay: 1.1, personalShare: 0.15, personal: ['mobile', 'tablet'], consoleLiking: 0.05,
    genres: { drama: 5, romance: 2, crime: 2, comedy: 2, reality: 1 }, durationMedianMin: 50, durationSigma: 0.5,
    touchesPerDay: 0.25, channels: { email: 3, tv: 2, social: 1, display: 1 }, lift: { email: 1.5, tv: 1.3, social: 0.7 },
  },
  {
    name: 'late-night-thriller', age: 'adult', hours: [{ weight: 1, meanH: 23.25, sdH: 1.2 }], weekendFactor: 1.1,
    sessionsPerDay: 0.9, personalShare: 0.6, personal: ['desktop', 'mobile'], consoleLiking: 0.1,
    genres: { thriller: 5, crime: 3, horror: 2, scifi: 1 }, durationMedianMin: 70, durationSigma: 0.45,
    touchesPerDay: 0.2, channels: { search: 3, display: 2, email: 1, affiliate: 1 }, lift: { search: 1.5, affiliate: 1.3, social: 0.6 },
  },
  {
    name: 'teen-scifi', age: 'teen', hours: [{ weight: 0.6, meanH: 16.5, sdH: 1.5 }, { weight: 0.4, meanH: 21.5, sdH: 1 }], weekendFactor: 1.4,
    sessionsPerDay: 1.6, personalShare: 0.7, personal: ['mobile', 'tablet'], consoleLiking: 0.7,
    genres: { scifi: 5, animation: 3, fantasy: 3, comedy: 2, action: 2 }, durationMedianMin: 30, durationSigma: 0.55,
    touchesPerDay: 0.3, channels: { social: 5, push: 2, referral: 1 }, lift: { social: 1.8, referral: 1.5, push: 1.3, email: 0.4 },
  },
  {
    name: 'child-cartoons', age: 'child', hours: [{ weight: 0.55, meanH: 7.75, sdH: 0.8 }, { weight: 0.45, meanH: 17.25, sdH: 1.2 }], weekendFactor: 1.5,
    sessionsPerDay: 2, personalShare: 0.55, personal: ['tablet'], consoleLiking: 0,
    genres: { kids: 6, animation: 4, comedy: 1, music: 1 }, durationMedianMin: 22, durationSigma: 0.45,
    touchesPerDay: 0.05, channels: { tv: 3, push: 1 }, lift: { tv: 1.5, push: 0.7 },
  },
  {
    name: 'weekend-sports', age: 'adult', hours: [{ weight: 0.5, meanH: 15, sdH: 2.2 }, { weight: 0.5, meanH: 20, sdH: 1.3 }], weekendFactor: 3.5,
    sessionsPerDay: 0.8, personalShare: 0.2, personal: ['mobile'], consoleLiking: 0.3,
    genres: { sports: 7, news: 2, documentary: 1 }, durationMedianMin: 110, durationSigma: 0.4,
    touchesPerDay: 0.25, channels: { tv: 3, search: 2, display: 1, email: 1 }, lift: { tv: 1.5, search: 1.2, email: 0.7 },
  },
  {
    name: 'morning-news', age: 'adult', hours: [{ weight: 0.65, meanH: 6.75, sdH: 0.8 }, { weight: 0.35, meanH: 12.5, sdH: 1 }], weekendFactor: 0.6,
    sessionsPerDay: 1.4, personalShare: 0.75, personal: ['mobile', 'desktop'], consoleLiking: 0,
    genres: { news: 6, documentary: 3, sports: 1 }, durationMedianMin: 15, durationSigma: 0.5,
    touchesPerDay: 0.3, channels: { email: 4, push: 2, search: 1 }, lift: { email: 1.8, push: 1.3, social: 0.6 },
  },
  {
    name: 'console-gamer', age: 'teen', hours: [{ weight: 1, meanH: 21, sdH: 1.6 }], weekendFactor: 1.3,
    sessionsPerDay: 1, personalShare: 0.3, personal: ['mobile', 'desktop'], consoleLiking: 3,
    genres: { action: 4, scifi: 3, fantasy: 2, animation: 2 }, durationMedianMin: 60, durationSigma: 0.5,
    touchesPerDay: 0.3, channels: { social: 3, affiliate: 2, display: 2 }, lift: { social: 1.5, affiliate: 1.5, email: 0.5 },
  },
  {
    name: 'daytime-casual', age: 'adult', hours: [{ weight: 0.6, meanH: 13.5, sdH: 1.8 }, { weight: 0.4, meanH: 18.5, sdH: 1.3 }], weekendFactor: 0.9,
    sessionsPerDay: 1, personalShare: 0.6, personal: ['tablet', 'mobile'], consoleLiking: 0,
    genres: { reality: 4, comedy: 3, romance: 2, music: 2, documentary: 1 }, durationMedianMin: 35, durationSigma: 0.5,
    touchesPerDay: 0.35, channels: { social: 3, email: 2, display: 2, organic: 1 }, lift: { social: 1.3, organic: 1.3, search: 0.7 },
  },
]

/** Archetype names by who may take them: the first two persons are adults, the rest mostly children and teens. */
const ADULTS = ['evening-drama', 'late-night-thriller', 'weekend-sports', 'morning-news', 'daytime-casual', 'console-gamer']
const ADULT_WEIGHTS = [3, 2, 2, 2, 2, 1]
const YOUNGER = ['child-cartoons', 'teen-scifi', 'console-gamer', 'evening-drama']
const YOUNGER_WEIGHTS = [4.5, 2.5, 1, 2]

const BY_NAME = new Map(ARCHETYPES.map((a) => [a.name, a]))

/** Archetypes and age groups for a household of `size` persons (adults first). */
export function drawComposition(r: Rng, size: number): { archetype: Archetype, age: AgeGroup }[] {
  return Array.from({ length: size }, (_, i) => {
    const adult = i < 2
    const archetype = adult ? BY_NAME.get(ADULTS[pick(r, ADULT_WEIGHTS)]!)! : BY_NAME.get(YOUNGER[pick(r, YOUNGER_WEIGHTS)]!)!
    return { archetype, age: adult ? 'adult' : archetype.age }
  })
}

/** One person's own habits (before difficulty mixing). Probability vectors sum to 1. */
export interface PersonBase {
  readonly id: string
  readonly archetype: Archetype
  readonly age: AgeGroup
  /** Mean sessions per day over a week. */
  readonly rate: number
  /** Day-of-week probabilities, Monday first. */
  readonly weekday: Float64Array
  readonly hours: readonly TimeComponent[]
  /** Primary-genre probabilities over GENRES. */
  readonly genre: Float64Array
  /** Lognormal parameters of watched seconds. */
  readonly durationMu: number
  readonly durationSigma: number
  readonly personalShare: number
  /** Console weight against the TV (1). */
  readonly consoleLiking: number
  /** Share of TV sessions this person takes to a second TV, when the household has one. */
  readonly secondTvShare: number
  readonly touchesPerDay: number
  /** Channel probabilities over CHANNELS. */
  readonly channels: Float64Array
  /** Multiplies the conversion probability of every touch (marketing.ts). */
  readonly conversionPropensity: number
}

/** Per-person spreads around the archetype (log-scale sd for multiplicative jitters, hours for shifts). */
const PERSON_SPREAD = {
  hourShiftH: 0.75,
  hourSdLog: 0.15,
  componentWeightLog: 0.2,
  weekdayLog: 0.15,
  genreLog: 0.4,
  durationMedianLog: 0.25,
  durationSigmaLog: 0.1,
  rateLog: 0.3,
  personalShareLog: 0.2,
  channelLog: 0.4,
} as const

/** Lognormal σ of watched time is kept in this range (a wider tail would give day-long sessions). */
export const DURATION_SIGMA_RANGE = [0.25, 0.9] as const

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))

/** Named weights as a vector over a vocabulary (unnamed: background; `skip`: 0), cached per table. */
const vectors = new WeakMap<object, Float64Array>()
function weightVector<K extends string>(names: readonly K[], weights: Partial<Record<K, number>>, background: number, skip?: K): Float64Array {
  let v = vectors.get(weights)
  if (v === undefined) {
    v = Float64Array.from(names, (name) => (name === skip ? 0 : weights[name] ?? background))
    vectors.set(weights, v)
  }
  return v
}

/** Probabilities ∝ weight × jitter over a vocabulary. */
function jittered(r: Rng, base: Float64Array, sdLog: number): Float64Array {
  const out = new Float64Array(base.length)
  for (let i = 0; i < base.length; i++) out[i] = base[i]! > 0 ? base[i]! * jitter(r, sdLog) : 0
  return normalise(out)
}

/** Draws a person around an archetype. */
export function drawPerson(r: Rng, id: string, a: Archetype, age: AgeGroup = a.age): PersonBase {
  const S = PERSON_SPREAD
  const shift = S.hourShiftH * r.normal()
  const hourWeights = a.hours.map((c) => c.weight * jitter(r, S.componentWeightLog))
  const wSum = hourWeights.reduce((s, w) => s + w, 0)
  const hours = a.hours.map((c, i) => ({ weight: hourWeights[i]! / wSum, meanH: c.meanH + shift, sdH: c.sdH * jitter(r, S.hourSdLog) }))
  const weekday = new Float64Array(7)
  for (let d = 0; d < 7; d++) weekday[d] = (d >= 5 ? a.weekendFactor : 1) * jitter(r, S.weekdayLog)
  normalise(weekday)
  const genre = jittered(r, weightVector(GENRES, a.genres, BACKGROUND_GENRE_WEIGHT), S.genreLog)
  const channels = jittered(r, weightVector(CHANNELS, a.channels, BACKGROUND_CHANNEL_WEIGHT, 'other'), S.channelLog)
  const medianSec = a.durationMedianMin * 60 * jitter(r, S.durationMedianLog)
  return {
    id,
    archetype: a,
    age,
    rate: a.sessionsPerDay * jitter(r, S.rateLog),
    weekday,
    hours,
    genre,
    durationMu: Math.log(medianSec),
    durationSigma: clamp(a.durationSigma * jitter(r, S.durationSigmaLog), DURATION_SIGMA_RANGE[0], DURATION_SIGMA_RANGE[1]),
    personalShare: clamp(a.personalShare * jitter(r, S.personalShareLog), 0.05, 0.9),
    consoleLiking: a.consoleLiking * jitter(r, 0.3),
    secondTvShare: 0.2 + 0.3 * r.uniform(),
    touchesPerDay: a.touchesPerDay * jitter(r, 0.3),
    channels,
    conversionPropensity: jitter(r, 0.5),
  }
}
