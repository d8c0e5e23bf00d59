// A household's make-up: persons, devices, an optional change, and the true per-person models (regimes)
// after difficulty mixing. Sessions and marketing are drawn from these in sessions.ts and marketing.ts.
import type { DeviceType } from '../model/events.js'
import type { ResolvedSimOptions } from './options.js'
import { personSampler, type PersonSampler } from './person-model.js'
import { drawComposition, drawPerson, type PersonalDeviceType, type PersonBase, type TimeComponent } from './personas.js'
import type { Rng } from './random.js'
import { bernoulli, normalise, pick, uniformIn } from './sampling.js'
import type { Difficulty, PersonModel, Regime, SimChange, SimDevice, SimPerson } from './types.js'

/** What each difficulty does to a household (docs/simulator.md, "Difficulty"). */
export interface DifficultySettings {
  /** λ: every person's time, weekday, genre, shared-device and duration model is (1 − λ)·own + λ·household mean. */
  readonly mix: number
  /** Multiplies every time-of-day component's standard deviation. */
  readonly hourSpread: number
  /** Multiplies each person's share of sessions on their own personal devices (the rest goes to shared devices). */
  readonly personalFactor: number
  /** Share of each person's sessions on other persons' personal devices (split evenly among them). */
  readonly borrowShare: number
}

export const DIFFICULTY_SETTINGS: Readonly<Record<Difficulty, DifficultySettings>> = {
  easy: { mix: 0.1, hourSpread: 1, personalFactor: 1, borrowShare: 0.02 },
  default: { mix: 0.3, hourSpread: 1.15, personalFactor: 0.8, borrowShare: 0.03 },
  hard: { mix: 0.5, hourSpread: 1.3, personalFactor: 0.6, borrowShare: 0.05 },
}

/** A device that appears during the run takes this share of its owner's sessions from then on. */
export const NEW_DEVICE_SHARE = 0.4
/** Time-of-day standard deviations are kept in this range, hours. */
export const HOUR_SD_RANGE = [0.5, 6] as const
/** A schedule change shifts a person's hours by ±U(SCHEDULE_SHIFT_RANGE) hours. */
export const SCHEDULE_SHIFT_RANGE = [2, 4] as const

const SCREEN_IN: Record<Exclude<DeviceType, 'console' | 'other'>, readonly [number, number, number]> = {
  // [min, max, rounding step], inches
  tv: [40, 75, 1],
  desktop: [13, 27, 1],
  tablet: [8, 13, 0.1],
  mobile: [5, 7, 0.1],
}
const CONSOLE_CHANCE = { keen: 0.85, otherwise: 0.25 }
/** Households of this size or more may have a second (bedroom) TV, with this probability. */
const SECOND_TV = { minSize: 3, chance: 0.35, screenMaxIn: 55 }
const SECOND_PERSONAL_DEVICE_CHANCE = 0.4
/** Within a person's own devices: weight of the first against each later one. */
const PRIMARY_DEVICE_WEIGHT = 3

/** Everything later stages draw from. */
export interface HouseholdPlan {
  readonly account: string
  readonly index: number
  readonly bases: readonly PersonBase[]
  readonly persons: readonly SimPerson[]
  readonly devices: readonly SimDevice[]
  readonly changes: readonly SimChange[]
  readonly regimes: readonly Regime[]
  /** regimes prepared for sampling: samplers[regime][person]. */
  readonly samplers: readonly (readonly PersonSampler[])[]
}

function screen(r: Rng, type: keyof typeof SCREEN_IN, max?: number): number {
  const [lo, hi, step] = SCREEN_IN[type]
  const v = uniformIn(r, lo, (max ?? hi) + step)
  return Math.round(Math.min(v, max ?? hi) / step) * step
}

/** Draws household `index` (0-based): size, persons, devices, change, and its regimes. */
export function planHousehold(r: Rng, index: number, o: ResolvedSimOptions): HouseholdPlan {
  const hh = String(index + 1).padStart(6, '0')
  const account = `acct-${hh}`
  const size = 1 + pick(r, o.sizeMix)
  const bases = drawComposition(r, size).map((c, i) => drawPerson(r, `p${i + 1}`, c.archetype, c.age))
  const devices: SimDevice[] = []
  const add = (deviceType: DeviceType, screenIn: number, owner: string | null, fromDay = 0): SimDevice => {
    const d = { id: `dev-${hh}-${devices.length + 1}`, deviceType, screenIn: Math.round(screenIn * 10) / 10, owner, fromDay }
    devices.push(d)
    return d
  }
  const tv = add('tv', screen(r, 'tv'), null)
  const keen = bases.some((p) => p.consoleLiking >= 0.5)
  if (bernoulli(r, keen ? CONSOLE_CHANCE.keen : CONSOLE_CHANCE.otherwise)) add('console', tv.screenIn, null)
  if (size >= SECOND_TV.minSize && bernoulli(r, SECOND_TV.chance)) add('tv', screen(r, 'tv', SECOND_TV.screenMaxIn), null)
  for (const p of bases) {
    const kinds = p.archetype.personal
    add(kinds[0]!, screen(r, kinds[0]!), p.id)
    if (kinds.length > 1 && bernoulli(r, SECOND_PERSONAL_DEVICE_CHANCE)) add(kinds[1]!, screen(r, kinds[1]!), p.id)
  }

  const changes: SimChange[] = []
  if (o.days >= 2 && bernoulli(r, o.changeRate)) {
    const day = 1 + Math.floor(r.uniform() * (o.days - 1))
    const person = bases[Math.floor(r.uniform() * size)]!.id
    if (bernoulli(r, 0.5)) {
      const sign = bernoulli(r, 0.5) ? 1 : -1
      const shiftHours = Math.round(sign * uniformIn(r, SCHEDULE_SHIFT_RANGE[0], SCHEDULE_SHIFT_RANGE[1]) * 100) / 100
      changes.push({ kind: 'schedule', day, person, shiftHours })
    } else {
      const owned = new Set(devices.filter((d) => d.owner === person).map((d) => d.deviceType))
      const free = (['mobile', 'tablet', 'desktop'] as const).filter((t) => !owned.has(t))
      const type: PersonalDeviceType = free.length ? free[Math.floor(r.uniform() * free.length)]! : 'mobile'
      changes.push({ kind: 'device', day, person, device: add(type, screen(r, type), person, day).id })
    }
  }

  const settings = DIFFICULTY_SETTINGS[o.difficulty]
  const regimes = [buildRegime(0, bases, devices, [], settings)]
  if (changes.length) regimes.push(buildRegime(changes[0]!.day, bases, devices, changes, settings))
  const persons = bases.map((p): SimPerson => ({ id: p.id, archetype: p.archetype.name, age: p.age }))
  const samplers = regimes.map((reg) => reg.persons.map(personSampler))
  return { account, index, bases, persons, devices, changes, regimes, samplers }
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length

/** (1 − λ)·own + λ·(mean over persons), elementwise. */
function mixVectors(own: ArrayLike<number>, all: readonly ArrayLike<number>[], lambda: number): number[] {
  const out = new Array<number>(own.length)
  for (let i = 0; i < own.length; i++) {
    let s = 0
    for (const v of all) s += v[i]!
    out[i] = (1 - lambda) * own[i]! + (lambda * s) / all.length
  }
  return out
}

/** The persons' true models from `fromDay` on, with the changes that happened by then. */
export function buildRegime(fromDay: number, bases: readonly PersonBase[], allDevices: readonly SimDevice[], changes: readonly SimChange[], d: DifficultySettings): Regime {
  const n = bases.length
  const lambda = n > 1 ? d.mix : 0
  const active = allDevices.map((dev) => dev.fromDay <= fromDay)
  const newDevice = new Map<string, number>()
  for (const c of changes) if (c.kind === 'device') newDevice.set(c.person, allDevices.findIndex((x) => x.id === c.device))

  const hours = bases.map((p) => {
    let shift = 0
    for (const c of changes) if (c.kind === 'schedule' && c.person === p.id) shift += c.shiftHours
    return p.hours.map((c): TimeComponent => ({
      weight: c.weight,
      meanH: (((c.meanH + shift) % 24) + 24) % 24,
      sdH: Math.min(HOUR_SD_RANGE[1], Math.max(HOUR_SD_RANGE[0], c.sdH * d.hourSpread)),
    }))
  })
  // each person's preferences among the shared devices, before mixing
  const shared: number[] = []
  const tvs: number[] = []
  allDevices.forEach((dev, i) => {
    if (dev.owner !== null || !active[i]) return
    shared.push(i)
    if (dev.deviceType === 'tv') tvs.push(i)
  })
  const sharedPrefs = bases.map((p) => normalise(shared.map((i) => {
    if (allDevices[i]!.deviceType === 'console') return p.consoleLiking
    if (tvs.length < 2) return 1
    return i === tvs[0] ? 1 - p.secondTvShare : p.secondTvShare / (tvs.length - 1)
  })))
  const weekdays = bases.map((q) => q.weekday)
  const genres = bases.map((q) => q.genre)
  const meanMu = mean(bases.map((q) => q.durationMu))
  const meanSigma = mean(bases.map((q) => q.durationSigma))
  const mixedHours = lambda > 0 ? hours.flatMap((hs) => hs.map((c) => ({ ...c, weight: (lambda / n) * c.weight }))) : []

  const persons = bases.map((p, k): PersonModel => {
    const newIdx = newDevice.get(p.id) ?? -1
    const own: number[] = []
    const others: number[] = []
    allDevices.forEach((dev, i) => {
      if (dev.owner === null || !active[i] || i === newIdx) return
      ;(dev.owner === p.id ? own : others).push(i)
    })
    const personal = p.personalShare * d.personalFactor
    const borrow = others.length ? d.borrowShare : 0
    const device = new Array<number>(allDevices.length).fill(0)
    own.forEach((i, j) => { device[i] = ((j === 0 ? PRIMARY_DEVICE_WEIGHT : 1) / (PRIMARY_DEVICE_WEIGHT + own.length - 1)) * personal })
    for (const i of others) device[i] = borrow / others.length
    const prefs = mixVectors(sharedPrefs[k]!, sharedPrefs, lambda)
    shared.forEach((i, j) => { device[i] = (1 - personal - borrow) * prefs[j]! })
    if (newIdx >= 0 && active[newIdx]) {
      for (let i = 0; i < device.length; i++) device[i] = device[i]! * (1 - NEW_DEVICE_SHARE)
      device[newIdx] = NEW_DEVICE_SHARE
    }
    return {
      rate: p.rate,
      weekday: mixVectors(p.weekday, weekdays, lambda),
      hours: [...hours[k]!.map((c) => ({ ...c, weight: (1 - lambda) * c.weight })), ...mixedHours],
      device,
      genre: mixVectors(p.genre, genres, lambda),
      durationMu: (1 - lambda) * p.durationMu + lambda * meanMu,
      durationSigma: (1 - lambda) * p.durationSigma + lambda * meanSigma,
    }
  })
  return { fromDay, persons }
}
