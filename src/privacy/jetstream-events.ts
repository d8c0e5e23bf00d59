// The engine's JetStream input stream as erasure sees it (EventStream): an account's stored messages, their
// events checked and pseudonymised as the ingress does (the raw stream) or as the relay did (the keyed stream of the
// landing path), and secure deletion by sequence (src/privacy/stream-erase.ts).
import type { JetStreamManager } from 'nats'
import { validateEvent, type IdrEvent } from '../model/events.js'
import type { Pseudonymiser } from './pseudonymise.js'
import { partitionOf } from '../contracts/partition.js'
import { subjects } from '../contracts/subjects.js'
import type { EventStream } from './erase.js'
import { deleteMessages, scanSubject, type StoredEvents } from './stream-erase.js'

export interface JetStreamEventsOptions {
  jsm: JetStreamManager
  stream: string
  prefix: string
  partitionsOf: number
  /** The ingress's current pseudonymiser: stored raw device ids become the pseudonyms the engine uses. */
  pseudonymiser: Pseudonymiser
  /** The stream holds the plain subjects <prefix>.ev.> too (a server without the mapping): scan them as well. Default false. */
  plain?: boolean
  /**
   * The stream is the landing path's keyed stream: an account's messages are on <prefix>.evk.<p>.<account> and, with
   * other accounts' events, on <prefix>.evk.<p>.mixed.accounts; their events are pseudonymised already, under the
   * epoch current when they were relayed, and are not pseudonymised again.
   */
  keyed?: boolean
}

/**
 * EventStream over an account's subjects: the mapped <prefix>.evp.<partition>.<account>, and with `plain`
 * <prefix>.ev.<account>, merged in stream order (nats-server 2.9: one filter subject per scan).
 */
export function jetStreamEvents(o: JetStreamEventsOptions): EventStream {
  const s = subjects(o.prefix)
  async function* messagesOf(account: string): AsyncGenerator<StoredEvents> {
    const p = partitionOf(account, o.partitionsOf)
    if (o.keyed === true) {
      // the mixed messages of the partition that hold an event of the account (deleted whole, as a batch is)
      const all: StoredEvents[] = []
      for await (const m of scanSubject(o.jsm, o.stream, s.keyedEvents(p, account))) all.push(m)
      for await (const m of scanSubject(o.jsm, o.stream, s.keyedMixed(p))) {
        if (m.events.some((e) => (e as { account?: unknown }).account === account)) all.push(m)
      }
      return yield* all.sort((a, b) => a.seq - b.seq)
    }
    const mapped = scanSubject(o.jsm, o.stream, s.mappedEvents(p, account))
    if (!o.plain) return yield* mapped
    const all: StoredEvents[] = []
    for await (const m of mapped) all.push(m)
    for await (const m of scanSubject(o.jsm, o.stream, s.eventsOf(account))) all.push(m)
    yield* all.sort((a, b) => a.seq - b.seq)
  }
  return {
    async *scan(account: string) {
      for await (const m of messagesOf(account)) {
        const events: IdrEvent[] = []
        for (const raw of m.events) {
          let e: IdrEvent
          try {
            e = validateEvent(raw)
          } catch {
            continue // what the ingress refused was never applied; the message still goes when others in it match
          }
          events.push(o.keyed === true ? { ...e, ip: undefined } : { ...e, device: o.pseudonymiser.device(e.device), ip: undefined })
        }
        yield { seq: m.seq, events }
      }
    },
    deleteMessages: (seqs) => deleteMessages(o.jsm, o.stream, seqs),
  }
}
