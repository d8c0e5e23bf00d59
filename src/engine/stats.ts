// The idr.api.stats reply: the engine's counters and the runtime's state at one moment.
import type { AssignmentStage, Counters } from '../runtime/counters.js'
import type { AccountRuntime } from './account-handler.js'

/**
 * The idr.api.stats reply (field names are a contract: scripts and tests rely on them). The counts are the
 * runtime's Counters as they are now (see src/runtime/counters.ts for what each one counts); /metrics reads
 * the same record, so each count equals its series there.
 */
export interface EngineStats {
  messagesIn: number
  eventsIn: number
  eventsApplied: number
  /** Events dead-lettered (a shed message counts the events it holds); rejectedByReason splits it. */
  eventsRejected: number
  /** Replayed positions already applied plus event ids already seen. */
  duplicatesIgnored: number
  /** Valid events of accounts in partitions this process does not own (several processes read the same input). */
  eventsNotOwned: number
  erasedSkipped: number
  notPlayback: number
  dlqRecords: number
  assignmentsOut: number
  households: number
  residentActors: number
  queued: number
  refitsInFlight: number
  snapshotLagMs: number
  checkpoints: number
  snapshotsWritten: number
  passivated: number
  rehydrated: number
  refitsRun: number
  /** Event-time timers fired (quiet accounts whose sessions the partition's event time closed). */
  timersFired: number
  /** Actor turns that threw and were retried after a backoff. */
  turnsFailed: number
  /** DLQ reason code → events rejected with it (only codes seen so far). */
  rejectedByReason: Record<string, number>
  assignmentsByStage: Record<AssignmentStage, number>
  positions: Record<string, number>
}

/** The stats reply as things are now. */
export function engineStats(c: Counters, runtime: AccountRuntime, storedHouseholds: number): EngineStats {
    return {
      messagesIn: c.messagesIn,
      eventsIn: c.eventsIn,
      eventsApplied: c.eventsApplied,
      eventsRejected: c.eventsRejected,
      duplicatesIgnored: c.duplicatesIgnored,
      eventsNotOwned: c.eventsNotOwned,
      erasedSkipped: c.erasedSkipped,
      notPlayback: c.notPlayback,
      dlqRecords: c.dlqRecords,
      assignmentsOut: c.assignmentsOut,
      households: storedHouseholds + runtime.unstoredActors,
      residentActors: runtime.residentActors,
      queued: runtime.queued,
      refitsInFlight: runtime.refitsInFlight,
      snapshotLagMs: Math.round(runtime.snapshotLagMs),
      checkpoints: c.checkpoints,
      snapshotsWritten: c.snapshotsWritten,
      passivated: c.passivated,
      rehydrated: c.rehydrated,
      refitsRun: c.refitsRun,
      timersFired: c.timersFired,
      turnsFailed: c.turnsFailed,
      rejectedByReason: Object.fromEntries(c.rejectedByReason),
      assignmentsByStage: { ...c.assignmentsByStage },
      positions: Object.fromEntries([...runtime.positions()].map(([p, s]) => [String(p), s])),
    }
  }
