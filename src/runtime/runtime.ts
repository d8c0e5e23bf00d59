// The actor runtime: key (account) → actor routing, strictly ordered mailboxes, fair round-robin turns, bounded
// queues with backpressure, offloaded work (refits on a pool) coming back as messages, passivation, and
// checkpoints of snapshots with the input positions they cover. Generic over the per-key state: what a state
// is and does is its handler's (./handler.ts). No NATS, no SQLite: see ./store.ts for what it persists to.
import { performance } from 'node:perf_hooks'
import type { JourneyRecord } from '../attribution/ledger.js'
import { IdrError } from '../errors.js'
import { checkOptionNames, positiveInt } from '../options/check.js'
import type { ErasedInput } from '../privacy/ports.js'
import { Actor, wasErased, type Envelope, type Input, type Tick } from './actor.js'
import { Counters } from './counters.js'
import { EventClock } from './event-time.js'
import { TurnContext, type ActorHandler, type OffloadRunner } from './handler.js'
import { modifyInStore, POSITION_STRIDE, type SnapshotStore, type StoredHousehold } from '../ports/store.js'
import { Persistence, type CheckpointResult } from './persistence.js'

export const DEFAULT_MAX_RESIDENT = 100_000 // actors
export const DEFAULT_MAILBOX_MAX = 10_000 // events per actor
export const DEFAULT_MAX_QUEUED = 200_000 // events over all mailboxes
export const DEFAULT_TURN_EVENTS = 64 // events per actor turn: a hot account yields after this many
export const DEFAULT_SLICE_MS = 5 // ms of turns before the event loop gets a chance at I/O

/** Receives what the states emit, in each key's order. */
export interface RuntimeSink<O> {
  /** cause: the event being processed; undefined for a timer's tick and for offloaded work that came back. */
  output(account: string, out: O, cause: Envelope | undefined): void
  /** Offloaded work failed (the handler's resume() recovers; logged by the caller). */
  offloadFailed?(account: string, error: unknown): void
  /** An actor's turn threw (its snapshot could not be loaded, say); it is retried after retryInMs, its input kept. */
  turnFailed?(account: string, error: unknown, retryInMs: number): void
}

/** Backoff of an actor whose turn failed: 100 ms, doubling, at most 5 s. */
const TURN_RETRY_MS = 100
const TURN_RETRY_MAX_MS = 5_000

export interface RuntimeOptions<S, O, T = never, R = never> {
  store: SnapshotStore
  sink: RuntimeSink<O>
  handler: ActorHandler<S, O, T, R>
  /** Where offloaded work runs (the handler offloads only when given one). */
  offload?: OffloadRunner<T, R>
  /** The process's counter record, shared with the handler and the engine. Default a new one. */
  counters?: Counters
  maxResident?: number
  mailboxMax?: number
  maxQueued?: number
  turnEvents?: number
  sliceMs?: number
  /**
   * What erasures took back from an account's input (its tombstones), asked when the account's actor is
   * created: replayed events the answer covers are skipped. Absent: nothing was erased.
   */
  erasedInput?: (account: string) => ErasedInput | undefined
}

const OPTION_NAMES = ['store', 'sink', 'handler', 'offload', 'counters', 'maxResident', 'mailboxMax', 'maxQueued', 'turnEvents', 'sliceMs', 'erasedInput']

export class ActorRuntime<S, O, T = never, R = never> {
  /** The process's one counter record: the runtime counts its own work here, the handler and the engine the rest. */
  readonly counters: Counters
  readonly handler: ActorHandler<S, O, T, R>
  private readonly store: SnapshotStore
  private readonly sink: RuntimeSink<O>
  private readonly runner: OffloadRunner<T, R> | undefined
  private readonly maxResident: number
  private readonly mailboxMax: number
  private readonly maxQueued: number
  private readonly turnEvents: number
  private readonly sliceMs: number
  private readonly erasedInput: ((account: string) => ErasedInput | undefined) | undefined
  /** account → actor, least recently used first (re-inserted on every enqueue). */
  private readonly actors = new Map<string, Actor<S, R>>()
  /** Actors with input to process, in round-robin order. */
  private ready: Actor<S, R>[] = []
  private readyHead = 0
  /** What is stored and what is not (./persistence.ts). */
  private readonly persisted: Persistence<S, R>
  private queuedEvents = 0
  private fullActors = 0
  private offloadsRunning = 0
  private pumping = false
  private waiters: (() => void)[] = []
  /** Erasures waiting for an actor's offloaded work to come back (woken at every turn that finishes one). */
  private offloadWaiters: (() => void)[] = []
  private idleWaiters: (() => void)[] = []
  /** Event time per partition and the accounts' timers (src/runtime/event-time.ts). */
  private readonly clock: EventClock

  /** The one context of turns: its actor and cause are those of the turn under way (no allocation per input). */
  private readonly ctx: TurnContext<Actor<S, R>, O, T>

  constructor(options: RuntimeOptions<S, O, T, R>) {
    checkOptionNames('ActorRuntime', options, OPTION_NAMES)
    this.store = options.store
    this.sink = options.sink
    this.handler = options.handler
    this.runner = options.offload
    this.counters = options.counters ?? new Counters()
    this.maxResident = options.maxResident ?? DEFAULT_MAX_RESIDENT
    positiveInt('maxResident', this.maxResident)
    this.mailboxMax = options.mailboxMax ?? DEFAULT_MAILBOX_MAX
    positiveInt('mailboxMax', this.mailboxMax)
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED
    positiveInt('maxQueued', this.maxQueued)
    this.turnEvents = options.turnEvents ?? DEFAULT_TURN_EVENTS
    positiveInt('turnEvents', this.turnEvents)
    this.sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS
    positiveInt('sliceMs', this.sliceMs)
    this.erasedInput = options.erasedInput
    this.clock = new EventClock(this.handler.eventTime, this.store.clock())
    this.persisted = new Persistence(this.store, this.handler, this.clock, this.counters)
    this.ctx = new TurnContext((a, out, cause) => this.sink.output(a.account, out, cause), (a, task) => this.offloadFrom(a, task))
  }


  /** Actors in memory (loaded or holding input). */
  get residentActors(): number {
    return this.actors.size
  }

  /** Resident actors without a stored snapshot yet (households = stored + these). */
  get unstoredActors(): number {
    let n = 0
    for (const a of this.actors.values()) if (!a.stored && a.state) n++
    return n
  }

  /** Accounts of the resident actors with a loaded state; live over the actor map: copy it before awaiting. */
  *residentAccounts(): IterableIterator<string> {
    for (const [account, a] of this.actors) if (a.state) yield account
  }

  /** Events waiting in mailboxes. */
  get queued(): number {
    return this.queuedEvents
  }

  /** Offloaded work (refits) running on the pool. */
  get refitsInFlight(): number {
    return this.offloadsRunning
  }

  /** Milliseconds since the last complete checkpoint (one that wrote every changed household). */
  get snapshotLagMs(): number {
    return this.persisted.lagMs
  }

  /** Stored positions: the sequence each partition is covered up to (resume from the next one). */
  positions(): ReadonlyMap<number, number> {
    return this.persisted.covered
  }

  /** True while there is room for more input: below maxQueued and no mailbox at mailboxMax. */
  get writable(): boolean {
    return this.queuedEvents < this.maxQueued && this.fullActors === 0
  }

  /** Resolves when there is room for more input (backpressure for transports that can wait). */
  whenWritable(): Promise<void> {
    if (this.writable) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Queues one event for its account's actor. The caller keeps to `writable` (or waits on whenWritable). */
  enqueue(partition: number, env: Envelope): void {
    const e = env.event
    env.timerAt = this.clock.observe(partition, e.account, e.kind, e.ts, env.arrivalMs, performance.now())
    this.enqueueInput(partition, e.account, env)
  }

  /**
   * After the events of one message (sequence seq, 0 without one): the timers their event time has made due fire,
   * each as a tick queued for its account behind what is already queued. Call it before markDelivered.
   */
  fireTimers(seq: number): void {
    const pos = seq > 0 ? seq * POSITION_STRIDE + POSITION_STRIDE - 1 : 0
    this.clock.fire(seq, (account, partition) => {
      this.counters.timersFired++
      const tick: Tick = { event: undefined, pos }
      this.enqueueInput(partition, account, tick)
    })
  }

  /**
   * The idle-partition policy of buses without replay (NATS core, in-process; JetStream must not: see
   * docs/operations.md): partitions silent for idleMs of processing time move event time on, and fire.
   */
  idleAdvance(idleMs: number): void {
    this.clock.idle(performance.now(), idleMs)
    this.fireTimers(0)
  }

  /** A watermark record read from the stream: the partition's event time moves to t (call fireTimers after it). */
  advanceEventTime(partition: number, t: number): void {
    this.clock.advanceTo(partition, t)
  }

  /** Where the idle policy would move the partition's event time now (EventClock.idleEventTime), or undefined. */
  idleEventTime(partition: number, idleMs: number): number | undefined {
    return this.clock.idleEventTime(partition, performance.now(), idleMs)
  }

  private enqueueInput(partition: number, account: string, input: Input): void {
    let a = this.actors.get(account)
    if (a) {
      this.actors.delete(account)
    } else {
      a = new Actor<S, R>(account, partition)
      a.erased = this.erasedInput?.(account)
    }
    this.actors.set(account, a)
    a.mailbox.push(input)
    if (a.mailbox.length === this.mailboxMax) this.fullActors++
    this.queuedEvents++
    this.persisted.dirty.add(a)
    this.schedule(a)
  }

  /** Every event of the message at this sequence has been enqueued (or rejected before the runtime). */
  markDelivered(partition: number, seq: number): void {
    this.persisted.markDelivered(partition, seq)
  }

  /**
   * Writes changed states that can be snapshotted, with the positions they cover, in one transaction; with a
   * budget, a slice of them (Persistence.checkpoint). `complete`: nothing was left.
   */
  checkpoint(budgetMs = Infinity): CheckpointResult {
    return this.persisted.checkpoint(budgetMs)
  }

  /** Resolves when no input is queued and no offloaded work is running (for drain). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private isIdle(): boolean {
    return this.queuedEvents === 0 && this.offloadsRunning === 0 && this.readyHead >= this.ready.length
  }

  /** Blocked until its offloaded work is back: no turns until then. */
  private held(a: Actor<S, R>): boolean {
    return a.offload.phase === 'running' && a.state !== undefined && this.handler.blocked(a.state)
  }

  private schedule(a: Actor<S, R>): void {
    if (a.queued || this.held(a) || a.retryAt > 0) return
    a.queued = true
    this.ready.push(a)
    if (!this.pumping) {
      this.pumping = true
      setImmediate(this.pump)
    }
  }

  private readonly pump = (): void => {
    const deadline = performance.now() + this.sliceMs
    while (this.readyHead < this.ready.length) {
      const a = this.ready[this.readyHead]!
      this.ready[this.readyHead++] = undefined as unknown as Actor<S, R>
      a.queued = false
      try {
        this.turn(a)
        a.failures = 0
      } catch (err) {
        this.turnFailed(a, err) // not scheduled again until its backoff has passed
      }
      if (a.mailbox.length > 0 || a.resumable) this.schedule(a)
      if (performance.now() >= deadline) break
    }
    if (this.readyHead >= this.ready.length) {
      this.ready = []
      this.readyHead = 0
    } else if (this.readyHead > 4096) {
      this.ready = this.ready.slice(this.readyHead)
      this.readyHead = 0
    }
    this.passivate()
    this.notify()
    if (this.readyHead < this.ready.length) setImmediate(this.pump)
    else this.pumping = false
  }

  private notify(): void {
    if (this.writable && this.waiters.length > 0) {
      const w = this.waiters
      this.waiters = []
      for (const resolve of w) resolve()
    }
    if (this.idleWaiters.length > 0 && this.isIdle()) {
      const w = this.idleWaiters
      this.idleWaiters = []
      for (const resolve of w) resolve()
    }
  }

  /**
   * One turn: offloaded work that came back first, then up to turnEvents inputs. Work offloaded on the way goes
   * to the pool while the turn goes on; the turn stops only when the state blocks on it.
   */
  private turn(a: Actor<S, R>): void {
    if (a.dropped) return
    const state = this.load(a)
    const ctx = this.ctx.at(a, undefined)
    if (a.resumable) {
      const r = a.offload
      a.offload = { phase: 'none' }
      if (r.phase === 'failed') this.sink.offloadFailed?.(a.account, r.error)
      this.handler.resume(state, r.phase === 'done' ? { ok: true, result: r.result } : { ok: false, error: (r as { error: unknown }).error }, ctx)
      if (this.offloadWaiters.length > 0) for (const w of this.offloadWaiters.splice(0)) w()
      if (this.held(a)) return
    }
    for (let n = 0; n < this.turnEvents; n++) {
      const input = a.mailbox.shift()
      if (!input) break
      if (a.mailbox.length === this.mailboxMax - 1) this.fullActors--
      this.queuedEvents--
      if (input.pos > 0 && input.pos <= a.lastPos) {
        if (input.event) this.counters.duplicatesReplayed++
        continue
      }
      this.mirrorTimer(a, input)
      if (a.erased && wasErased(a.erased, input)) {
        if (input.event) this.counters.erasedSkipped++
        continue
      }
      this.handler.process(state, input, this.ctx.at(a, input.event ? input : undefined))
      if (input.pos > 0) {
        a.lastPos = input.pos
        if (a.unpersistedFrom === Infinity) a.unpersistedFrom = input.pos
      }
      a.changed = true
      if (this.held(a)) return
    }
  }

  /**
   * Keeps the actor's copy of its timer in step with the clock's: every event the clock armed it with (its
   * envelope carries the deadline) arms it, a tick disarms it. Replayed input that the snapshot already reflects
   * is not counted again (the caller skips it first).
   */
  private mirrorTimer(a: Actor<S, R>, input: Input): void {
    if (!input.event) a.timerAt = undefined
    else if (input.timerAt !== undefined && (a.timerAt === undefined || input.timerAt > a.timerAt)) a.timerAt = input.timerAt
  }

  /**
   * A turn threw: the process stays up, the actor keeps its queued input and is retried after a backoff. (An
   * input the turn had taken is not retried: a failure while applying it would repeat; a failure to load the
   * state happens before any is taken.)
   */
  private turnFailed(a: Actor<S, R>, err: unknown): void {
    const delay = Math.min(TURN_RETRY_MS * 2 ** a.failures, TURN_RETRY_MAX_MS)
    a.failures++
    this.counters.turnsFailed++
    a.retryAt = performance.now() + delay
    this.sink.turnFailed?.(a.account, err, delay)
    setTimeout(() => {
      a.retryAt = 0
      if (!a.dropped && (a.mailbox.length > 0 || a.resumable)) this.schedule(a)
    }, delay).unref()
  }

  /** Sends a state's work to the runner; its outcome comes back as a message to the actor (ActorContext.offload). */
  private offloadFrom(a: Actor<S, R>, task: T): void {
    if (!this.runner) throw new IdrError('REFIT_PENDING', `${a.account} offloaded work without an offload runner`)
    if (a.offload.phase !== 'none') throw new IdrError('REFIT_PENDING', `${a.account} offloaded work while its last is not back`)
    this.counters.refitsRun++
    a.offload = { phase: 'running' }
    this.offloadsRunning++
    this.runner.run(task).then(
      (result) => this.offloadBack(a, { phase: 'done', result }),
      (error: unknown) => this.offloadBack(a, { phase: 'failed', error }),
    )
  }

  private offloadBack(a: Actor<S, R>, phase: { phase: 'done', result: R } | { phase: 'failed', error: unknown }): void {
    this.offloadsRunning--
    if (a.dropped) {
      a.offload = { phase: 'none' }
      for (const w of this.offloadWaiters.splice(0)) w()
      return this.notify()
    }
    a.offload = phase
    this.schedule(a)
  }

  /** The actor's state: already resident, rehydrated from its snapshot, or new. */
  private load(a: Actor<S, R>): S {
    if (a.state) return a.state
    const stored = this.store.load(a.account)
    if (stored) {
      a.state = this.handler.restore(a.account, stored.snapshot)
      a.lastPos = stored.seq
      a.timerAt = stored.timerAt
      a.stored = true
      this.counters.rehydrated++
    } else {
      a.state = this.handler.create(a.account)
    }
    return a.state
  }

  /** Evicts least recently used idle actors beyond maxResident, their snapshots written in one transaction. */
  private passivate(): void {
    let excess = this.actors.size - this.maxResident
    if (excess <= 0) return
    const gone: Actor<S, R>[] = []
    for (const a of this.actors.values()) {
      if (excess <= 0) break
      if (!a.idle || a.queued) continue
      gone.push(a)
      excess--
    }
    if (!this.persisted.evict(gone)) return
    for (const a of gone) this.actors.delete(a.account)
    this.counters.passivated += gone.length
  }

  /**
   * Runs fn on a key's state at a point where none of its offloaded work is under way, so that fn may change it
   * (erasure, retention): the resident state, else one rehydrated from its snapshot (not made resident), else
   * undefined. `persist()` returns the state's snapshot record as it is after fn's changes and counts it as
   * stored (the caller commits it, with whatever must go in the same transaction); call it once fn has changed
   * the state, or not at all.
   */
  async modify<X>(account: string, fn: (s: S | undefined, persist: () => StoredHousehold) => X): Promise<X> {
    for (;;) {
      const a = this.actors.get(account)
      if (!a || a.offload.phase === 'none' || a.dropped) break
      // its work is out (or back and not yet applied): wait for the turn that applies it
      await new Promise<void>((resolve) => this.offloadWaiters.push(resolve))
    }
    const a = this.actors.get(account)
    if (a && !a.dropped) {
      const state = this.load(a)
      return fn(state, () => this.persisted.stored(a))
    }
    return modifyInStore(this.store, this.handler, account, fn)
  }

  /**
   * Erasure of a whole account: its actor leaves memory with its queued input (returned: the events dropped),
   * and input that reaches the account later starts a new household (skipping replayed events that the
   * erasedInput option, told of the erasure first, covers). The caller deletes the stored snapshot. A refit
   * of it still running is ignored when it returns.
   */
  drop(account: string): number {
    const a = this.actors.get(account)
    if (!a) return 0
    let dropped = 0
    while (a.mailbox.length > 0) {
      if (a.mailbox.length === this.mailboxMax) this.fullActors--
      a.mailbox.shift()
      this.queuedEvents--
      dropped++
    }
    a.dropped = true
    a.state = undefined
    this.clock.forget(a.partition, account)
    this.actors.delete(account)
    this.persisted.dirty.delete(a)
    this.notify()
    return dropped
  }

  /** Adds what an erasure took back to a resident account's skip rule (device erasure while it runs). */
  eraseInput(account: string, device: string, upTo: number): void {
    const a = this.actors.get(account)
    if (!a) return
    a.erased ??= { upTo: 0, devices: new Map() }
    a.erased.devices.set(device, Math.max(upTo, a.erased.devices.get(device) ?? 0))
  }

  /** partition → the last message sequence delivered to this runtime (erasures cover input up to it). */
  deliveredUpTo(partition: number): number {
    return this.persisted.deliveredUpTo(partition)
  }

  /** Side outputs (journeys) resident states produced and no checkpoint has stored yet (the store holds the rest). */
  unstoredJourneys(each: (r: JourneyRecord, account: string) => void): void {
    for (const [account, a] of this.actors) if (a.state) this.handler.pending(a.state, (r) => each(r, account))
  }

  /**
   * A key's state for a query, between turns: the resident one, else one rehydrated from its snapshot (not made
   * resident), else undefined. The caller reads it and does not keep it across an await.
   */
  peek(account: string): S | undefined {
    const a = this.actors.get(account)
    if (a?.state) return a.state
    const stored = this.store.load(account)
    return stored ? this.handler.restore(account, stored.snapshot) : undefined
  }
}


