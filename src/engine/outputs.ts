// What the engine publishes: assignments and person changes of each account, and dead-letter records, each on
// its subject (src/contracts/subjects.ts) with one shared encoder, counted in the one Counters record.
import { performance } from 'node:perf_hooks'
import { Encoder } from '@msgpack/msgpack'
import { SubjectError } from '../contracts/token.js'
import type { Subjects } from '../contracts/subjects.js'
import type { DlqRecord } from '../ingress/ingress.js'
import type { HouseholdOutput } from '../model/household.js'
import type { Envelope } from '../runtime/actor.js'
import type { Bus } from '../runtime/bus.js'
import type { Counters } from '../runtime/counters.js'
import type { EngineLog, EngineMetricsPort } from './engine.js'

export class Outputs {
  /** One encoder for every output (a fresh one per message costs its buffer each time); encode() copies out. */
  readonly encoder = new Encoder({ ignoreUndefined: true })

  constructor(
    private readonly bus: Bus,
    private readonly s: Subjects,
    private readonly counts: Counters,
    private readonly log: EngineLog,
    private readonly metrics: EngineMetricsPort | undefined,
  ) {}

  /** Publishes what a household produced; the runtime has counted what it did with the event (cause). */
  output(account: string, out: HouseholdOutput, cause: Envelope | undefined): void {
    try {
      this.publish(account, out, cause)
    } catch (err) {
      // the subject builders refuse a token that breaks the rule; validation makes that unreachable, so it is a bug: loud, not fatal
      if (!(err instanceof SubjectError)) throw err
      this.log.error({ err: err.message }, 'output not published: its subject would break the token rule')
    }
  }

  private publish(account: string, out: HouseholdOutput, cause: Envelope | undefined): void {
    const now = performance.now()
    for (const a of out.assignments) {
      this.bus.publish(this.s.assign(account), this.encoder.encode(a))
      this.counts.assignmentsByStage[a.stage === 'update' ? 'change' : a.stage]++
    }
    if (out.assignments.length > 0 && cause) this.metrics?.observeLatency((now - cause.receivedAt) / 1000)
    if (out.changes.length > 0) this.bus.publish(this.s.persons(account), this.encoder.encode({ account, changes: out.changes }))
    for (const r of out.rejected) {
      if (r.reason !== 'late' && r.reason !== 'clock-ahead') continue
      const code = r.reason === 'late' ? 'LATE' : 'CLOCK_AHEAD'
      const message = r.reason === 'late' ? 'event time behind the watermark' : 'event stamped ahead of its arrival'
      // the message's hash is computed here, for the first of its events refused, and only then
      const o = cause?.origin
      this.dlq({
        v: 1, code, message, subject: o?.subject ?? this.s.eventsOf(account), bytes: o?.bytes ?? 0, sha256: o?.sha256 ?? '', eventId: r.eventId, at: Date.now(),
      })
    }
  }

  /** Publishes one DLQ record standing for `events` rejected events (a record of one event unless told). */
  dlq(r: DlqRecord, events = 1): void {
    this.counts.deadLettered(r.code, events)
    this.bus.publish(this.s.dlq, this.encoder.encode(r))
  }
}
