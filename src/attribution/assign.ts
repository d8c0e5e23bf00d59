// Which person a touch or a conversion belongs to, as the household model sees its device and time at that
// moment (docs/attribution.md, "Journeys from events"). The model is run unchanged over the playback events;
// touches and conversions are not playback, so the sessionizer would only reject them ('not-playback'): they
// are routed around it and read the model's state as it is when they arrive (no look-ahead).
import type { IdrEvent } from '../model/events.js'
import { Household, UNKNOWN_PERSON, type HouseholdOptions, type PersonProbability } from '../model/household.js'
import { allocEncoded, encodeObservation } from '../model/mixture.js'
import { MAX_DEVICES, emptyObservation } from '../model/observation.js'
import { DEFAULT_SESSION_GAP_MS } from '../model/sessionizer.js'

/** The household model's default softmax temperature (docs/model.md); the device-and-time posterior uses it too. */
export const DEFAULT_ASSIGN_TEMPERATURE = 9

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
/** Pair index of the genre in an encoded observation (two hour pairs, weekday, device, genre). */
const GENRE_PAIR = 4
const DEVICE_PAIR = 3

/** Where an assignment came from (for statistics). */
export type AssignSource = 'session' | 'device-time' | 'cold'

/** One household model run over an account's playback events, answering "who is on this device now?". */
export class PersonAssigner {
  readonly model: Household
  private readonly gapMs: number
  private readonly temperature: number
  private readonly offsetMs: number
  /** Latest published probabilities per open session. */
  private readonly latest = new Map<string, readonly PersonProbability[]>()
  /** Per device, the last closed session's end and final probabilities. */
  private readonly lastClosed = new Map<string, { end: number, persons: readonly PersonProbability[] }>()
  private readonly enc = allocEncoded(1)
  private readonly obs = emptyObservation()
  readonly sources: Record<AssignSource, number> = { session: 0, 'device-time': 0, cold: 0 }

  constructor(account: string, options: HouseholdOptions = {}) {
    this.model = new Household(account, { ...options, refits: 'inline' })
    this.gapMs = options.sessionizer?.gapMs ?? DEFAULT_SESSION_GAP_MS
    this.temperature = options.temperature ?? DEFAULT_ASSIGN_TEMPERATURE
    this.offsetMs = (options.utcOffsetMinutes ?? 0) * 60_000
  }

  /** Feeds one playback event to the model. */
  push(e: IdrEvent): void {
    this.record(this.model.push(e))
  }

  /** Closes the model's open sessions (end of input). */
  flush(): void {
    this.record(this.model.flush())
  }

  private record(out: ReturnType<Household['push']>): void {
    for (const a of out.assignments) {
      if (a.stage !== 'close') this.latest.set(a.session, a.persons)
      else {
        this.latest.delete(a.session)
        const s = out.closed.find((c) => c.id === a.session)
        if (s) this.lastClosed.set(s.device, { end: s.stopTs ?? s.lastTs, persons: a.persons })
      }
    }
  }

  /**
   * Person probabilities for something that happened on `device` at `ts`, most probable first:
   * 1. a session on the device that started by ts and whose last event (or stop) is at most the session gap
   *    before ts: its latest assignment (open or closed);
   * 2. no such session, the model has persons: the posterior given the time of day, weekday and device only,
   *    ∝ exp((ln π_j + ln p(hour, weekday, device | j)) / T), the model's own terms without genre and watched time;
   * 3. no persons yet (cold start): everything to the pseudo-person `unknown`.
   */
  personsAt(device: string, ts: number): readonly PersonProbability[] {
    let best: readonly PersonProbability[] | undefined
    let bestStart = -Infinity
    for (const s of this.model.sessionizer.openSessions) {
      if (s.device !== device || s.startTs > ts || ts > (s.stopTs ?? s.lastTs) + this.gapMs || s.startTs < bestStart) continue
      const p = this.latest.get(s.id)
      if (p) { best = p; bestStart = s.startTs }
    }
    if (!best) {
      const c = this.lastClosed.get(device)
      if (c && ts >= c.end && ts - c.end <= this.gapMs) best = c.persons
    }
    if (best) {
      this.sources.session++
      return best
    }
    if (this.model.persons.k === 0) {
      this.sources.cold++
      return COLD
    }
    this.sources['device-time']++
    return this.deviceTime(device, ts)
  }

  private deviceTime(device: string, ts: number): PersonProbability[] {
    const local = ts + this.offsetMs
    const o = this.obs
    o.hour = (((local % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS
    o.weekday = (((Math.floor(local / DAY_MS) + 3) % 7) + 7) % 7 // Monday = 0, as observe() counts
    const slot = this.model.deviceIds.indexOf(device)
    o.device = slot < 0 ? 0 : Math.min(slot, MAX_DEVICES - 1)
    o.genre = 0
    encodeObservation(o, this.enc, 0, false)
    this.enc.w[GENRE_PAIR] = 0
    if (slot < 0) this.enc.w[DEVICE_PAIR] = 0 // a device the model has not learnt: no device term
    const persons = this.model.persons
    const ll = new Float64Array(persons.k)
    persons.logJoint(this.enc, 0, ll)
    let hi = -Infinity
    for (let j = 0; j < ll.length; j++) hi = Math.max(hi, (ll[j] = ll[j]! / this.temperature))
    let sum = 0
    for (let j = 0; j < ll.length; j++) sum += (ll[j] = Math.exp(ll[j]! - hi))
    return persons.ids.map((person, j) => ({ person, p: ll[j]! / sum })).sort((a, b) => b.p - a.p || (a.person < b.person ? -1 : 1))
  }
}

const COLD: readonly PersonProbability[] = Object.freeze([{ person: UNKNOWN_PERSON, p: 1 }])
