// The landing relay's transform (docs/privacy.md, "The landing path"): one raw message from the landing
// stream → keyed messages, one per partition it holds events of, each event validated and pseudonymised by the
// ingress exactly as the engine would; plus a dead-letter record for everything refused. A partition's events
// of one account go on that account's subject (<prefix>.evk.<p>.<account>, what erasure scans first); those of
// several accounts stay together on <prefix>.evk.<p>.mixed.accounts, since splitting a publisher's batch into
// one message per account costs a keyed publish per event (measured in docs/benchmarks.md, "The landing path"). Pure: the transport
// (src/transport/landing.ts) publishes what it returns and acknowledges the landing message afterwards.
import { createHash } from 'node:crypto'
import { Encoder } from '@msgpack/msgpack'
import type { IdrEvent } from '../model/events.js'
import { partitionOf } from '../contracts/partition.js'
import { subjects, type Subjects } from '../contracts/subjects.js'
import type { DlqRecord, Ingress } from './ingress.js'

/** One message for the keyed stream: one partition's events from one landing message, in their order. */
export interface KeyedMessage {
  /** <prefix>.evk.<partition>.<account> (one account), or <prefix>.evk.<partition>.mixed.accounts */
  readonly subject: string
  /** msgpack array of the pseudonymised events. */
  readonly data: Uint8Array
  /**
   * The Nats-Msg-Id: a hash of the partition and its events' ids, so that relaying the same landing message again
   * (after a crash between the keyed publish and the landing acknowledgement) is refused as a duplicate.
   */
  readonly msgId: string
  readonly events: number
}

export interface Relayed {
  readonly keyed: readonly KeyedMessage[]
  readonly rejects: readonly DlqRecord[]
}

/** Turns landing messages into keyed ones; one per relay loop (its ingress reuses scratch space). */
export class KeyedRelay {
  readonly #s: Subjects
  readonly #encoder = new Encoder({ ignoreUndefined: true })

  constructor(private readonly ingress: Ingress, private readonly partitionsOf: number) {
    this.#s = subjects(ingress.prefix)
  }

  /** The keyed messages and dead-letter records of one landing message received at `nowMs`. Never throws on bad input. */
  relay(subject: string, data: Uint8Array, nowMs: number): Relayed {
    // the landing stream holds <prefix>.ev.> and <prefix>.evp.> only; were a keyed subject relayed, the ingress would
    // still refuse any device or ip on it that is not a pseudonym (NOT_PSEUDONYMISED)
    const { events, rejects } = this.ingress.decode(subject, data, nowMs)
    const byPartition = new Map<number, IdrEvent[]>()
    for (const e of events) {
      const p = partitionOf(e.account, this.partitionsOf)
      const list = byPartition.get(p)
      if (list) list.push(e)
      else byPartition.set(p, [e])
    }
    const keyed: KeyedMessage[] = []
    for (const [p, list] of byPartition) {
      const id = createHash('sha256').update(String(p))
      for (const e of list) id.update('\0').update(e.id)
      const account = list[0]!.account
      keyed.push({
        subject: list.every((e) => e.account === account) ? this.#s.keyedEvents(p, account) : this.#s.keyedMixed(p),
        data: this.#encoder.encode(list),
        msgId: id.digest('base64url').slice(0, 22),
        events: list.length,
      })
    }
    return { keyed, rejects }
  }
}
