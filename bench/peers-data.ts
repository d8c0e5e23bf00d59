// The peers' input: every household's closed sessions, as idr's own evaluation closes them (the same
// sessionizer, the same event-time timers, a flush at the end; src/sim/evaluate.ts runModel), each with the
// traits idr's mixture reads (src/model/observation.ts observe) plus the content id, and its truth.
import type { IdrEvent } from '../src/model/events.js'
import { dominantGenre, DeviceSlots, emptyObservation, MAX_DEVICES, observe } from '../src/model/observation.js'
import { Sessionizer, type Session, type SessionUpdate } from '../src/model/sessionizer.js'
import { EventClock } from '../src/runtime/event-time.js'
import { deviceTypeIndex } from '../src/model/population.js'

/** One closed session of a household, in the order it closed. */
export interface PeerSession {
  /** Local start time of day, hours in [0, 24). */
  readonly hour: number
  /** Monday = 0. */
  readonly weekday: number
  /** Household-local device slot (idr's DeviceSlots). */
  readonly device: number
  /** Index in GENRES of the dominant genre (0 when unknown, as observe() has it). */
  readonly genre: number
  /** ln(1 + watched minutes). */
  readonly logMinutes: number
  /** Index in DEVICE_TYPES of the device's type. */
  readonly deviceType: number
  /** Household-local index of the session's content id (its last content; 0 = none). */
  readonly content: number
  /** The real person(s), '+'-joined for co-viewing. */
  readonly truth: string
}

/** A household's closed sessions that carry truth (those without are not scored, as in idr eval). */
export interface PeerHousehold {
  readonly account: string
  readonly sessions: readonly PeerSession[]
}

interface Collecting {
  readonly sessionizer: Sessionizer
  readonly slots: DeviceSlots
  readonly contents: Map<string, number>
  readonly sessions: PeerSession[]
}

/** Sessions of every account in `events`, closed exactly as evaluateEvents closes them. */
export function collectSessions(events: Iterable<IdrEvent>): PeerHousehold[] {
  const byAccount = new Map<string, Collecting>()
  const o = emptyObservation()
  const take = (c: Collecting, updates: readonly SessionUpdate[]) => {
    for (const u of updates) {
      if (u.type !== 'close' || u.session.truth === undefined) continue
      c.sessions.push(toPeerSession(c, u.session, o))
    }
  }
  let clock: EventClock | undefined
  for (const e of events) {
    let c = byAccount.get(e.account)
    if (!c) {
      c = { sessionizer: new Sessionizer(e.account), slots: new DeviceSlots(), contents: new Map(), sessions: [] }
      byAccount.set(e.account, c)
    }
    take(c, c.sessionizer.push(e))
    const s = c.sessionizer
    clock ??= new EventClock({ gapMs: s.gapMs, allowedLatenessMs: s.allowedLatenessMs, maxClockSkewMs: s.maxClockSkewMs })
    clock.observe(0, e.account, e.kind, e.ts, e.ts, 0)
    clock.fire(0, (account) => { const x = byAccount.get(account)!; take(x, x.sessionizer.expire()) })
  }
  for (const c of byAccount.values()) take(c, c.sessionizer.flush())
  return [...byAccount.entries()].map(([account, c]) => ({ account, sessions: c.sessions }))
}

function toPeerSession(c: Collecting, s: Session, o: ReturnType<typeof emptyObservation>): PeerSession {
  observe(s, Math.min(c.slots.slot(s.device), MAX_DEVICES - 1), 0, o)
  let content = 0
  if (s.content !== undefined) {
    content = c.contents.get(s.content) ?? c.contents.size + 1
    c.contents.set(s.content, content)
  }
  return { hour: o.hour, weekday: o.weekday, device: o.device, genre: Math.max(0, dominantGenre(s)), logMinutes: o.logMinutes, deviceType: deviceTypeIndex(s.deviceType), content, truth: s.truth! }
}
