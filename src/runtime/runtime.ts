// The actor runtime: account → actor routing, strictly ordered mailboxes, fair round-robin turns, bounded
// queues with backpressure, refits on a pool coming back as messages, passivation, and checkpoints of
// snapshots with the input positions they cover. No NATS, no SQLite: see ./store.ts for what it persists to.
import { performance } from 'node:perf_hooks'
import type { JourneyRecord } from '../attribution/ledger.js'
import { IdrError } from '../errors.js'
import { checkOptionNames, positiveInt } from '../options/check.js'
import { Household, type HouseholdOptions, type HouseholdOutput } from '../model/household.js'
import { runRefit, type RefitResult, type RefitTask } from '../model/refit.js'
import { Actor, wasErased, type Envelope, type ErasedInput, type Input, type Tick } from './actor.js'
import { Counters } from './counters.js'
import { EventClock } from './event-time.js'
import { POSITION_STRIDE, householdRecord, type SnapshotStore, type StoredHousehold } from './store.js'

export const DEFAULT_MAX_RESIDENT = 100_000 // actors
export const DEFAULT_MAILBOX_MAX = 10_000 // events per actor
export const DEFAULT_MAX_QUEUED = 200_000 // events over all mailboxes
export const DEFAULT_TURN_EVENTS = 64 // events per actor turn: a hot account yields after this many
export const DEFAULT_SLICE_MS = 5 // ms of turns before the event loop gets a chance at I/O

/** A budgeted checkpoint looks at the clock after this many households. */
const CHECKPOINT_CHECK_EVERY = 8

/** Runs refits somewhere else (a worker pool); RefitPool satisfies it. */
export interface RefitRunner {
  run(task: RefitTask): Promise<RefitResult>
}

/** Receives what the households produce, in each account's order. */
export interface RuntimeSink {
  output(account: string, out: HouseholdOutput, cause: Envelope | undefined): void
  /** A refit failed on the pool and was run inline instead (logged by the caller). */
  refitFailed?(account: string, error: unknown): void
  /** An actor's turn threw (its snapshot could not be loaded, say); it is retried after retryInMs, its input kept. */
  turnFailed?(account: string, error: unknown, retryInMs: number): void
}

/** Backoff of an actor whose turn failed: 100 ms, doubling, at most 5 s. */
const TURN_RETRY_MS = 100
const TURN_RETRY_MAX_MS = 5_000

export interface RuntimeOptions {
  store: SnapshotStore
  sink: RuntimeSink
  household?: HouseholdOptions
  /** Where refits run; absent: inline, on the event path. */
  refits?: RefitRunner
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

const OPTION_NAMES = ['store', 'sink', 'household', 'refits', 'maxResident', 'mailboxMax', 'maxQueued', 'turnEvents', 'sliceMs', 'erasedInput']

export class ActorRuntime {
  /** The process's one counter record: the runtime counts its own work here, the engine the rest. */
  readonly counters = new Counters()
  private readonly store: SnapshotStore
  private readonly sink: RuntimeSink
  private readonly householdOptions: HouseholdOptions
  private readonly refits: RefitRunner | undefined
  private readonly maxResident: number
  private readonly mailboxMax: number
  private readonly maxQueued: number
  private readonly turnEvents: number
  private readonly sliceMs: number
  private readonly erasedInput: ((account: string) => ErasedInput | undefined) | undefined
  /** account → actor, least recently used first (re-inserted on every enqueue). */
  private readonly actors = new Map<string, Actor>()
  /** Actors with input to process, in round-robin order. */
  private ready: Actor[] = []
  private readyHead = 0
  /** Actors holding input that no stored snapshot covers, or queued input. */
  private readonly dirty = new Set<Actor>()
  /** partition → the last message sequence whose events were all enqueued. */
  private readonly delivered = new Map<number, number>()
  /** partition → sequence covered by the last checkpoint. */
  private readonly covered: Map<number, number>
  private queuedEvents = 0
  private fullActors = 0
  private refitsRunning = 0
  private pumping = false
  private waiters: (() => void)[] = []
  /** Erasures waiting for an actor's refit to come back (woken at every turn that finishes one). */
  private refitWaiters: (() => void)[] = []
  private idleWaiters: (() => void)[] = []
  private lastCheckpointAt = performance.now()
  /** Event time per partition and the accounts' timers (src/runtime/event-time.ts). */
  private readonly clock: EventClock

  constructor(options: RuntimeOptions) {
    checkOptionNames('ActorRuntime', options, OPTION_NAMES)
    this.store = options.store
    this.sink = options.sink
    this.refits = options.refits
    this.householdOptions = { ...options.household, refits: this.refits ? 'deferred' : 'inline' }
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
    this.covered = this.store.positions()
    // a household is built once here so that bad household options fail at construction, not at the first event
    const { sessionizer } = new Household('options-check', this.householdOptions)
    this.clock = new EventClock({ gapMs: sessionizer.gapMs, allowedLatenessMs: sessionizer.allowedLatenessMs, maxClockSkewMs: sessionizer.maxClockSkewMs }, this.store.clock())
  }


  /** Actors in memory (loaded or holding input). */
  get residentActors(): number {
    return this.actors.size
  }

  /** Resident actors without a stored snapshot yet (households = stored + these). */
  get unstoredActors(): number {
    let n = 0
    for (const a of this.actors.values()) if (!a.stored && a.household) n++
    return n
  }

  /** Accounts of the resident actors with a loaded household; live over the actor map: copy it before awaiting. */
  *residentAccounts(): IterableIterator<string> {
    for (const [account, a] of this.actors) if (a.household) yield account
  }

  /** Events waiting in mailboxes. */
  get queued(): number {
    return this.queuedEvents
  }

  /** Refits running on the pool. */
  get refitsInFlight(): number {
    return this.refitsRunning
  }

  /** Milliseconds since the last complete checkpoint (one that wrote every changed household). */
  get snapshotLagMs(): number {
    return this.dirty.size === 0 ? 0 : performance.now() - this.lastCheckpointAt
  }

  /** Stored positions: the sequence each partition is covered up to (resume from the next one). */
  positions(): ReadonlyMap<number, number> {
    return this.covered
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
      a = new Actor(account, partition)
      a.erased = this.erasedInput?.(account)
    }
    this.actors.set(account, a)
    a.mailbox.push(input)
    if (a.mailbox.length === this.mailboxMax) this.fullActors++
    this.queuedEvents++
    this.dirty.add(a)
    this.schedule(a)
  }

  /** Every event of the message at this sequence has been enqueued (or rejected before the runtime). */
  markDelivered(partition: number, seq: number): void {
    const before = this.delivered.get(partition) ?? 0
    if (seq > before) this.delivered.set(partition, seq)
  }

  /**
   * Writes changed households that can be snapshotted, with the positions they cover, in one transaction.
   * With a budget it stops once the budget is spent (checked every CHECKPOINT_CHECK_EVERY households), so that
   * a checkpoint is a short pause of the event path rather than one long one; the households it wrote go to
   * the back, so successive budgeted checkpoints get through all of them. `complete`: nothing was left.
   */
  checkpoint(budgetMs = Infinity): { households: number, positions: ReadonlyMap<number, number>, complete: boolean } {
    const households: StoredHousehold[] = []
    const written: Actor[] = []
    const before: Unstored[] = []
    const deadline = performance.now() + budgetMs
    let complete = true
    for (const a of this.dirty) {
      if (a.changed && a.household && a.refit.phase === 'none') {
        if (written.length > 0 && written.length % CHECKPOINT_CHECK_EVERY === 0 && performance.now() >= deadline) {
          complete = false
          break
        }
        before.push(unstored(a))
        households.push(this.stored(a))
        written.push(a)
      } else if (!a.changed && a.mailbox.length === 0 && a.refit.phase === 'none') {
        this.dirty.delete(a)
      }
    }
    for (const a of written) {
      this.dirty.delete(a)
      if (a.mailbox.length > 0 || a.refit.phase !== 'none') this.dirty.add(a)
    }
    const positions = this.coveredPositions()
    // with sequences, each partition's event time as of the position stored; without (NATS core, in-process),
    // as it is now: nothing is replayed there, and a restart goes on from what was last seen
    const eventTimes = this.delivered.size > 0
      ? new Map([...positions].map(([p, seq]) => [p, this.clock.eventTimeAt(p, seq)]))
      : this.clock.eventTimes()
    try {
      this.store.commit({ households, positions, eventTimes })
    } catch (e) {
      written.forEach((a, i) => this.unstore(a, before[i]!, households[i]!))
      throw e
    }
    for (const [p, seq] of positions) {
      this.covered.set(p, seq)
      this.clock.prune(p, seq)
    }
    this.counters.snapshotsWritten += households.length
    if (complete) {
      this.counters.checkpoints++
      this.lastCheckpointAt = performance.now()
    }
    return { households: households.length, positions, complete }
  }

  /** Resolves when no input is queued and no refit is running (for drain). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private isIdle(): boolean {
    return this.queuedEvents === 0 && this.refitsRunning === 0 && this.readyHead >= this.ready.length
  }

  /** The snapshot record of a loaded actor, with the journeys it completed since; marks it persisted. */
  private stored(a: Actor): StoredHousehold {
    const record = householdRecord(a.account, a.partition, a.lastPos, a.household!, a.timerAt)
    a.changed = false
    a.stored = true
    a.unpersistedFrom = Infinity
    return record
  }

  /** Undoes stored() after its commit failed: the actor is changed again and gets its journeys back. */
  private unstore(a: Actor, was: Unstored, record: StoredHousehold): void {
    a.changed = true
    a.stored = was.stored
    a.unpersistedFrom = was.unpersistedFrom
    if (record.journeys && record.journeys.length > 0) a.household?.journeys?.restore(record.journeys)
    if (!a.dropped) this.dirty.add(a)
  }

  /**
   * Per partition, the last message sequence all of whose events are in stored snapshots: everything delivered,
   * except from the first message some actor still needs (unpersisted or queued) onwards.
   */
  private coveredPositions(): Map<number, number> {
    const need = new Map<number, number>()
    for (const a of this.dirty) {
      const from = a.neededFrom
      if (from === Infinity) continue
      const seq = Math.floor(from / POSITION_STRIDE)
      const cur = need.get(a.partition)
      if (cur === undefined || seq < cur) need.set(a.partition, seq)
    }
    const out = new Map<number, number>()
    for (const [p, seq] of this.delivered) {
      const n = need.get(p)
      const c = n === undefined ? seq : Math.min(seq, n - 1)
      if (c > (this.covered.get(p) ?? 0)) out.set(p, c)
    }
    return out
  }

  private schedule(a: Actor): void {
    if (a.queued || a.held || a.retryAt > 0) return
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
      this.ready[this.readyHead++] = undefined as unknown as Actor
      a.queued = false
      try {
        this.turn(a)
        a.failures = 0
      } catch (err) {
        this.turnFailed(a, err) // not scheduled again until its backoff has passed
      }
      if ((a.mailbox.length > 0 || a.refit.phase === 'done' || a.refit.phase === 'failed')) this.schedule(a)
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
   * One turn: a refit that came back first, then up to turnEvents events. A refit triggered on the way goes
   * to the pool while the turn goes on; the turn stops only when the household blocks on one (its next close
   * needs the result).
   */
  private turn(a: Actor): void {
    if (a.dropped) return
    const h = this.load(a)
    if (a.refit.phase === 'done' || a.refit.phase === 'failed') {
      const r = a.refit
      let result: RefitResult
      if (r.phase === 'done') {
        result = r.result
      } else {
        this.sink.refitFailed?.(a.account, r.error)
        result = runRefit(h.dueRefit!)
      }
      a.refit = { phase: 'none' }
      const out = h.completeRefit(result)
      this.sink.output(a.account, out, undefined)
      if (out.refit) this.startRefit(a, out.refit)
      if (this.refitWaiters.length > 0) for (const w of this.refitWaiters.splice(0)) w()
      if (a.held) return
    }
    for (let n = 0; n < this.turnEvents; n++) {
      const env = a.mailbox.shift()
      if (!env) break
      if (a.mailbox.length === this.mailboxMax - 1) this.fullActors--
      this.queuedEvents--
      if (env.pos > 0 && env.pos <= a.lastPos) {
        if (env.event) this.counters.duplicatesReplayed++
        continue
      }
      this.mirrorTimer(a, env)
      if (a.erased && wasErased(a.erased, env)) {
        if (env.event) this.counters.erasedSkipped++
        continue
      }
      const out = env.event ? h.push(env.event, env.arrivalMs) : h.expire()
      if (env.event) this.count(out)
      if (env.pos > 0) {
        a.lastPos = env.pos
        if (a.unpersistedFrom === Infinity) a.unpersistedFrom = env.pos
      }
      a.changed = true
      this.sink.output(a.account, out, env.event ? env : undefined)
      if (out.refit) this.startRefit(a, out.refit)
      if (a.held) return
    }
  }

  /**
   * Keeps the actor's copy of its timer in step with the clock's: every event the clock armed it with (its
   * envelope carries the deadline) arms it, a tick disarms it. Replayed input that the snapshot already reflects
   * is not counted again (the caller skips it first).
   */
  private mirrorTimer(a: Actor, input: Input): void {
    if (!input.event) a.timerAt = undefined
    else if (input.timerAt !== undefined && (a.timerAt === undefined || input.timerAt > a.timerAt)) a.timerAt = input.timerAt
  }

  /**
   * A turn threw: the process stays up, the actor keeps its queued input and is retried after a backoff. (An
   * envelope the turn had taken is not retried: a failure while applying it would repeat; a failure to load
   * the household happens before any is taken.)
   */
  private turnFailed(a: Actor, err: unknown): void {
    const delay = Math.min(TURN_RETRY_MS * 2 ** a.failures, TURN_RETRY_MAX_MS)
    a.failures++
    this.counters.turnsFailed++
    a.retryAt = performance.now() + delay
    this.sink.turnFailed?.(a.account, err, delay)
    setTimeout(() => {
      a.retryAt = 0
      if (!a.dropped && (a.mailbox.length > 0 || a.refit.phase === 'done' || a.refit.phase === 'failed')) this.schedule(a)
    }, delay).unref()
  }

  /**
   * What the household did with the one event it was given. Late and clock-ahead refusals are counted by
   * the sink, which dead-letters them (Counters.deadLettered), so that each refusal is counted once.
   */
  private count(out: HouseholdOutput): void {
    const refused = out.rejected[0] // one event pushed: at most one refusal, of that event
    if (refused === undefined) this.counters.eventsApplied++
    else if (refused.reason === 'duplicate') this.counters.duplicatesById++
    else if (refused.reason === 'not-playback') this.counters.notPlayback++
  }

  /** Sends a deferred refit to the pool; its result comes back as a message to the actor. */
  private startRefit(a: Actor, task: RefitTask): void {
    this.counters.refitsRun++
    if (!this.refits) throw new IdrError('REFIT_PENDING', 'a deferred refit without a refit runner')
    // the pool transfers the task's buffers; the household keeps its own copy for an inline retry
    const copy = cloneTask(task)
    a.refit = { phase: 'running' }
    this.refitsRunning++
    this.refits.run(copy).then(
      (result) => this.refitBack(a, { phase: 'done', result }),
      (error: unknown) => this.refitBack(a, { phase: 'failed', error }),
    )
  }

  private refitBack(a: Actor, phase: { phase: 'done', result: RefitResult } | { phase: 'failed', error: unknown }): void {
    this.refitsRunning--
    if (a.dropped) {
      a.refit = { phase: 'none' }
      for (const w of this.refitWaiters.splice(0)) w()
      return this.notify()
    }
    a.refit = phase
    this.schedule(a)
  }

  /** The actor's household: already resident, rehydrated from its snapshot, or new. */
  private load(a: Actor): Household {
    if (a.household) return a.household
    const stored = this.store.load(a.account)
    if (stored) {
      a.household = Household.fromSnapshot(a.account, stored.snapshot, this.householdOptions)
      a.lastPos = stored.seq
      a.timerAt = stored.timerAt
      a.stored = true
      this.counters.rehydrated++
    } else {
      a.household = new Household(a.account, this.householdOptions)
    }
    return a.household
  }

  /** Evicts least recently used idle actors beyond maxResident, their snapshots written in one transaction. */
  private passivate(): void {
    let excess = this.actors.size - this.maxResident
    if (excess <= 0) return
    const evicted: StoredHousehold[] = []
    const evictedActors: Actor[] = []
    const before: Unstored[] = []
    const gone: Actor[] = []
    for (const a of this.actors.values()) {
      if (excess <= 0) break
      if (!a.idle || a.queued) continue
      if (a.changed && a.household) {
        before.push(unstored(a))
        evicted.push(this.stored(a))
        evictedActors.push(a)
      }
      gone.push(a)
      excess--
    }
    if (evicted.length > 0) {
      try {
        this.store.commit({ households: evicted, positions: new Map() })
      } catch {
        // nothing is evicted unwritten: they stay resident and the next checkpoint tries again (and reports the error)
        evictedActors.forEach((a, i) => this.unstore(a, before[i]!, evicted[i]!))
        return
      }
    }
    for (const a of gone) {
      this.actors.delete(a.account)
      this.dirty.delete(a)
    }
    this.counters.passivated += gone.length
    this.counters.snapshotsWritten += evicted.length
  }

  /**
   * Runs fn on an account's household at a point where no refit of it is under way, so that fn may change
   * it (erasure, retention): the resident household, else one rehydrated from its snapshot (not made
   * resident), else undefined. `persist()` returns the household's snapshot record as it is after fn's
   * changes and counts it as stored (the caller commits it, with whatever must go in the same transaction);
   * call it once fn has changed the household, or not at all.
   */
  async modify<R>(account: string, fn: (h: Household | undefined, persist: () => StoredHousehold) => R): Promise<R> {
    for (;;) {
      const a = this.actors.get(account)
      if (!a || a.refit.phase === 'none' || a.dropped) break
      // its refit is out (or back and not yet applied): wait for the turn that applies it
      await new Promise<void>((resolve) => this.refitWaiters.push(resolve))
    }
    const a = this.actors.get(account)
    if (a && !a.dropped) {
      const h = this.load(a)
      return fn(h, () => this.stored(a))
    }
    return modifyInStore(this.store, account, this.householdOptions, fn)
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
    a.household = undefined
    this.clock.forget(a.partition, account)
    this.actors.delete(account)
    this.dirty.delete(a)
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
    return this.delivered.get(partition) ?? 0
  }

  /** Journeys resident households completed and no checkpoint has stored yet (the store holds the rest). */
  unstoredJourneys(each: (r: JourneyRecord, account: string) => void): void {
    for (const [account, a] of this.actors) for (const r of a.household?.journeys?.unstored ?? []) each(r, account)
  }

  /** Loaded households (for queries); loads a passivated one without making it resident. */
  peek(account: string): Household | undefined {
    const a = this.actors.get(account)
    if (a?.household) return a.household
    const stored = this.store.load(account)
    return stored ? Household.fromSnapshot(account, stored.snapshot, this.householdOptions) : undefined
  }
}

/**
 * Runs fn on an account's household as its store holds it (not resident anywhere: a stopped engine's file, or
 * a passivated actor): the household rehydrated from its snapshot, else undefined. `persist` is as in
 * ActorRuntime.modify.
 */
export function modifyInStore<R>(store: SnapshotStore, account: string, options: HouseholdOptions, fn: (h: Household | undefined, persist: () => StoredHousehold) => R): R {
  const stored = store.load(account)
  if (!stored) return fn(undefined, () => { throw new IdrError('NOT_FOUND', `no household ${account} to persist`) })
  const h = Household.fromSnapshot(account, stored.snapshot, options)
  return fn(h, () => householdRecord(account, stored.partition, stored.seq, h, stored.timerAt))
}

/** What stored() changes on an actor, to undo it when the write fails. */
interface Unstored {
  readonly stored: boolean
  readonly unpersistedFrom: number
}

const unstored = (a: Actor): Unstored => ({ stored: a.stored, unpersistedFrom: a.unpersistedFrom })

function cloneTask(t: RefitTask): RefitTask {
  return { ...t, slot: t.slot.slice(), w: t.w.slice(), dur: t.dur.slice(), current: t.current.slice() }
}
