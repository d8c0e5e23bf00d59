// Session features: each definition from docs/features.md checked on hand-made sessions.
import { describe, expect, it } from 'vitest'
import { GENRES } from '../src/model/events.js'
import {
  DEFAULT_SCREEN_IN, FEATURE_DIM, FEATURES, FIRST_SESSION_SINCE_H, GROUP_DIMS, MAX_SINCE_PREVIOUS_H, sessionFeatures, Standardizer,
  type FeatureContext,
} from '../src/model/features.js'
import type { Session } from '../src/model/sessionizer.js'

const at = (name: string) => FEATURES.findIndex((f) => f.name === name)
const MONDAY_20H = Date.UTC(2026, 0, 5, 20, 0) // 2026-01-05 is a Monday

function session(over: Partial<Session> = {}): Session {
  const genreWeights = new Float64Array(GENRES.length)
  genreWeights[GENRES.indexOf('drama')] = 1
  genreWeights[GENRES.indexOf('crime')] = 0.5
  return {
    id: 'a#1', device: 'tv1', deviceType: 'tv', screenIn: 55, startTs: MONDAY_20H, lastTs: MONDAY_20H + 40 * 60_000,
    stopTs: undefined, events: 9, pauses: 0, watchedSec: 45 * 60, genreWeights, content: 'c1', contentSwitches: 0,
    firstEventId: 'e1', truth: undefined, ...over,
  }
}
const ctx: FeatureContext = { utcOffsetMinutes: 0, previousOnDeviceEndTs: undefined, previousDevice: undefined }
function features(s: Session, c: FeatureContext = ctx): Float64Array {
  const out = new Float64Array(FEATURE_DIM)
  sessionFeatures(s, c, out)
  return out
}

describe('session features', () => {
  it('has one group per dimension and documented names', () => {
    const all = Object.values(GROUP_DIMS).flat().sort((a, b) => a - b)
    expect(all).toEqual(Array.from({ length: FEATURE_DIM }, (_, i) => i))
    expect(FEATURE_DIM).toBe(5 + 7 + GENRES.length + 4)
  })

  it('encodes Monday 20:00 as hour and weekday on the circle, not a weekend', () => {
    const f = features(session())
    expect(f[at('hour_sin')]).toBeCloseTo(Math.sin((2 * Math.PI * 20) / 24), 12)
    expect(f[at('hour_cos')]).toBeCloseTo(Math.cos((2 * Math.PI * 20) / 24), 12)
    expect(f[at('dow_sin')]).toBeCloseTo(0, 12) // Monday = 0
    expect(f[at('dow_cos')]).toBeCloseTo(1, 12)
    expect(f[at('weekend')]).toBe(0)
  })

  it('uses the household local time: Sunday 23:30 UTC at UTC+1 is Monday 00:30', () => {
    const sunday = Date.UTC(2026, 0, 4, 23, 30)
    expect(features(session({ startTs: sunday }))[at('weekend')]).toBe(1)
    const local = features(session({ startTs: sunday }), { ...ctx, utcOffsetMinutes: 60 })
    expect(local[at('weekend')]).toBe(0)
    expect(local[at('hour_sin')]).toBeCloseTo(Math.sin((2 * Math.PI * 0.5) / 24), 12)
  })

  it('one-hot encodes the device type and falls back to a typical screen size', () => {
    const f = features(session({ deviceType: 'mobile', screenIn: undefined }))
    expect(f[at('device_mobile')]).toBe(1)
    expect(f[at('device_tv')]).toBe(0)
    expect(f[at('log_screen_in')]).toBeCloseTo(Math.log(DEFAULT_SCREEN_IN.mobile), 12)
  })

  it('normalises genre weights to a distribution (primary 1, secondary 0.5)', () => {
    const f = features(session())
    expect(f[at('genre_drama')]).toBeCloseTo(2 / 3, 12)
    expect(f[at('genre_crime')]).toBeCloseTo(1 / 3, 12)
    expect(features(session({ genreWeights: new Float64Array(GENRES.length) }))[at('genre_drama')]).toBe(0)
  })

  it('measures duration, density, time since the device was last used, and a device switch', () => {
    const f = features(session(), { utcOffsetMinutes: 0, previousOnDeviceEndTs: MONDAY_20H - 3 * 3_600_000, previousDevice: 'phone' })
    expect(f[at('log_minutes')]).toBeCloseTo(Math.log1p(45), 12)
    expect(f[at('events_per_min')]).toBeCloseTo(9 / 40, 12)
    expect(f[at('log_hours_since_previous')]).toBeCloseTo(Math.log1p(3), 12)
    expect(f[at('device_switch')]).toBe(1)
    const first = features(session())
    expect(first[at('log_hours_since_previous')]).toBeCloseTo(Math.log1p(FIRST_SESSION_SINCE_H), 12)
    const old = features(session(), { ...ctx, previousOnDeviceEndTs: MONDAY_20H - 90 * 86_400_000 })
    expect(old[at('log_hours_since_previous')]).toBeCloseTo(Math.log1p(MAX_SINCE_PREVIOUS_H), 12)
    expect(first[at('device_switch')]).toBe(0)
  })
})

describe('Standardizer', () => {
  it('matches the two-pass mean and population standard deviation', () => {
    const rows = [[1, 10, 5], [2, 14, 5], [4, 9, 5], [7, 11, 5]]
    const z = new Standardizer(3)
    for (const r of rows) z.add(Float64Array.from(r))
    const mean0 = (1 + 2 + 4 + 7) / 4
    const sd0 = Math.sqrt(rows.reduce((s, r) => s + (r[0]! - mean0) ** 2, 0) / 4)
    expect(z.mean[0]).toBeCloseTo(mean0, 12)
    expect(z.scale(0)).toBeCloseTo(sd0, 12)
    expect(z.scale(2)).toBe(1) // constant dimension: divide by 1
    const x = Float64Array.of(7, 11, 5)
    z.apply(x)
    expect(x[0]).toBeCloseTo((7 - mean0) / sd0, 12)
    expect(x[2]).toBe(0)
  })
})
