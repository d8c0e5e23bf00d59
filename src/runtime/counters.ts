// Every count of one engine process, kept in one record that the runtime owns and that only the engine and
// the runtime increment. idr.api.stats (Engine.stats()) and /metrics (src/api/metrics.ts) both read it, so
// they agree at every moment. Cumulative since the process started, as Prometheus counters are.
//
// Where an event that passed the ingress ends, each in exactly one count (while none is queued):
//   eventsIn = eventsApplied + duplicatesIgnored + notPlayback + erasedSkipped + eventsNotOwned
//            + the events dead-lettered after the ingress (LATE, CLOCK_AHEAD)

/** When an assignment was published: on session open, on a material change, on close (../shared/DESIGN.md). */
export type AssignmentStage = 'open' | 'change' | 'close'

export class Counters {
  /** Bus messages handed to the engine, before anything is looked at (shed ones too). */
  messagesIn = 0
  /** Events that passed the ingress: decoded, valid, pseudonymised. */
  eventsIn = 0
  /** Events a household took: pushed to it and not refused (duplicate id, late, clock ahead, not playback). */
  eventsApplied = 0
  /** Events of a replayed input position the household already applied (its snapshot covers it). */
  duplicatesReplayed = 0
  /** Events whose id the household has already seen (a publisher's retry, a duplicate in a batch). */
  duplicatesById = 0
  /** Events of accounts in partitions this process does not own (plain subjects, several processes). */
  eventsNotOwned = 0
  /** Replayed events skipped because an erasure took them back (docs/privacy.md). */
  erasedSkipped = 0
  /** Touch and convert events of a household that keeps no journeys: valid, but nothing in it takes them. */
  notPlayback = 0
  /** Records published to the DLQ subject. */
  dlqRecords = 0
  /** Events dead-lettered, all reasons: a record of one event counts 1, a shed message the events it holds. */
  eventsRejected = 0
  /** DLQ reason code → events dead-lettered with it (the codes are a closed set: DLQ codes, never free text). */
  readonly rejectedByReason = new Map<string, number>()
  /** Assignments published, by stage. */
  readonly assignmentsByStage: Record<AssignmentStage, number> = { open: 0, change: 0, close: 0 }
  /** Complete checkpoints: every changed household written with the positions it covers. */
  checkpoints = 0
  /** Household snapshots written, by checkpoints and by passivation. */
  snapshotsWritten = 0
  /** Actors evicted from memory (their snapshots written first). */
  passivated = 0
  /** Households loaded back from their stored snapshots. */
  rehydrated = 0
  /** Refits sent to the pool. */
  refitsRun = 0
  /** Actor turns that threw (a snapshot that could not be loaded, say) and were retried after a backoff. */
  turnsFailed = 0
  /** Event-time timers fired: ticks queued for accounts their partition's event time had passed (src/runtime/event-time.ts). */
  timersFired = 0

  /** Both kinds of duplicate: replayed positions and repeated event ids (an event is only ever one of them). */
  get duplicatesIgnored(): number {
    return this.duplicatesReplayed + this.duplicatesById
  }

  /** Assignments published, all stages. */
  get assignmentsOut(): number {
    const s = this.assignmentsByStage
    return s.open + s.change + s.close
  }

  /** One DLQ record published, standing for `events` events (0 for an empty batch). */
  deadLettered(reason: string, events: number): void {
    this.dlqRecords++
    this.eventsRejected += events
    this.rejectedByReason.set(reason, (this.rejectedByReason.get(reason) ?? 0) + events)
  }
}
