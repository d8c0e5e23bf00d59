// Turns one account's playback events into viewing sessions, in event time. A session is one device's
// activity with no gap longer than gapMs. See docs/model.md ("Sessions") for the rules and their reasons.
import { checkOptionNames, OptionError } from '../options/check.js'
import { GENRES, PLAYBACK_KINDS, type DeviceType, type Genre, type IdrEvent } from './events.js'

export const DEFAULT_SESSION_GAP_MS = 30 * 60_000 // 30 min
export const DEFAULT_ALLOWED_LATENESS_MS = 5 * 60_000 // 5 min
export const DEFAULT_DEDUP_WINDOW_MS = 10 * 60_000 // 10 min: ≥ lateness, so a re-sent event is seen as a duplicate
export const DEFAULT_MAX_DEDUP_IDS = 2048 // per account; oldest evicted first
export const DEFAULT_MAX_CLOCK_SKEW_MS = 10 * 60_000 // 10 min ahead of arrival time

export interface SessionizerOptions {
  /** Silence that ends a session, ms. Default 30 min. */
  gapMs?: number
  /** How far behind the newest event time an event may arrive and still be applied, ms. Default 5 min. */
  allowedLatenessMs?: number
  /** How long (event time) an event id is remembered for de-duplication, ms. Default 10 min. */
  dedupWindowMs?: number
  /** Cap on remembered ids per account. Default 2048. */
  maxDedupIds?: number
  /** With an arrival time, events stamped further ahead of it than this are rejected, ms. Default 10 min. */
  maxClockSkewMs?: number
}

const OPTION_NAMES = ['gapMs', 'allowedLatenessMs', 'dedupWindowMs', 'maxDedupIds', 'maxClockSkewMs']

const GENRE_INDEX = new Map<string, number>(GENRES.map((g, i) => [g, i]))

/** Adds a content's genres to a session's weights: the primary (first) genre counts 1, the others 0.5. */
export function addGenreWeights(weights: Float64Array, genres: readonly Genre[]): void {
  genres.forEach((g, i) => {
    const j = GENRE_INDEX.get(g)!
    weights[j] = weights[j]! + (i === 0 ? 1 : 0.5)
  })
}

/** A session as the model sees it (a live view: do not keep it past the callback that received it). */
export interface Session {
  /** `<account>#<n>`, n counting sessions of the account in the order they opened. */
  readonly id: string
  readonly device: string
  readonly deviceType: DeviceType
  readonly screenIn: number | undefined
  readonly startTs: number
  readonly lastTs: number
  /** Event time of an explicit stop, if one came. */
  readonly stopTs: number | undefined
  readonly events: number
  readonly pauses: number
  /** Σ durationSec of its events, seconds watched. */
  readonly watchedSec: number
  /** Genre weights: the primary genre of each content counts 1, secondary genres 0.5 (see docs/features.md). */
  readonly genreWeights: Float64Array
  readonly content: string | undefined
  readonly contentSwitches: number
  /** Event id that opened it. */
  readonly firstEventId: string
  /** Truth labels seen on its events (evaluation only; the model never reads them). */
  readonly truth: string | undefined
}

export type CloseReason = 'gap' | 'stop' | 'flush'
export type RejectReason = 'duplicate' | 'late' | 'clock-ahead' | 'not-playback'

/** What one input did, in order. */
export type SessionUpdate =
  | { readonly type: 'open', readonly session: Session, readonly eventId: string }
  | { readonly type: 'update', readonly session: Session, readonly eventId: string, readonly contentChanged: boolean }
  | { readonly type: 'close', readonly session: Session, readonly reason: CloseReason }
  | { readonly type: 'rejected', readonly reason: RejectReason, readonly eventId: string, readonly ts: number }

export interface SessionizerStats {
  events: number
  applied: number
  duplicates: number
  late: number
  clockAhead: number
  notPlayback: number
  opened: number
  closed: number
}

interface MutableSession {
  id: string
  device: string
  deviceType: DeviceType
  screenIn: number | undefined
  startTs: number
  lastTs: number
  stopTs: number | undefined
  events: number
  pauses: number
  watchedSec: number
  genreWeights: Float64Array
  content: string | undefined
  contentSwitches: number
  firstEventId: string
  truth: string | undefined
}

/** Serializable sessionizer state (for snapshots): plain arrays and numbers only. */
export interface SessionizerState {
  readonly seq: number
  readonly maxTs: number
  readonly watermark: number
  readonly open: readonly (Omit<MutableSession, 'genreWeights'> & { readonly genreWeights: readonly number[] })[]
  readonly recent: readonly (readonly [string, number])[]
  readonly stats: SessionizerStats
}

export class Sessionizer {
  readonly gapMs: number
  readonly allowedLatenessMs: number
  readonly dedupWindowMs: number
  readonly maxDedupIds: number
  readonly maxClockSkewMs: number
  readonly stats: SessionizerStats = { events: 0, applied: 0, duplicates: 0, late: 0, clockAhead: 0, notPlayback: 0, opened: 0, closed: 0 }
  /** Open sessions, in the order they opened. */
  private open: MutableSession[] = []
  /** Recently seen event ids → their event time; Map keeps insertion order, so the oldest go first. */
  private recent = new Map<string, number>()
  private seq = 0
  private maxTs = -Infinity
  private watermarkTs = -Infinity

  constructor(readonly account: string, options: SessionizerOptions = {}) {
    checkOptionNames('Sessionizer', options, OPTION_NAMES)
    this.gapMs = positive('gapMs', options.gapMs ?? DEFAULT_SESSION_GAP_MS)
    this.allowedLatenessMs = nonNegative('allowedLatenessMs', options.allowedLatenessMs ?? DEFAULT_ALLOWED_LATENESS_MS)
    this.dedupWindowMs = nonNegative('dedupWindowMs', options.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS)
    this.maxDedupIds = positive('maxDedupIds', options.maxDedupIds ?? DEFAULT_MAX_DEDUP_IDS)
    this.maxClockSkewMs = nonNegative('maxClockSkewMs', options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS)
  }

  /** Event time below which nothing more is accepted: newest event time − allowed lateness. */
  get watermark(): number {
    return this.watermarkTs
  }

  /** Sessions currently open (live views). */
  get openSessions(): readonly Session[] {
    return this.open
  }

  /** Forgets the open sessions `drop` selects without closing them (erasure: they produce no output); returns them. */
  discard(drop: (s: Session) => boolean): Session[] {
    const gone = this.open.filter(drop)
    if (gone.length > 0) this.open = this.open.filter((s) => !drop(s))
    return gone
  }

  /**
   * Applies one validated event of this account. arrivalMs (wall clock at ingress), when given, bounds how far
   * ahead of arrival an event may be stamped. Returns what happened, in order: sessions the advanced
   * watermark closed come first, then the event's own open/update (or its rejection).
   */
  push(e: IdrEvent, arrivalMs?: number): SessionUpdate[] {
    this.stats.events++
    if (!PLAYBACK_KINDS.includes(e.kind)) return [this.reject('not-playback', e)]
    if (this.recent.has(e.id)) return [this.reject('duplicate', e)]
    if (arrivalMs !== undefined && e.ts > arrivalMs + this.maxClockSkewMs) return [this.reject('clock-ahead', e)]
    if (e.ts < this.watermarkTs) return [this.reject('late', e)]
    this.remember(e)
    const out: SessionUpdate[] = []
    if (e.ts > this.maxTs) {
      this.maxTs = e.ts
      this.advanceTo(e.ts - this.allowedLatenessMs, out)
    }
    this.apply(e, out)
    this.stats.applied++
    return out
  }

  /**
   * Admits a marketing event (touch, convert) past the checks playback gets — duplicate id, stamped ahead of
   * arrival, behind the watermark — and remembers its id. It moves no clock: sessions are not closed by it.
   */
  admit(e: IdrEvent, arrivalMs?: number): SessionUpdate | undefined {
    this.stats.events++
    if (this.recent.has(e.id)) return this.reject('duplicate', e)
    if (arrivalMs !== undefined && e.ts > arrivalMs + this.maxClockSkewMs) return this.reject('clock-ahead', e)
    if (e.ts < this.watermarkTs) return this.reject('late', e)
    this.remember(e)
    this.stats.applied++
    return undefined
  }

  /** Newest event time seen (−Infinity before the first event). */
  get newestTs(): number {
    return this.maxTs
  }

  /** Moves the watermark forward without an event (idle flush driven by the runtime's clock). */
  advance(watermarkMs: number): SessionUpdate[] {
    const out: SessionUpdate[] = []
    this.advanceTo(watermarkMs, out)
    return out
  }

  /** Closes every open session (end of input). */
  /**
   * Closes every open session as its gap (or stop) closes it, without moving the watermark: an event-time timer
   * found the account's partition a session gap past its last event (src/runtime/event-time.ts). Its next
   * events are judged late by its own event time as before; one that would have joined a closed session
   * opens a new one.
   */
  expire(): SessionUpdate[] {
    const out: SessionUpdate[] = []
    for (const s of this.open) out.push(this.closed(s, s.stopTs !== undefined ? 'stop' : 'gap'))
    this.open = []
    return out
  }

  flush(): SessionUpdate[] {
    const out: SessionUpdate[] = []
    for (const s of this.open) out.push(this.closed(s, 'flush'))
    this.open = []
    return out
  }

  toState(): SessionizerState {
    return {
      seq: this.seq, maxTs: this.maxTs, watermark: this.watermarkTs,
      open: this.open.map((s) => ({ ...s, genreWeights: [...s.genreWeights] })),
      recent: [...this.recent.entries()], stats: { ...this.stats },
    }
  }

  static fromState(account: string, state: SessionizerState, options: SessionizerOptions = {}): Sessionizer {
    const z = new Sessionizer(account, options)
    z.seq = state.seq
    z.maxTs = state.maxTs
    z.watermarkTs = state.watermark
    // the same key order as a session opened live: a restored household must snapshot to the same bytes
    z.open = state.open.map((s) => ({
      id: s.id, device: s.device, deviceType: s.deviceType, screenIn: s.screenIn, startTs: s.startTs, lastTs: s.lastTs, stopTs: s.stopTs,
      events: s.events, pauses: s.pauses, watchedSec: s.watchedSec, genreWeights: Float64Array.from(s.genreWeights), content: s.content,
      contentSwitches: s.contentSwitches, firstEventId: s.firstEventId, truth: s.truth,
    }))
    z.recent = new Map(state.recent)
    Object.assign(z.stats, state.stats)
    return z
  }

  private reject(reason: RejectReason, e: IdrEvent): SessionUpdate {
    if (reason === 'duplicate') this.stats.duplicates++
    else if (reason === 'late') this.stats.late++
    else if (reason === 'clock-ahead') this.stats.clockAhead++
    else this.stats.notPlayback++
    return { type: 'rejected', reason, eventId: e.id, ts: e.ts }
  }

  private remember(e: IdrEvent): void {
    this.recent.set(e.id, e.ts)
    const horizon = Math.max(this.maxTs, e.ts) - this.dedupWindowMs
    for (const [id, ts] of this.recent) {
      if (this.recent.size <= this.maxDedupIds && ts >= horizon) break
      this.recent.delete(id)
    }
  }

  /** Closes sessions that no acceptable event can extend any more. */
  private advanceTo(watermark: number, out: SessionUpdate[]): void {
    if (!(watermark > this.watermarkTs)) return
    this.watermarkTs = watermark
    const keep: MutableSession[] = []
    for (const s of this.open) {
      if (s.stopTs !== undefined && watermark > s.stopTs) out.push(this.closed(s, 'stop'))
      else if (watermark > s.lastTs + this.gapMs) out.push(this.closed(s, 'gap'))
      else keep.push(s)
    }
    this.open = keep
  }

  private closed(s: MutableSession, reason: CloseReason): SessionUpdate {
    this.stats.closed++
    return { type: 'close', session: s, reason }
  }

  /** The open session of e's device that e belongs to: within gapMs of it and not past its stop. */
  private sessionFor(e: IdrEvent): MutableSession | undefined {
    let best: MutableSession | undefined
    let bestDist = Infinity
    for (const s of this.open) {
      if (s.device !== e.device) continue
      if (s.stopTs !== undefined && e.ts > s.stopTs) continue
      const dist = e.ts < s.startTs ? s.startTs - e.ts : e.ts > s.lastTs ? e.ts - s.lastTs : 0
      if (dist <= this.gapMs && dist < bestDist) {
        best = s
        bestDist = dist
      }
    }
    return best
  }

  private apply(e: IdrEvent, out: SessionUpdate[]): void {
    let s = this.sessionFor(e)
    let opened = false
    if (!s) {
      s = {
        id: `${this.account}#${++this.seq}`, device: e.device, deviceType: e.deviceType ?? 'other', screenIn: e.screenIn,
        startTs: e.ts, lastTs: e.ts, stopTs: undefined, events: 0, pauses: 0, watchedSec: 0,
        genreWeights: new Float64Array(GENRES.length), content: undefined, contentSwitches: 0,
        firstEventId: e.id, truth: e.truth,
      }
      this.open.push(s)
      this.stats.opened++
      opened = true
    }
    s.events++
    s.startTs = Math.min(s.startTs, e.ts)
    s.lastTs = Math.max(s.lastTs, e.ts)
    s.watchedSec += e.durationSec ?? 0
    if (e.deviceType !== undefined && s.deviceType === 'other') s.deviceType = e.deviceType
    if (e.screenIn !== undefined && s.screenIn === undefined) s.screenIn = e.screenIn
    if (e.kind === 'pause') s.pauses++
    if (e.kind === 'stop') s.stopTs = s.stopTs === undefined ? e.ts : Math.max(s.stopTs, e.ts)
    if (e.truth !== undefined && s.truth === undefined) s.truth = e.truth
    let contentChanged = false
    if (e.content !== undefined && e.content !== s.content) {
      if (s.content !== undefined) s.contentSwitches++
      s.content = e.content
      contentChanged = true
      if (e.genres) addGenreWeights(s.genreWeights, e.genres)
    }
    out.push(opened ? { type: 'open', session: s, eventId: e.id } : { type: 'update', session: s, eventId: e.id, contentChanged })
  }
}

function positive(name: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0)) throw new OptionError(`${name} must be a positive number, got ${v}`)
  return v
}

function nonNegative(name: string, v: number): number {
  if (!(Number.isFinite(v) && v >= 0)) throw new OptionError(`${name} must be ≥ 0, got ${v}`)
  return v
}
