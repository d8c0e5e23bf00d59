// The runtime's persistence: which actors hold state or input that no stored snapshot covers, what each
// partition is covered up to, and the writes that move both on (checkpoints, evictions, writes for erasure and
// retention), with the undo of a write that failed. The runtime decides when; this decides what is written.
import { performance } from 'node:perf_hooks'
import { POSITION_STRIDE, storedRecord, type SnapshotStore, type StoredHousehold } from '../ports/store.js'
import type { Actor } from './actor.js'
import type { Counters } from './counters.js'
import type { EventClock } from './event-time.js'
import type { ActorHandler } from './handler.js'

/** A budgeted checkpoint looks at the clock after this many households. */
const CHECKPOINT_CHECK_EVERY = 8

export interface CheckpointResult {
  readonly households: number
  readonly positions: ReadonlyMap<number, number>
  /** Nothing was left to write. */
  readonly complete: boolean
}

export class Persistence<S, R> {
  /** Actors holding input that no stored snapshot covers, or queued input. */
  readonly dirty = new Set<Actor<S, R>>()
  /** partition → the last message sequence whose events were all enqueued. */
  private readonly delivered = new Map<number, number>()
  /** partition → sequence covered by the last checkpoint. */
  readonly covered: Map<number, number>
  private lastCheckpointAt = performance.now()

  constructor(
    private readonly store: SnapshotStore,
    private readonly handler: Pick<ActorHandler<S, unknown, unknown, R>, 'snapshot' | 'untake'>,
    private readonly clock: EventClock,
    private readonly counters: Counters,
  ) {
    this.covered = store.positions()
  }

  /** Milliseconds since the last complete checkpoint (one that wrote every changed household). */
  get lagMs(): number {
    return this.dirty.size === 0 ? 0 : performance.now() - this.lastCheckpointAt
  }

  /** Every event of the message at this sequence has been enqueued (or rejected before the runtime). */
  markDelivered(partition: number, seq: number): void {
    const before = this.delivered.get(partition) ?? 0
    if (seq > before) this.delivered.set(partition, seq)
  }

  /** partition → the last message sequence delivered (erasures cover input up to it). */
  deliveredUpTo(partition: number): number {
    return this.delivered.get(partition) ?? 0
  }

  /**
   * Writes changed households that can be snapshotted, with the positions they cover, in one transaction.
   * With a budget it stops once the budget is spent (checked every CHECKPOINT_CHECK_EVERY households), so that
   * a checkpoint is a short pause of the event path rather than one long one; the households it wrote go to
   * the back, so successive budgeted checkpoints get through all of them.
   */
  checkpoint(budgetMs = Infinity): CheckpointResult {
    const households: StoredHousehold[] = []
    const written: Actor<S, R>[] = []
    const before: Unstored[] = []
    const deadline = performance.now() + budgetMs
    let complete = true
    for (const a of this.dirty) {
      if (a.changed && a.state && a.offload.phase === 'none') {
        if (written.length > 0 && written.length % CHECKPOINT_CHECK_EVERY === 0 && performance.now() >= deadline) {
          complete = false
          break
        }
        before.push(unstored(a))
        households.push(this.stored(a))
        written.push(a)
      } else if (!a.changed && a.idle) {
        this.dirty.delete(a)
      }
    }
    for (const a of written) {
      this.dirty.delete(a)
      if (!a.idle) this.dirty.add(a)
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

  /**
   * Writes the changed ones of idle actors about to leave memory, in one transaction; false (nothing written,
   * every actor as it was) when the write failed: they stay resident and the next checkpoint tries again.
   */
  evict(actors: readonly Actor<S, R>[]): boolean {
    const changed = actors.filter((a) => a.changed && a.state)
    if (changed.length > 0) {
      const before = changed.map(unstored)
      const records = changed.map((a) => this.stored(a))
      try {
        this.store.commit({ households: records, positions: new Map() })
      } catch {
        changed.forEach((a, i) => this.unstore(a, before[i]!, records[i]!))
        return false
      }
    }
    for (const a of actors) this.dirty.delete(a)
    this.counters.snapshotsWritten += changed.length
    return true
  }

  /** The snapshot record of a loaded actor, with the side outputs it produced since; marks it persisted. */
  stored(a: Actor<S, R>): StoredHousehold {
    const record = storedRecord(a.account, a.partition, a.lastPos, this.handler.snapshot(a.state!), a.timerAt)
    a.changed = false
    a.stored = true
    a.unpersistedFrom = Infinity
    return record
  }

  /** Undoes stored() after its commit failed: the actor is changed again and gets its side outputs back. */
  private unstore(a: Actor<S, R>, was: Unstored, record: StoredHousehold): void {
    a.changed = true
    a.stored = was.stored
    a.unpersistedFrom = was.unpersistedFrom
    if (a.state && record.journeys && record.journeys.length > 0) this.handler.untake(a.state, { bytes: record.snapshot, journeys: record.journeys })
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
}

/** What stored() changes on an actor, to undo it when the write fails. */
interface Unstored {
  readonly stored: boolean
  readonly unpersistedFrom: number
}

const unstored = (a: Actor<unknown, unknown>): Unstored => ({ stored: a.stored, unpersistedFrom: a.unpersistedFrom })
