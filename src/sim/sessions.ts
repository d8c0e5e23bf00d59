// Viewing sessions of one household, drawn day by day from the regime in force. Each person's sessions form a
// marked Poisson process (see types.ts, PersonModel). A device plays one session at a time: candidates are
// taken in start order and one that starts while its device is busy is dropped. Whether a session is dropped
// depends only on sessions that started before it, never on who it belongs to, so the survivors' posterior
// over persons is still rate × densities (docs/simulator.md, "Why the oracle is exact").
import { pickTitle, type Catalogue } from './catalogue.js'
import type { HouseholdPlan } from './household.js'
import { DAY_MS, type ResolvedSimOptions } from './options.js'
import { drawTimeOfDayMs, heartbeatCount, regimeIndexOn, weekdayOf } from './person-model.js'
import type { Rng } from './random.js'
import { lognormal, pickCumulative, poisson } from './sampling.js'
import type { SimPause, SimSession } from './types.js'

/** Pause lengths: lognormal with this median (ms) and σ, capped below the sessionizer's 30 min gap. */
export const PAUSE_MEDIAN_MS = 60_000
export const PAUSE_SIGMA = 0.8
export const PAUSE_MAX_MS = 15 * 60_000

const NO_PAUSES: readonly SimPause[] = Object.freeze([])

type Draft = { -readonly [K in keyof SimSession]: SimSession[K] }

/**
 * Pauses of a session with `beats` complete heartbeat intervals: each interval independently holds one with
 * probability q, at a uniform whole second strictly inside it. Only complete intervals, so that whether a
 * pause is seen never depends on where an unobserved (silent) end falls. Intervals are skipped
 * geometrically (one draw per pause, not per interval).
 */
function drawPauses(r: Rng, beats: number, H: number, q: number): readonly SimPause[] {
  if (q <= 0 || beats === 0) return NO_PAUSES
  const logMiss = Math.log1p(-q)
  let pauses: SimPause[] | undefined
  // k = index of the next interval with a pause: P(skip j) = (1 − q)^j · q
  for (let k = q >= 1 ? 0 : Math.floor(Math.log(1 - r.uniform()) / logMiss); k < beats; k += q >= 1 ? 1 : 1 + Math.floor(Math.log(1 - r.uniform()) / logMiss)) {
    const atSec = k * H + 1 + Math.floor(r.uniform() * (H - 1))
    const gapMs = Math.round(Math.min(PAUSE_MAX_MS, lognormal(r, Math.log(PAUSE_MEDIAN_MS), PAUSE_SIGMA)))
    ;(pauses ??= []).push({ atSec, gapMs })
  }
  return pauses ?? NO_PAUSES
}

/** All sessions of the household over the run, in start order. */
export function drawSessions(r: Rng, plan: HouseholdPlan, catalogue: Catalogue, o: ResolvedSimOptions): SimSession[] {
  const n = plan.persons.length
  const H = o.heartbeatSec
  const ids = plan.persons.map((p) => p.id)
  const alone = ids.map((id) => Object.freeze([id]))
  const devices = plan.devices
  const shared = devices.map((d) => d.owner === null)
  const deviceFree = new Float64Array(devices.length)
  const out: SimSession[] = []
  const drafts: Draft[] = []
  const epochDay = o.startMs / DAY_MS

  for (let day = 0; day < o.days; day++) {
    const samplers = plan.samplers[regimeIndexOn(plan.regimes, day)]!
    const dow = weekdayOf(epochDay + day)
    const dayStart = o.startMs + day * DAY_MS
    drafts.length = 0
    for (let p = 0; p < n; p++) {
      const s = samplers[p]!
      for (let count = poisson(r, 7 * s.model.rate * s.model.weekday[dow]!); count > 0; count--) {
        const startMs = dayStart + drawTimeOfDayMs(r, s)
        const device = pickCumulative(r, s.deviceCum)
        const title = pickTitle(r, catalogue, pickCumulative(r, s.genreCum))
        const durationSec = Math.max(1, Math.ceil(lognormal(r, s.model.durationMu, s.model.durationSigma)))
        const stopped = r.uniform() < o.stopRate
        const beats = heartbeatCount(durationSec, H)
        const pauses = drawPauses(r, beats, H, o.pauseRate)
        let gapsMs = 0
        for (const x of pauses) gapsMs += x.gapMs
        let persons = alone[p]!
        if (n > 1 && shared[device] && r.uniform() < o.coViewingRate) {
          let q = Math.floor(r.uniform() * (n - 1))
          if (q >= p) q++
          persons = Object.freeze(p < q ? [ids[p]!, ids[q]!] : [ids[q]!, ids[p]!])
        }
        const dev = devices[device]!
        drafts.push({
          account: plan.account,
          id: '',
          persons,
          truth: persons.length === 1 ? persons[0]! : persons.join('+'),
          initiator: ids[p]!,
          coViewing: persons.length > 1,
          device: dev.id,
          deviceType: dev.deviceType,
          screenIn: dev.screenIn,
          startMs,
          endMs: startMs + durationSec * 1000 + gapsMs,
          durationSec,
          stopped,
          pauses,
          content: title.id,
          genres: title.genres,
          day,
        })
      }
    }
    drafts.sort((a, b) => a.startMs - b.startMs) // stable: ties keep draw order
    for (const d of drafts) {
      const device = devices.findIndex((x) => x.id === d.device)
      if (deviceFree[device]! > d.startMs) continue
      // after a silent session the device stays idle long enough for a silence-based sessionizer to see a gap
      const lastEventMs = d.endMs - (d.durationSec - heartbeatCount(d.durationSec, H) * H) * 1000
      deviceFree[device] = d.stopped ? d.endMs : Math.max(d.endMs, lastEventMs + o.silentIdleMs + 1)
      d.id = `s${out.length + 1}`
      out.push(d)
    }
  }
  return out
}
