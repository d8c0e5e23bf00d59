// The engine embedded in one process, without NATS and without msgpack in the caller's code: plain event
// objects in, plain assignment and dead-letter objects out. Underneath it is the same stack as `idr serve
// --nats embedded`: the in-process bus (msgpack stays its wire format, so the same ingress checks every
// event), the engine, the store given. docs/operations.md, "Embedded".
import { decode, encode } from '@msgpack/msgpack'
import type { DlqRecord } from '../ingress/ingress.js'
import { isToken } from '../contracts/token.js'
import type { Assignment } from '../model/household.js'
import { subjects, DEFAULT_PREFIX } from '../contracts/subjects.js'
import { InProcessBus } from '../transport/in-process.js'
import { Engine, type EngineOptions, type EngineStats } from './engine.js'
import { OptionError } from '../options/check.js'

/** The engine's options without the bus (the in-process one is made here). */
export type EmbeddedOptions = Omit<EngineOptions, 'bus'>

/** A change of a household's persons (`<prefix>.out.persons.<account>`). */
export interface PersonsChange {
  readonly account: string
  readonly changes: readonly Record<string, unknown>[]
}

/** Listeners; each returns its unsubscribe function. */
export interface EmbeddedEngine {
  readonly engine: Engine
  /** Starts the engine (call once, before push). */
  start(): Promise<void>
  /**
   * Pushes one event or a batch (plain objects, the schema of docs/events.md). Resolves once the bus has
   * queued them; waits while it is full (backpressure). Bad events come back through onDeadLetter.
   */
  push(events: object | readonly object[]): Promise<void>
  onAssignment(fn: (a: Assignment) => void): () => void
  onPersons(fn: (c: PersonsChange) => void): () => void
  onDeadLetter(fn: (r: DlqRecord) => void): () => void
  /** The engine's counters (the idr.api.stats reply). */
  stats(): EngineStats
  /** Processes everything pushed, writes the last snapshots and stops (Engine.drain). */
  drain(timeoutMs?: number): Promise<void>
}

/** The subject token a batch is pushed on when its first event's account is not a token (the ingress refuses that event). */
const FALLBACK_TOKEN = 'embedded'

/** An engine in this process that takes plain event objects and gives plain outputs. */
export function createEmbedded(options: EmbeddedOptions): EmbeddedEngine {
  if (typeof options !== 'object' || options === null) throw new OptionError('createEmbedded needs an options object with store and pseudonymKey')
  const prefix = options.prefix ?? DEFAULT_PREFIX
  const bus = new InProcessBus({ prefix })
  const engine = new Engine({ ...options, bus })
  const s = subjects(prefix)
  const listen = <T>(pattern: string, fn: (value: T) => void): () => void => bus.subscribe(pattern, (_subject, data) => fn(decode(data) as T))
  return {
    engine,
    start: () => engine.start(),
    async push(events) {
      // always a batch: a batch may mix accounts, so each event is routed (or refused) by its own account
      const batch = Array.isArray(events) ? events : [events]
      if (batch.length === 0) return
      const first = (batch[0] as { account?: unknown }).account
      await bus.send(s.eventsOf(isToken(first) ? first : FALLBACK_TOKEN), encode(batch))
    },
    onAssignment: (fn) => listen<Assignment>(s.allAssignments, fn),
    onPersons: (fn) => listen<PersonsChange>(s.allPersons, fn),
    onDeadLetter: (fn) => listen<DlqRecord>(s.dlq, fn),
    stats: () => engine.stats(),
    async drain(timeoutMs) {
      await bus.whenDelivered()
      await engine.drain(timeoutMs)
    },
  }
}
