// What the actor runtime runs: a handler over per-key state, Flink's keyed function in small. The runtime owns
// routing, ordering, backpressure, persistence and checkpoints; the handler owns what the state is and does.
import type { JourneyRecord } from '../attribution/ledger.js'
import type { Snapshot, StateCodec } from '../ports/store.js'
import type { Envelope, Input } from './actor.js'

/** Offloaded work as it comes back to the state that sent it. */
export type Outcome<R> = { readonly ok: true, readonly result: R } | { readonly ok: false, readonly error: unknown }

/** What a handler may do during a turn. */
export interface ActorContext<O, T> {
  /** Hands an output to the runtime's sink, in the key's order. */
  emit(out: O): void
  /**
   * Sends work to the runtime's offload runner (a worker pool); its outcome comes back as a message to this
   * state, through resume(), in a later turn. Only with a runner (ActorHandler.offloads tells the handler).
   */
  offload(task: T): void
}

/**
 * The per-key logic. S: the state; O: what it emits; T, R: offloaded work and its result. Every method is
 * deterministic given the state and its input, so that a replay rebuilds the same state.
 */
export interface ActorHandler<S, O, T = never, R = never> extends StateCodec<S> {
  /** A new state for a key that has none stored. */
  create(key: string): S
  /** Gives side outputs back after the write that carried them failed. */
  untake(state: S, snapshot: Snapshot): void
  /** One input: an event, or a tick of the key's event-time timer (input.event undefined). */
  process(state: S, input: Input, ctx: ActorContext<O, T>): void
  /** Offloaded work came back (or failed: the handler recovers, e.g. by running it inline). */
  resume(state: S, outcome: Outcome<R>, ctx: ActorContext<O, T>): void
  /** Blocked on the offloaded work under way: the state takes no input until it is back. */
  blocked(state: S): boolean
  /** Side outputs not yet taken by a snapshot (queries that must see them before the next checkpoint). */
  pending(state: S, each: (r: JourneyRecord) => void): void
  /** Event-time rules of the keys (the clock arms each key's timer from them: src/runtime/event-time.ts). */
  readonly eventTime: { readonly gapMs: number, readonly allowedLatenessMs: number, readonly maxClockSkewMs: number }
}

/** Runs offloaded work somewhere else (a worker pool); RefitPool satisfies it for refits. */
export interface OffloadRunner<T, R> {
  run(task: T): Promise<R>
}

/** The one ActorContext of a runtime's turns, pointed at the actor and cause of the turn under way (no allocation per input). */
export class TurnContext<A, O, T> implements ActorContext<O, T> {
  private actor!: A
  private cause: Envelope | undefined

  constructor(
    private readonly emitFor: (actor: A, out: O, cause: Envelope | undefined) => void,
    private readonly offloadFor: (actor: A, task: T) => void,
  ) {}

  at(actor: A, cause: Envelope | undefined): this {
    this.actor = actor
    this.cause = cause
    return this
  }

  emit(out: O): void {
    this.emitFor(this.actor, out, this.cause)
  }

  offload(task: T): void {
    this.offloadFor(this.actor, task)
  }
}
