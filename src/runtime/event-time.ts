// Event-time timers: one watermark per partition and one timer per account, so that an account that goes
// quiet still gets its sessions closed once the rest of its partition has moved event time past their gap.
// Everything here is a function of the input in the order it was enqueued (docs/operations.md, "Event time"),
// so a replay from a checkpoint fires the same timers at the same positions: see the argument there.

import type { ClockState } from '../ports/store.js'

export interface EventClockOptions {
  /** Silence that ends a session, ms (the sessionizer's gapMs). */
  readonly gapMs: number
  /** How far behind the newest event time the watermark trails, ms (the sessionizer's allowedLatenessMs). */
  readonly allowedLatenessMs: number
  /** How far ahead of its arrival an event may be stamped, ms (the sessionizer's maxClockSkewMs). */
  readonly maxClockSkewMs: number
}

/** Whether an event moves event time: playback only (marketing events move no session clock), and not one its household refuses as stamped ahead of arrival. */
function moves(o: EventClockOptions, kind: string, ts: number, arrivalMs: number): boolean {
  return (kind === 'play' || kind === 'heartbeat' || kind === 'pause' || kind === 'stop') && !(ts > arrivalMs + o.maxClockSkewMs)
}

/** Min-heap of (deadline, account), with lazy deletion: an entry is checked against the live deadline when popped. */
class DeadlineHeap {
  private readonly at: number[] = []
  private readonly who: string[] = []

  get size(): number {
    return this.at.length
  }

  get minAt(): number {
    return this.at.length === 0 ? Infinity : this.at[0]!
  }

  push(deadline: number, account: string): void {
    const at = this.at
    const who = this.who
    let i = at.length
    at.push(deadline)
    who.push(account)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (at[parent]! <= deadline) break
      at[i] = at[parent]!
      who[i] = who[parent]!
      i = parent
    }
    at[i] = deadline
    who[i] = account
  }

  pop(): string {
    const at = this.at
    const who = this.who
    const top = who[0]!
    const lastAt = at.pop()!
    const lastWho = who.pop()!
    const n = at.length
    if (n > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && at[r]! < at[l]! ? r : l
        if (at[c]! >= lastAt) break
        at[i] = at[c]!
        who[i] = who[c]!
        i = c
      }
      at[i] = lastAt
      who[i] = lastWho
    }
    return top
  }
}

/** One partition's event time: its newest event, its armed timers, and its watermark at recent positions. */
class PartitionClock {
  /** Newest event time that counts (capped at each event's arrival), −Infinity before the first. */
  newest = -Infinity
  /** account → deadline of its armed timer. */
  readonly armed = new Map<string, number>()
  readonly heap = new DeadlineHeap()
  /** Newest event time as of the last position pruned to (what a checkpoint there stores). */
  base = -Infinity
  /** (sequence, newest event time after it) for messages since `base` that moved it, in order. */
  readonly seqs: number[] = []
  readonly marks: number[] = []
  /** Processing time (ms) of the last event observed, and `newest` then: the idle policy runs on from these. */
  lastEventAt = 0
  newestAtLastEvent = -Infinity
  /** Changed since the last fire(). */
  moved = false

  constructor(readonly partition: number, readonly lateness: number) {}

  get watermark(): number {
    return this.newest - this.lateness
  }

  arm(account: string, deadline: number): void {
    const cur = this.armed.get(account)
    if (cur !== undefined && cur >= deadline) return
    this.armed.set(account, deadline)
    // an armed account already has a heap entry at or below its new deadline: it is re-pushed when popped
    if (cur === undefined) this.heap.push(deadline, account)
  }
}

/**
 * The runtime's event clock. observe() is called for every event enqueued, fire() once per message after its
 * events, with the message's sequence: timers whose deadline the partition's watermark has passed fire then,
 * in deadline order, each one as a tick for its account's mailbox (behind the events already queued).
 */
export class EventClock {
  private readonly partitions = new Map<number, PartitionClock>()
  /** Partitions whose event time moved since the last fire() (each once: PartitionClock.moved). */
  private moved: PartitionClock[] = []

  constructor(private readonly o: EventClockOptions, state?: ClockState) {
    if (!state) return
    for (const [p, t] of state.eventTimes) {
      const c = this.clock(p)
      c.base = t
      c.newest = t
      c.newestAtLastEvent = t
    }
    for (const t of state.timers) this.clock(t.partition).arm(t.account, t.timerAt)
  }

  /**
   * One event enqueued for `account` (kind, event time, arrival time) at processing time nowMs. Returns the deadline
   * it armed its account's timer with (undefined: it moves no clock), for the envelope: the actor keeps the
   * largest one it has dequeued since its last tick (Actor.timerAt), which is what the clock holds for it there.
   *
   * The deadline is a session gap after the later of the event's time and its partition's event time on
   * arrival: an account is due once its partition has seen a whole gap of event time pass since its last event
   * arrived. For live input the two times agree; for an account whose history arrives behind the others' (a
   * backfill), the gap is measured in the partition's time, so its sessions are not cut at every message.
   */
  observe(partition: number, account: string, kind: string, ts: number, arrivalMs: number, nowMs: number): number | undefined {
    if (!moves(this.o, kind, ts, arrivalMs)) return undefined
    const c = this.clock(partition)
    // capped at arrival: an event stamped ahead (within the skew) may not drag its partition's event time ahead of real time
    this.moveTo(c, Math.min(ts, arrivalMs))
    c.lastEventAt = nowMs
    c.newestAtLastEvent = c.newest
    const deadline = Math.max(ts, c.newest) + this.o.gapMs
    c.arm(account, deadline)
    return deadline
  }

  /**
   * After a message's events: fires the timers whose deadline the watermark of their partition has passed
   * (each(account, partition)), and records the partition's event time at `seq` for checkpoints (seq > 0).
   * Only partitions whose event time moved are looked at.
   */
  fire(seq: number, each: (account: string, partition: number) => void): void {
    const moved = this.moved
    if (moved.length === 0) return
    this.moved = []
    for (const c of moved) {
      c.moved = false
      const w = c.watermark
      if (seq > 0) {
        c.seqs.push(seq)
        c.marks.push(c.newest)
      }
      while (c.heap.minAt < w) {
        const account = c.heap.pop()
        const deadline = c.armed.get(account)
        if (deadline === undefined) continue // forgotten
        if (deadline >= w) {
          c.heap.push(deadline, account) // re-armed later than its entry: not due yet
          continue
        }
        c.armed.delete(account)
        each(account, c.partition)
      }
    }
  }

  /**
   * The idle-partition policy of buses without replay (NATS core, in-process): once a partition has seen no
   * event for idleMs of processing time, its event time runs on with the processing-time clock from where it
   * stopped (newest + silence − idleMs). Call fire(0, …) after it.
   */
  idle(nowMs: number, idleMs: number): void {
    for (const p of this.partitions.keys()) {
      const t = this.idleEventTime(p, nowMs, idleMs)
      if (t !== undefined) this.advanceTo(p, t)
    }
  }

  /**
   * Where the idle policy would move a partition's event time now (its newest event + the silence beyond idleMs),
   * or undefined while it is not silent, has seen no event, or is already there. On JetStream the engine records
   * this in the stream as a watermark record rather than applying it, so that a replay applies it at the same place.
   */
  idleEventTime(partition: number, nowMs: number, idleMs: number): number | undefined {
    const c = this.partitions.get(partition)
    if (!c || c.newestAtLastEvent === -Infinity) return undefined
    const silence = nowMs - c.lastEventAt
    if (silence <= idleMs) return undefined
    const t = c.newestAtLastEvent + (silence - idleMs)
    return t > c.newest ? t : undefined
  }

  /** Moves a partition's event time forward to t (a watermark record, the idle policy); call fire() after it. */
  advanceTo(partition: number, t: number): void {
    this.moveTo(this.clock(partition), t)
  }

  /** The partition's newest event time as of sequence `seq` (what a checkpoint covering up to seq stores). */
  eventTimeAt(partition: number, seq: number): number {
    const c = this.partitions.get(partition)
    if (!c) return -Infinity
    let t = c.base
    for (let i = 0; i < c.seqs.length && c.seqs[i]! <= seq; i++) t = c.marks[i]!
    return t
  }

  /** Every partition's newest event time now (what a checkpoint stores on a bus without sequences). */
  eventTimes(): Map<number, number> {
    return new Map([...this.partitions].map(([p, c]) => [p, c.newest]))
  }

  /** A checkpoint covering up to seq was committed: history at or below it is no longer needed. */
  prune(partition: number, seq: number): void {
    const c = this.partitions.get(partition)
    if (!c) return
    let n = 0
    while (n < c.seqs.length && c.seqs[n]! <= seq) n++
    if (n === 0) return
    c.base = c.marks[n - 1]!
    c.seqs.splice(0, n)
    c.marks.splice(0, n)
  }

  /** An account of this partition left (erasure): its timer is dropped. */
  forget(partition: number, account: string): void {
    this.partitions.get(partition)?.armed.delete(account)
  }

  private moveTo(c: PartitionClock, t: number): void {
    if (!(t > c.newest)) return
    c.newest = t
    if (!c.moved) {
      c.moved = true
      this.moved.push(c)
    }
  }

  private clock(partition: number): PartitionClock {
    let c = this.partitions.get(partition)
    if (!c) {
      c = new PartitionClock(partition, this.o.allowedLatenessMs)
      this.partitions.set(partition, c)
    }
    return c
  }
}
