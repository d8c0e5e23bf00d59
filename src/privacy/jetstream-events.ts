// The engine's JetStream input stream as erasure sees it (EventStream): an account's stored messages, their
// events checked and pseudonymised as the ingress does, and secure deletion by sequence (src/privacy/stream-erase.ts).
import type { JetStreamManager } from 'nats'
import { validateEvent, type IdrEvent } from '../model/events.js'
import type { Pseudonymiser } from './pseudonymise.js'
import { partitionOf } from '../runtime/partition.js'
import { subjects } from '../transport/subjects.js'
import type { EventStream } from './erase.js'
import { deleteMessages, scanSubject } from './stream-erase.js'

export interface JetStreamEventsOptions {
  jsm: JetStreamManager
  stream: string
  prefix: string
  partitionsOf: number
  /** The ingress's current pseudonymiser: stored raw device ids become the pseudonyms the engine uses. */
  pseudonymiser: Pseudonymiser
}

/** EventStream over the mapped subjects <prefix>.evp.<partition>.<account>. */
export function jetStreamEvents(o: JetStreamEventsOptions): EventStream {
  return {
    async *scan(account: string) {
      const subject = subjects(o.prefix).mappedEvents(partitionOf(account, o.partitionsOf), account)
      for await (const m of scanSubject(o.jsm, o.stream, subject)) {
        const events: IdrEvent[] = []
        for (const raw of m.events) {
          let e: IdrEvent
          try {
            e = validateEvent(raw)
          } catch {
            continue // what the ingress refused was never applied; the message still goes when others in it match
          }
          events.push({ ...e, device: o.pseudonymiser.device(e.device), ip: undefined })
        }
        yield { seq: m.seq, events }
      }
    },
    deleteMessages: (seqs) => deleteMessages(o.jsm, o.stream, seqs),
  }
}
