// The load generator: households of 1–4 persons with distinct habits (hour, device, genres, session length),
// each a small state machine that yields realistic playback sessions (play, heartbeats every 60 s of event
// time, stop), time-compressed: event time starts about a year in the past and advances much faster than the
// wall clock, never past now. Cheaper than src/sim (no marketing, no oracle, no ground truth) and endless,
// which the publisher needs at hundreds of thousands of events/s (docs/benchmarks.md, "Load over NATS").
import { GENRES, type DeviceType, type Genre } from '../model/events.js'
import { partitionOf } from '../contracts/partition.js'
import { mulberry32 } from '../kernels/random.js'

/** Event-time distance between heartbeats, ms (docs/events.md: heartbeats every ~60 s). */
export const HEARTBEAT_MS = 60_000
/** Where each household's event time starts, before now (ms): about 400 days. */
export const HISTORY_MS = 400 * 86_400_000
/** A household whose next session would start later than now minus this (ms) starts a new account. */
export const ROLLOVER_MARGIN_MS = 10 * 60_000
/** The least silence between two sessions of a household, ms (the sessionizer's gap is 30 min). */
const MIN_SESSION_GAP_MS = 35 * 60_000
/**
 * Closed-session counts at which a household refits (docs/model.md, "How many people": at 3, then at
 * max(last + 5, ⌈1.5 × last⌉)). The session opened right after one of these counts waits for that refit.
 */
export const REFIT_POINTS: ReadonlySet<number> = new Set([3, 8, 13, 20, 30, 45, 68, 102, 153, 230])
const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

/** An event as published (docs/events.md, schema 1). */
export interface LoadEvent {
  v: 1
  id: string
  ts: number
  account: string
  device: string
  kind: 'play' | 'heartbeat' | 'stop'
  deviceType: DeviceType
  screenIn: number
  content: string
  genres: Genre[]
  durationSec: number
}

interface Person {
  /** Preferred start hour (UTC, 0..23). */
  hour: number
  /** Index into the household's devices. */
  device: number
  genres: Genre[]
  /** Mean heartbeats per session (watched minutes ≈ this). */
  meanBeats: number
  weight: number
}

interface Device {
  id: string
  type: DeviceType
  screenIn: number
}

/** One account's state machine. */
interface Household {
  base: string
  /** Generation: bumped when event time would pass now, giving a fresh account `<base>g<gen>`. */
  gen: number
  account: string
  partition: number
  persons: Person[]
  devices: Device[]
  /** Event time of the last event, ms. */
  t: number
  /** The open session: its person, or -1. */
  person: number
  beatsLeft: number
  content: string
  /** Closed sessions so far (this generation). */
  sessions: number
}

export interface GeneratorOptions {
  /** Households this generator owns. */
  households: number
  /** Index of the first household (publishers split households into disjoint ranges). */
  first?: number
  /** Seed of the habits. */
  seed: number
  /** Partitions of the deployment (fnv1a32(account) mod partitionsOf). */
  partitionsOf: number
  /** Unique per run and publisher; prefixes every event id. */
  idPrefix: string
  /**
   * 'steady': session lengths vary per person, so households drift apart; 'storm': all households play
   * session r at the same time (round by round, event by event), with the same number of heartbeats, so
   * their refits (at 3, 5, 8, 12, 18… closed sessions) fall together (docs/benchmarks.md, "Refit storm").
   */
  scenario: 'steady' | 'storm'
  /**
   * Households watching at once (steady only; default all). The generator cycles over these; a household
   * that ends a session hands its place to the next idle one, so every household gets its turn but only
   * `active` are touched at a time: the locality that lets the engine passivate the idle ones.
   */
  active?: number
  /** Wall clock, epoch ms (injectable for tests). */
  now?: () => number
}

const PERSONAL: readonly [DeviceType, number][] = [['mobile', 6], ['tablet', 10], ['desktop', 24]]

/** Endless events of `households` households, one at a time, households in round-robin order. */
export class LoadGenerator {
  private readonly hh: Household[]
  private readonly rand: () => number
  private readonly now: () => number
  private readonly storm: boolean
  private readonly o: GeneratorOptions
  private next = 0
  private seq = 0
  /** Indices of the households in a session or about to start one (steady: a window over all). */
  private readonly act: number[]
  private readonly isActive: Uint8Array
  /** Where the search for the next idle household continues. */
  private cursor: number
  /** Storm: heartbeats of every session in the current round. */
  private roundBeats = 5
  /** Accounts started (first generations plus rollovers). */
  accounts: number
  /** Partition of the last event's account. */
  partition = 0
  /** Closed sessions of the last event's household (for a play: before the session it opens). */
  closed = 0

  constructor(o: GeneratorOptions) {
    this.o = o
    this.rand = mulberry32(o.seed)
    this.now = o.now ?? Date.now
    this.storm = o.scenario === 'storm'
    const first = o.first ?? 0
    const start = this.now() - HISTORY_MS
    this.hh = Array.from({ length: o.households }, (_, i) => this.household(`L${first + i}`, start))
    this.accounts = o.households
    const active = this.storm ? o.households : Math.max(1, Math.min(o.households, o.active ?? o.households))
    this.act = Array.from({ length: active }, (_, i) => i)
    this.isActive = new Uint8Array(o.households)
    this.isActive.fill(1, 0, active)
    this.cursor = active % o.households
  }

  private household(base: string, start: number): Household {
    const r = this.rand
    const size = 1 + Math.floor(r() * r() * 4) // mostly 1–2 persons, up to 4
    const devices: Device[] = [{ id: `${base}-tv`, type: 'tv', screenIn: 55 }]
    const persons: Person[] = []
    for (let k = 0; k < size; k++) {
      let device = 0
      if (r() < 0.6) {
        const [type, screenIn] = PERSONAL[Math.floor(r() * PERSONAL.length)]!
        devices.push({ id: `${base}-d${k}`, type, screenIn })
        device = devices.length - 1
      }
      const g1 = GENRES[Math.floor(r() * (GENRES.length - 1))]!
      const g2 = GENRES[Math.floor(r() * (GENRES.length - 1))]!
      persons.push({ hour: Math.floor(r() * 24), device, genres: g1 === g2 ? [g1] : [g1, g2], meanBeats: 10 + Math.floor(r() * 50), weight: 0.5 + r() })
    }
    const h: Household = { base, gen: 0, account: base, partition: 0, persons, devices, t: start + Math.floor(r() * DAY_MS), person: -1, beatsLeft: 0, content: '', sessions: 0 }
    h.partition = partitionOf(h.account, this.o.partitionsOf)
    return h
  }

  /** Closed sessions of the first household (in a storm: the rounds completed). */
  get round(): number {
    return this.hh[0]?.sessions ?? 0
  }

  /** The next event, households in round-robin order; `partition` is then its account's partition. */
  nextEvent(): LoadEvent {
    const slot = this.next
    this.next = slot + 1 === this.act.length ? 0 : slot + 1
    const i = this.act[slot]!
    const h = this.hh[i]!
    if (this.storm && i === 0 && h.person === -1) {
      // every household closed the last round's session: this round's length, the same for all
      this.roundBeats = 3 + Math.floor(this.rand() * 8)
    }
    const e = this.step(h)
    this.partition = h.partition
    this.closed = h.sessions
    if (e.kind === 'stop' && this.act.length < this.hh.length) this.handOver(slot, i)
    return e
  }

  /** The household in `slot` ended a session: the next idle household takes its place. */
  private handOver(slot: number, i: number): void {
    while (this.isActive[this.cursor] === 1) this.cursor = this.cursor + 1 === this.hh.length ? 0 : this.cursor + 1
    const j = this.cursor
    this.isActive[i] = 0
    this.isActive[j] = 1
    this.act[slot] = j
  }

  private step(h: Household): LoadEvent {
    const r = this.rand
    if (h.person === -1) return this.open(h)
    const p = h.persons[h.person]!
    const dev = h.devices[p.device]!
    if (h.beatsLeft > 0) {
      h.beatsLeft--
      h.t += HEARTBEAT_MS
      return this.event(h, dev, p, 'heartbeat', HEARTBEAT_MS / 1000)
    }
    const tail = 5 + Math.floor(r() * 55) // seconds watched after the last heartbeat
    h.t += tail * 1000
    h.person = -1
    h.sessions++
    return this.event(h, dev, p, 'stop', tail)
  }

  private open(h: Household): LoadEvent {
    const r = this.rand
    // the next viewer, by habit weight; their next preferred hour (±1 h) after a session gap
    let pick = r() * h.persons.reduce((s, q) => s + q.weight, 0)
    let k = 0
    while (k < h.persons.length - 1 && (pick -= h.persons[k]!.weight) > 0) k++
    const p = h.persons[k]!
    const earliest = h.t + MIN_SESSION_GAP_MS
    const dayStart = earliest - (earliest % DAY_MS)
    let start = dayStart + p.hour * HOUR_MS + Math.floor((r() - 0.5) * 2 * HOUR_MS)
    while (start < earliest) start += DAY_MS
    if (start > this.now() - ROLLOVER_MARGIN_MS) {
      // event time caught up with the wall clock: a fresh account continues (the engine sees a new household)
      h.gen++
      h.account = `${h.base}g${h.gen}`
      h.partition = partitionOf(h.account, this.o.partitionsOf)
      h.sessions = 0
      start = this.now() - HISTORY_MS
      this.accounts++
    }
    h.t = start
    h.person = k
    // a first session of random length (0..2× the mean) spreads the households' later plays over time
    h.beatsLeft = this.storm ? this.roundBeats : h.sessions === 0 && h.gen === 0 ? Math.floor(r() * 2 * p.meanBeats) : Math.max(1, Math.round(p.meanBeats * (0.5 + r())))
    h.content = `c${p.genres[0]}${Math.floor(r() * 40)}`
    return this.event(h, h.devices[p.device]!, p, 'play', 0)
  }

  private event(h: Household, dev: Device, p: Person, kind: LoadEvent['kind'], durationSec: number): LoadEvent {
    return {
      v: 1, id: `${this.o.idPrefix}${(this.seq++).toString(36)}`, ts: h.t, account: h.account, device: dev.id, kind,
      deviceType: dev.type, screenIn: dev.screenIn, content: h.content, genres: p.genres, durationSec,
    }
  }
}
