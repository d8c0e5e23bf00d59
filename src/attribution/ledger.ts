// Journeys kept live, per household (docs/attribution.md, "Journeys in the engine"): pending touches per key
// (the account, each person) and the journeys they complete — a conversion ends a key's journey, a lookback
// window without one ends it as a null journey. The household owns a ledger; completed journeys leave it with
// the household's snapshot (the runtime writes both in one transaction) and are reported from the store.
import { CHANNELS, type Channel, type IdrEvent } from '../model/events.js'
import { AttributionError } from './errors.js'

/** Lookback window: touches at most this long before a conversion are on its path, ms (30 days). */
export const DEFAULT_LOOKBACK_MS = 30 * 86_400_000
/** Most pending touches one key keeps; beyond it the oldest is dropped (counted), so a touch flood is bounded. */
export const DEFAULT_MAX_PATH_TOUCHES = 64

/** Whose journeys the engine keeps: the account's (all persons together) or one person's as the model assigns them. */
export type LedgerLevel = 'account' | 'person'

/** One touch on a journey. */
export interface JourneyTouch {
  readonly ts: number
  /** Index in CHANNELS. */
  readonly channel: number
  /** Device pseudonym the touch came from (device erasure removes journeys that hold it). */
  readonly device: string
  /** Most probable person at the touch (at account level too, so a person's erasure finds their touches). */
  readonly person: string
}

/** A completed journey: its touches in time order and how it ended. */
export interface JourneyRecord {
  readonly level: LedgerLevel
  /** The person at person level, '' at account level. */
  readonly person: string
  /** The conversion's time, or for a null journey its last touch's. */
  readonly endTs: number
  /** Conversions (a share of one when a conversion is split over persons), 0 for a null journey. */
  readonly conversions: number
  readonly value: number
  /** 1 for a null journey, else 0. */
  readonly nulls: number
  readonly touches: readonly JourneyTouch[]
  /** Device of the conversion, for a converting journey. */
  readonly convertDevice?: string
}

/** What a report reads of a journey: its channels and touch times, and how it ended. */
export interface JourneyPath {
  /** CHANNELS indices, in touch order. */
  readonly channels: ArrayLike<number>
  /** Touch times, epoch ms. */
  readonly times: ArrayLike<number>
  readonly conversions: number
  readonly value: number
  readonly nulls: number
  readonly endTs: number
}

/** A journey record as a path. */
export function pathOf(r: JourneyRecord): JourneyPath {
  return { channels: r.touches.map((t) => t.channel), times: r.touches.map((t) => t.ts), conversions: r.conversions, value: r.value, nulls: r.nulls, endTs: r.endTs }
}

/** A person's share of a conversion. */
export interface PersonShare {
  readonly person: string
  readonly p: number
}

export interface LedgerOptions {
  /** Lookback window, ms. Default DEFAULT_LOOKBACK_MS (30 days). */
  lookbackMs?: number
  /** Most pending touches per key. Default DEFAULT_MAX_PATH_TOUCHES. */
  maxPathTouches?: number
}

export interface LedgerStats {
  touches: number
  conversions: number
  /** Conversions with no touch in the window of anyone they were credited to, per level. */
  unattributed: Record<LedgerLevel, number>
  /** Pending touches dropped because a key reached maxPathTouches. */
  touchesDropped: number
}

/** Snapshot form: per level, [key, touches as [ts, channel, device, person]] lists. */
export interface LedgerState {
  readonly account: readonly (readonly [number, number, string, string])[]
  readonly persons: readonly (readonly [string, readonly (readonly [number, number, string, string])[]])[]
}

/**
 * Pending touches per key and the journeys they end in. Keys' lists are kept in event-time order (a touch that
 * arrives out of order is inserted in place); a conversion at t ends its key's journey with the touches in
 * [t − lookback, t], the older ones first ending as a null journey, later ones (arrived early) staying pending.
 */
export class Tracks {
  readonly pending = new Map<string, JourneyTouch[]>()

  constructor(
    private readonly level: LedgerLevel,
    private readonly lookbackMs: number,
    private readonly maxTouches: number,
    private readonly emit: (r: JourneyRecord) => void,
    private readonly dropped: () => void,
  ) {}

  touch(key: string, t: JourneyTouch): void {
    let list = this.pending.get(key)
    if (!list) this.pending.set(key, (list = []))
    let at = list.length
    while (at > 0 && list[at - 1]!.ts > t.ts) at--
    list.splice(at, 0, t)
    if (list.length > this.maxTouches) {
      list.shift()
      this.dropped()
    }
  }

  /** Whether the key has a touch in [ts − lookback, ts]. */
  hasPath(key: string, ts: number): boolean {
    const list = this.pending.get(key)
    if (!list) return false
    for (const t of list) if (t.ts >= ts - this.lookbackMs && t.ts <= ts) return true
    return false
  }

  /** Ends the key's journey at ts with `weight` conversions worth weight × value. */
  convert(key: string, ts: number, weight: number, value: number, device: string): void {
    const list = this.pending.get(key)
    if (!list) return
    let cut = 0
    while (cut < list.length && list[cut]!.ts < ts - this.lookbackMs) cut++
    if (cut > 0) this.emitNull(key, list.splice(0, cut))
    if (list.length === 0) {
      this.pending.delete(key)
      return
    }
    let end = 0
    while (end < list.length && list[end]!.ts <= ts) end++
    if (end === 0) return
    const touches = list.splice(0, end)
    this.emit({ level: this.level, person: this.person(key), endTs: ts, conversions: weight, value: weight * value, nulls: 0, touches, convertDevice: device })
    if (list.length === 0) this.pending.delete(key)
  }

  /** Keys whose newest touch is more than the lookback before `now` end as null journeys. */
  expire(now: number): void {
    for (const [key, list] of this.pending) {
      if (list.length > 0 && list[list.length - 1]!.ts < now - this.lookbackMs) {
        this.emitNull(key, list.splice(0))
        this.pending.delete(key)
      }
    }
  }

  /** Earliest time at which expire() would end something (Infinity when nothing is pending). */
  nextExpiry(): number {
    let at = Infinity
    for (const list of this.pending.values()) if (list.length > 0) at = Math.min(at, list[list.length - 1]!.ts + this.lookbackMs)
    return at
  }

  /** Every pending touch ends as a null journey (end of input). */
  flush(): void {
    for (const [key, list] of this.pending) if (list.length > 0) this.emitNull(key, list.splice(0))
    this.pending.clear()
  }

  /** Drops pending touches `drop` selects (erasure, retention); returns how many went. */
  discard(drop: (key: string, t: JourneyTouch) => boolean): number {
    let n = 0
    for (const [key, list] of this.pending) {
      const keep = list.filter((t) => !drop(key, t))
      n += list.length - keep.length
      if (keep.length === 0) this.pending.delete(key)
      else if (keep.length < list.length) this.pending.set(key, keep)
    }
    return n
  }

  private emitNull(key: string, touches: JourneyTouch[]): void {
    this.emit({ level: this.level, person: this.person(key), endTs: touches[touches.length - 1]!.ts, conversions: 0, value: 0, nulls: 1, touches })
  }

  private person(key: string): string {
    return this.level === 'account' ? '' : key
  }
}

/** Which journeys: by level, account, person, and end time in [fromMs, toMs) (each absent: any). */
export interface JourneySelection {
  readonly level?: LedgerLevel
  readonly account?: string
  readonly person?: string
  readonly fromMs?: number
  readonly toMs?: number
}

/** Whether the account's journey is in the selection (the SQLite store applies the same rules in SQL). */
export function selects(q: JourneySelection, r: JourneyRecord, account: string): boolean {
  return (q.level === undefined || r.level === q.level) && (q.account === undefined || account === q.account) && (q.person === undefined || r.person === q.person)
    && (q.fromMs === undefined || r.endTs >= q.fromMs) && (q.toMs === undefined || r.endTs < q.toMs)
}

/** Whether a journey holds anything of the person: their own journey, or (account level) a touch assigned to them. */
export function involvesPerson(r: JourneyRecord, person: string): boolean {
  return r.person === person || r.touches.some((t) => t.person === person)
}

/** Whether a journey holds anything of one of the devices: a touch on it, or its conversion. */
export function involvesDevice(r: JourneyRecord, devices: ReadonlySet<string>): boolean {
  return (r.convertDevice !== undefined && devices.has(r.convertDevice)) || r.touches.some((t) => devices.has(t.device))
}

/**
 * One household's live journeys at account and person level. Touches go to their most probable person; a
 * conversion is split over the persons by the given probabilities, renormalised over those with a touch in
 * the window (docs/attribution.md). Completed journeys wait in `completed` until take() hands them to storage.
 */
export class JourneyLedger {
  readonly stats: LedgerStats = { touches: 0, conversions: 0, unattributed: { account: 0, person: 0 }, touchesDropped: 0 }
  readonly lookbackMs: number
  readonly maxPathTouches: number
  private readonly account: Tracks
  private readonly persons: Tracks
  private completed: JourneyRecord[] = []
  private expiresAt = Infinity

  constructor(options: LedgerOptions = {}) {
    this.lookbackMs = options.lookbackMs ?? DEFAULT_LOOKBACK_MS
    if (!(Number.isSafeInteger(this.lookbackMs) && this.lookbackMs > 0)) throw new AttributionError('BAD_OPTION', `lookbackMs must be a positive integer (ms), got ${String(options.lookbackMs)}`)
    this.maxPathTouches = options.maxPathTouches ?? DEFAULT_MAX_PATH_TOUCHES
    if (!(Number.isSafeInteger(this.maxPathTouches) && this.maxPathTouches > 0)) throw new AttributionError('BAD_OPTION', `maxPathTouches must be a positive integer, got ${String(options.maxPathTouches)}`)
    const emit = (r: JourneyRecord): void => { this.completed.push(r) }
    const dropped = (): void => { this.stats.touchesDropped++ }
    this.account = new Tracks('account', this.lookbackMs, this.maxPathTouches, emit, dropped)
    this.persons = new Tracks('person', this.lookbackMs, this.maxPathTouches, emit, dropped)
  }

  /** A touch event, given to its most probable person. */
  touch(e: IdrEvent, person: string): void {
    this.advance(e.ts)
    this.stats.touches++
    const t: JourneyTouch = { ts: e.ts, channel: channelIndex(e.channel ?? 'other'), device: e.device, person }
    this.account.touch('', t)
    this.persons.touch(person, t)
    this.expiresAt = Math.min(this.expiresAt, e.ts + this.lookbackMs)
  }

  /** A conversion event, split over `shares` (person probabilities, most probable first). */
  convert(e: IdrEvent, shares: readonly PersonShare[]): void {
    this.advance(e.ts)
    this.stats.conversions++
    const value = e.value ?? 0
    if (!this.account.hasPath('', e.ts)) this.stats.unattributed.account++
    this.account.convert('', e.ts, 1, value, e.device)
    const withPath = shares.filter((q) => q.p > 0 && this.persons.hasPath(q.person, e.ts))
    if (withPath.length === 0) this.stats.unattributed.person++
    const total = withPath.reduce((a, q) => a + q.p, 0)
    for (const q of withPath) this.persons.convert(q.person, e.ts, q.p / total, value, e.device)
  }

  /** Event time moved to `now`: keys silent for longer than the lookback end as null journeys. */
  advance(now: number): void {
    if (now <= this.expiresAt) return
    this.account.expire(now)
    this.persons.expire(now)
    this.expiresAt = Math.min(this.account.nextExpiry(), this.persons.nextExpiry())
  }

  /** Every pending touch ends as a null journey (end of input, offline). */
  flush(): void {
    this.account.flush()
    this.persons.flush()
    this.expiresAt = Infinity
  }

  /** Completed journeys not yet handed to storage, oldest first. */
  get unstored(): readonly JourneyRecord[] {
    return this.completed
  }

  /** Hands over the completed journeys (they leave the ledger). */
  take(): JourneyRecord[] {
    const out = this.completed
    this.completed = []
    return out
  }

  /** Puts back journeys take() handed over whose write failed, ahead of newer ones. */
  restore(records: readonly JourneyRecord[]): void {
    this.completed = [...records, ...this.completed]
  }

  /** The pending touches (every touch is on the account's track, and on its person's), oldest first. */
  pendingTouches(): readonly JourneyTouch[] {
    return this.account.pending.get('') ?? []
  }

  /** Erasure of a person: their pending touches (both levels) and unstored journeys holding them go. */
  erasePerson(person: string): number {
    const n = this.account.discard((_, t) => t.person === person)
    this.persons.discard((key) => key === person)
    this.resetExpiry()
    return n + this.dropCompleted((r) => involvesPerson(r, person))
  }

  /** Erasure of devices: pending touches on them and unstored journeys holding them go. */
  eraseDevices(devices: ReadonlySet<string>): number {
    const n = this.account.discard((_, t) => devices.has(t.device))
    this.persons.discard((_, t) => devices.has(t.device))
    this.resetExpiry()
    return n + this.dropCompleted((r) => involvesDevice(r, devices))
  }

  /** Retention: pending touches before the cutoff and unstored journeys that ended before it go. */
  purgeBefore(cutoffMs: number): number {
    const n = this.account.discard((_, t) => t.ts < cutoffMs)
    this.persons.discard((_, t) => t.ts < cutoffMs)
    this.resetExpiry()
    return n + this.dropCompleted((r) => r.endTs < cutoffMs)
  }

  /** Nothing pending and nothing unstored. */
  get empty(): boolean {
    return this.account.pending.size === 0 && this.persons.pending.size === 0 && this.completed.length === 0
  }

  toState(): LedgerState {
    const row = (t: JourneyTouch) => [t.ts, t.channel, t.device, t.person] as const
    return {
      account: (this.account.pending.get('') ?? []).map(row),
      persons: [...this.persons.pending].map(([key, list]) => [key, list.map(row)] as const),
    }
  }

  static fromState(s: LedgerState | undefined, options: LedgerOptions = {}): JourneyLedger {
    const l = new JourneyLedger(options)
    if (!s) return l
    const touch = ([ts, channel, device, person]: readonly [number, number, string, string]): JourneyTouch => ({ ts, channel, device, person })
    if (s.account.length > 0) l.account.pending.set('', s.account.map(touch))
    for (const [key, list] of s.persons) l.persons.pending.set(key, list.map(touch))
    l.resetExpiry()
    return l
  }

  private resetExpiry(): void {
    this.expiresAt = Math.min(this.account.nextExpiry(), this.persons.nextExpiry())
  }

  private dropCompleted(drop: (r: JourneyRecord) => boolean): number {
    const keep = this.completed.filter((r) => !drop(r))
    const n = this.completed.length - keep.length
    this.completed = keep
    return n
  }
}

/** Index of a channel name in CHANNELS ('other' for any name outside it). */
export function channelIndex(name: string): number {
  const i = (CHANNELS as readonly string[]).indexOf(name)
  return i < 0 ? CHANNELS.length - 1 : i
}

/** Channel name of a CHANNELS index. */
export function channelName(i: number): Channel {
  const c = CHANNELS[i]
  if (c === undefined) throw new AttributionError('BAD_OPTION', `channel index ${i} is not in CHANNELS`)
  return c
}
