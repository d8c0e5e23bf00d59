// Turns households into one event stream: each session expands lazily into play, heartbeats, pauses and
// stop; a heap merges all households' sessions and marketing events by event time; an optional last stage
// injects duplicates and late deliveries and yields in arrival order. Nothing is materialised beyond the
// events in flight (active sessions and pending late deliveries).
import type { IdrEvent } from '../model/events.js'
import type { ResolvedSimOptions } from './options.js'
import { rng } from './random.js'
import { deriveSeed } from './sampling.js'
import { heartbeatCount } from './person-model.js'
import type { SimHousehold, SimMarketingEvent, SimSession } from './types.js'

/** Random stream label of the disorder stage. */
export const DISORDER_STREAM = 4

/** One delivered event and how it was delivered. */
export interface SimDelivery {
  readonly event: IdrEvent
  /** When it reaches the consumer, epoch ms (≥ event.ts). */
  readonly arrivalMs: number
  /** Delivered after its event time (lateRate). */
  readonly late: boolean
  /** A second delivery of an event already sent (duplicateRate). */
  readonly duplicate: boolean
}

/** Distinct events the households expand into (play + heartbeats + pauses + stop per session, plus marketing). */
export function countEvents(households: readonly SimHousehold[]): number {
  let n = 0
  for (const h of households) {
    n += h.marketing.length
    for (const s of h.sessions) n += 1 + heartbeatCount(s.durationSec, h.heartbeatSec) + s.pauses.length + (s.stopped ? 1 : 0)
  }
  return n
}

/** Decimal strings of 0, 1, 2, … shared by all streams: number-to-string conversion was a fifth of the cost per event. */
const DECIMALS: string[] = []
const DECIMALS_MAX = 1 << 20

function decimal(n: number): string {
  if (n >= DECIMALS_MAX) return String(n)
  while (DECIMALS.length <= n) DECIMALS.push(String(DECIMALS.length))
  return DECIMALS[n]!
}

/** Per-household state while streaming: the next session or marketing event, and the event counter for ids. */
class Feed {
  ts = Infinity
  private session = 0
  private marketing = 0
  private count = 0
  private readonly idPrefix: string

  constructor(readonly h: SimHousehold) {
    this.idPrefix = `${h.account}.`
    this.rekey()
  }

  /** `<account>.<n>`, n counting the account's events in event-time order from 1. */
  nextId(): string {
    return this.idPrefix + decimal(++this.count)
  }

  /** The session starting now, if the next item is a session. */
  takeSession(): SimSession | undefined {
    const s = this.h.sessions[this.session]
    const m = this.h.marketing[this.marketing]
    if (s === undefined || (m !== undefined && m.ts < s.startMs)) return undefined
    this.session++
    this.rekey()
    return s
  }

  takeMarketing(): IdrEvent {
    const m = this.h.marketing[this.marketing++]!
    this.rekey()
    return marketingEvent(this, m)
  }

  private rekey(): void {
    const s = this.h.sessions[this.session]
    const m = this.h.marketing[this.marketing]
    this.ts = Math.min(s?.startMs ?? Infinity, m?.ts ?? Infinity)
  }
}

function marketingEvent(f: Feed, m: SimMarketingEvent): IdrEvent {
  const { account } = f.h
  return m.kind === 'touch'
    ? { v: 1, id: f.nextId(), ts: m.ts, account, device: m.device, kind: 'touch', channel: m.channel, campaign: m.campaign, truth: m.person }
    : { v: 1, id: f.nextId(), ts: m.ts, account, device: m.device, kind: 'convert', value: m.value, truth: m.person }
}

const PLAY = 0
const HEARTBEAT = 1
const PAUSE = 2
const STOP = 3
const DONE = 4
const KIND_NAMES = ['play', 'heartbeat', 'pause', 'stop'] as const

/** A session being expanded: `ts` and `kind` describe its next event. */
class Cursor {
  ts: number
  kind = PLAY
  /** Watched position of the next event and of the previous one, s. */
  private at = 0
  private prevAt = 0
  private nextBeat: number
  private pause = 0
  private gapsMs = 0
  private readonly account: string

  constructor(readonly s: SimSession, readonly feed: Feed, private readonly beatSec: number) {
    this.account = feed.h.account
    this.ts = s.startMs
    this.nextBeat = beatSec
  }

  /** Builds the next event and moves on (kind becomes DONE after the last). */
  emit(): IdrEvent {
    const s = this.s
    const account = this.account
    let e: IdrEvent
    if (this.kind === PLAY) {
      e = { v: 1, id: this.feed.nextId(), ts: this.ts, account, device: s.device, kind: 'play', deviceType: s.deviceType, screenIn: s.screenIn, content: s.content, genres: s.genres, durationSec: 0, truth: s.truth }
    } else {
      e = { v: 1, id: this.feed.nextId(), ts: this.ts, account, device: s.device, kind: KIND_NAMES[this.kind]!, content: s.content, durationSec: this.at - this.prevAt, truth: s.truth }
      if (this.kind === PAUSE) this.gapsMs += s.pauses[this.pause++]!.gapMs
      else if (this.kind === HEARTBEAT) this.nextBeat += this.beatSec
    }
    this.advance()
    return e
  }

  private advance(): void {
    if (this.kind === STOP) {
      this.kind = DONE
      return
    }
    const s = this.s
    this.prevAt = this.at
    const p = s.pauses[this.pause]
    if (p !== undefined && p.atSec < this.nextBeat) {
      this.kind = PAUSE
      this.at = p.atSec
    } else if (this.nextBeat < s.durationSec) {
      this.kind = HEARTBEAT
      this.at = this.nextBeat
    } else if (s.stopped) {
      this.kind = STOP
      this.at = s.durationSec
    } else {
      this.kind = DONE
      return
    }
    this.ts = s.startMs + this.at * 1000 + this.gapsMs
  }
}

/**
 * Binary min-heap of integer slots keyed by (time, slot): the keys live in one Float64Array so that a
 * comparison touches contiguous memory, not two scattered objects (a heap of objects made the whole
 * stream ~1.5× slower, A/B in one process).
 */
class SlotHeap {
  private keys = new Float64Array(1024)
  private heap = new Int32Array(1024)
  size = 0

  top(): number {
    return this.heap[0]!
  }

  topKey(): number {
    return this.keys[this.heap[0]!]!
  }

  private before(a: number, b: number): boolean {
    const ka = this.keys[a]!
    const kb = this.keys[b]!
    return ka < kb || (ka === kb && a < b)
  }

  push(slot: number, key: number): void {
    if (slot >= this.keys.length) {
      const keys = new Float64Array(2 * slot)
      keys.set(this.keys)
      this.keys = keys
    }
    if (this.size === this.heap.length) {
      const heap = new Int32Array(2 * this.size)
      heap.set(this.heap)
      this.heap = heap
    }
    this.keys[slot] = key
    const h = this.heap
    let i = this.size++
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(slot, h[parent]!)) break
      h[i] = h[parent]!
      i = parent
    }
    h[i] = slot
  }

  /** Gives the top slot a new, later key, or removes it (key Infinity). */
  updateTop(key: number): void {
    const h = this.heap
    let x = h[0]!
    if (key === Infinity) {
      x = h[--this.size]!
      if (this.size === 0) return
    } else {
      this.keys[x] = key
    }
    const n = this.size
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const c = l + 1 < n && this.before(h[l + 1]!, h[l]!) ? l + 1 : l
      if (!this.before(h[c]!, x)) break
      h[i] = h[c]!
      i = c
    }
    h[i] = x
  }
}

/**
 * All events of all households in event-time order. Two heaps: households by their next session start or
 * marketing event (popped once per session), and the sessions being expanded (popped once per event; a
 * hundred or so at a time, so shallow). Ties: households before sessions, then the lower slot (slots are
 * household indices, and session slots reused from a free list: deterministic). An iterator class rather
 * than a generator: for-of then needs no result object per event.
 */
class TimeOrderedEvents implements IterableIterator<IdrEvent> {
  private readonly feedHeap = new SlotHeap()
  private readonly cursorHeap = new SlotHeap()
  private readonly feeds: Feed[]
  private readonly cursors: (Cursor | undefined)[] = []
  private readonly free: number[] = []

  constructor(households: readonly SimHousehold[]) {
    this.feeds = households.map((h) => new Feed(h))
    this.feeds.forEach((f, slot) => {
      if (f.ts < Infinity) this.feedHeap.push(slot, f.ts)
    })
  }

  [Symbol.iterator](): this {
    return this
  }

  next(): IteratorResult<IdrEvent, undefined> {
    const { feedHeap, cursorHeap } = this
    if (cursorHeap.size > 0 && (feedHeap.size === 0 || cursorHeap.topKey() < feedHeap.topKey())) {
      const slot = cursorHeap.top()
      const c = this.cursors[slot]!
      const e = c.emit()
      if (c.kind === DONE) {
        this.cursors[slot] = undefined
        this.free.push(slot)
        cursorHeap.updateTop(Infinity)
      } else {
        cursorHeap.updateTop(c.ts)
      }
      return { value: e, done: false }
    }
    if (feedHeap.size === 0) return { value: undefined, done: true }
    const f = this.feeds[feedHeap.top()]!
    const s = f.takeSession()
    if (s === undefined) {
      const e = f.takeMarketing()
      feedHeap.updateTop(f.ts)
      return { value: e, done: false }
    }
    const c = new Cursor(s, f, f.h.heartbeatSec)
    const e = c.emit()
    feedHeap.updateTop(f.ts)
    if (c.kind !== DONE) {
      const slot = this.free.pop() ?? this.cursors.length
      this.cursors[slot] = c
      cursorHeap.push(slot, c.ts)
    }
    return { value: e, done: false }
  }
}

/** All events of all households in event-time order (see TimeOrderedEvents). */
export function eventsInTimeOrder(households: readonly SimHousehold[]): IterableIterator<IdrEvent> {
  return new TimeOrderedEvents(households)
}

/** Pending deliveries by (arrival, seq). */
class DeliveryHeap {
  private readonly a: { d: SimDelivery, seq: number }[] = []

  get size(): number {
    return this.a.length
  }

  minArrival(): number {
    return this.a[0]?.d.arrivalMs ?? Infinity
  }

  push(d: SimDelivery, seq: number): void {
    const a = this.a
    const x = { d, seq }
    let i = a.length
    a.push(x)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!earlier(x, a[p]!)) break
      a[i] = a[p]!
      i = p
    }
    a[i] = x
  }

  pop(): SimDelivery {
    const a = this.a
    const top = a[0]!
    const last = a.pop()!
    if (a.length > 0) {
      let i = 0
      const n = a.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const c = l + 1 < n && earlier(a[l + 1]!, a[l]!) ? l + 1 : l
        if (!earlier(a[c]!, last)) break
        a[i] = a[c]!
        i = c
      }
      a[i] = last
    }
    return top.d
  }
}

function earlier(x: { d: SimDelivery, seq: number }, y: { d: SimDelivery, seq: number }): boolean {
  return x.d.arrivalMs < y.d.arrivalMs || (x.d.arrivalMs === y.d.arrivalMs && x.seq < y.seq)
}

/**
 * Deliveries in arrival order. Each event is late with probability lateRate (arrival = ts + U{1..maxLatenessMs})
 * and is sent a second time with probability duplicateRate (a copy with the same id, arriving U{1..maxLatenessMs}
 * after the first delivery). Without disorder, arrival = ts.
 */
export function* deliveries(households: readonly SimHousehold[], o: ResolvedSimOptions): Generator<SimDelivery, void, undefined> {
  const r = rng(deriveSeed(o.seed, DISORDER_STREAM))
  const pending = new DeliveryHeap()
  const delay = () => 1 + Math.floor(r.uniform() * o.maxLatenessMs)
  let seq = 0
  for (const event of eventsInTimeOrder(households)) {
    while (pending.minArrival() <= event.ts) yield pending.pop()
    const late = o.lateRate > 0 && r.uniform() < o.lateRate
    const first: SimDelivery = { event, arrivalMs: late ? event.ts + delay() : event.ts, late, duplicate: false }
    if (late) pending.push(first, seq++)
    else yield first
    if (o.duplicateRate > 0 && r.uniform() < o.duplicateRate) {
      pending.push({ event: { ...event }, arrivalMs: first.arrivalMs + delay(), late: false, duplicate: true }, seq++)
    }
  }
  while (pending.size > 0) yield pending.pop()
}

/** The events in arrival order: the time-ordered stream itself when no disorder is configured. */
export function events(households: readonly SimHousehold[], o: ResolvedSimOptions): IterableIterator<IdrEvent> {
  if (o.lateRate === 0 && o.duplicateRate === 0) return eventsInTimeOrder(households)
  return (function* () {
    for (const d of deliveries(households, o)) yield d.event
  })()
}
