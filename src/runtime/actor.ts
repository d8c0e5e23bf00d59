// One account's actor: its mailbox, its state (resident or not yet loaded), and what of its input is not yet
// persisted. Only the runtime's turn for this actor touches it.
import type { IdrEvent } from '../model/events.js'
import type { EventOrigin } from '../ingress/origin.js'
import type { ErasedInput } from '../privacy/ports.js'

/** An event on its way to its household. */
export interface Envelope {
  readonly event: IdrEvent
  /** Input position (stream sequence × POSITION_STRIDE + index in its message); 0 without a sequence. */
  readonly pos: number
  /** Arrival time used for the clock-skew check, epoch ms (JetStream: the stream's timestamp, so replays agree). */
  readonly arrivalMs: number
  /** performance.now() at ingress, for the event → assignment latency. */
  readonly receivedAt: number
  /** The message it came in; absent when the caller has none (tests, offline replays). */
  readonly origin?: EventOrigin
  /** Set by the runtime when it enqueues the event: the deadline it armed its account's timer with (src/runtime/event-time.ts). */
  timerAt?: number | undefined
}

/**
 * An event-time timer that fired for the account (src/runtime/event-time.ts): the handler's process() gets it
 * (the account's open sessions end). Queued behind the events enqueued before it.
 */
export interface Tick {
  readonly event: undefined
  /** Input position: after every event of the message that fired it (sequence × stride + stride − 1); 0 without a sequence. */
  readonly pos: number
}

/** What an actor's mailbox holds. */
export type Input = Envelope | Tick

/** Whether an erasure took back this event (so a replay must not apply it again). */
export function wasErased(r: ErasedInput, env: Input): boolean {
  if (env.pos <= 0) return false
  if (env.pos <= r.upTo) return true
  if (env.event === undefined) return false
  const d = r.devices.get(env.event.device)
  return d !== undefined && env.pos <= d
}

/** Where an actor stands with its offloaded work, a refit (states as a union, not a bag of booleans). */
export type OffloadPhase<R> =
  | { readonly phase: 'none' }
  | { readonly phase: 'running' }
  | { readonly phase: 'done', readonly result: R }
  | { readonly phase: 'failed', readonly error: unknown }

/** FIFO of inputs; an array with a moving head, compacted when half of it is consumed. */
export class Mailbox {
  private items: Input[] = []
  private head = 0

  get length(): number {
    return this.items.length - this.head
  }

  push(e: Input): void {
    this.items.push(e)
  }

  peek(): Input | undefined {
    return this.items[this.head]
  }

  shift(): Input | undefined {
    if (this.head >= this.items.length) return undefined
    const e = this.items[this.head]!
    this.items[this.head++] = undefined as unknown as Input
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return e
  }
}

export class Actor<S, R> {
  readonly mailbox = new Mailbox()
  /** Undefined until loaded (from the store, or new) at the actor's first turn. */
  state: S | undefined
  /** Position of the last event applied (from the snapshot when loaded). */
  lastPos = 0
  /** Position of the first applied event that no stored snapshot covers; Infinity when all are covered. */
  unpersistedFrom = Infinity
  /** Applied something since the last stored snapshot (also without positions). */
  changed = false
  offload: OffloadPhase<R> = { phase: 'none' }
  /** Has a stored snapshot (loaded from one, or written since). */
  stored = false
  /** In the runtime's ready queue. */
  queued = false
  /** Erased: dropped from the runtime; a turn or refit result that still reaches it is ignored. */
  dropped = false
  /**
   * Deadline of the account's event-time timer as the clock holds it (armed by each playback event dequeued,
   * disarmed by a tick), stored with the snapshot so that a restart re-arms it: see EventClock.
   */
  timerAt: number | undefined = undefined
  /** Its last turn failed (the store could not load it, say): not scheduled again before this performance.now(). */
  retryAt = 0
  /** Turns failed in a row (the backoff doubles with each). */
  failures = 0
  /** Input that erasures took back: events at or below these positions are skipped if replayed (docs/privacy.md). */
  erased: ErasedInput | undefined

  constructor(readonly account: string, readonly partition: number) {}

  /** Back from offloaded work (done or failed) and not yet given to its state. */
  get resumable(): boolean {
    return this.offload.phase === 'done' || this.offload.phase === 'failed'
  }

  /** No queued input, no work under way: the actor may be snapshotted and evicted. */
  get idle(): boolean {
    return this.mailbox.length === 0 && this.offload.phase === 'none'
  }

  /** The lowest position this actor still needs from the input after a crash (Infinity: none). */
  get neededFrom(): number {
    const head = this.mailbox.peek()
    return Math.min(this.unpersistedFrom, head && head.pos > 0 ? head.pos : Infinity)
  }
}
