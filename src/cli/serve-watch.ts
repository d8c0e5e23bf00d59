// What `idr serve` says when input does not arrive: a warning when nothing has come in for a while (a client
// cannot see whether publishers are connected, so it names the usual causes instead), and, in JetStream mode
// with a stream that holds only the mapped subjects, a warning when events arrive on the plain subjects, which
// then reach neither the stream nor the engine (a server without the partition mapping).
import type { Logger } from 'pino'

/** Warn when no input message has arrived this long after start (ms); 0 turns it off. */
export const DEFAULT_IDLE_WARNING_MS = 60_000
/** At most one unstored-input warning per this many ms. */
const UNSTORED_WARNING_EVERY_MS = 60_000

export interface InputWatchOptions {
  log: Logger
  /** Input messages received so far (idr.api.stats messagesIn). */
  messagesIn: () => number
  idleWarningMs: number
  prefix: string
  of: number
  jetstream: boolean
}

/** Starts the idle check; returns the function that stops it. */
export function watchInput(o: InputWatchOptions): () => void {
  if (o.idleWarningMs === 0) return () => {}
  const timer = setInterval(() => {
    if (o.messagesIn() > 0) return clearInterval(timer)
    o.log.warn({
      idleMs: o.idleWarningMs,
      subjects: [`${o.prefix}.ev.<account>`, `${o.prefix}.evp.<partition>.<account>`],
      likelyCauses: [
        `publishers use another prefix than ${o.prefix}, or more than one token after ${o.prefix}.ev.`,
        'their user may not publish there: nats-server 2.9 checks publish permissions after the partition mapping, so the publisher needs idr.evp.*.* (docs/examples/nats-server.conf)',
        `the server's partition(N,1) mapping has another N than --of ${o.of}`,
        ...(o.jetstream ? ['the stream was created by hand without these subjects (docs/operations.md, "Running")'] : []),
        'publishers send to another server or cluster',
      ],
    }, 'no input received yet: if publishers are sending, check the likely causes')
  }, o.idleWarningMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** A rate-limited warning for events that land on plain subjects the JetStream stream does not hold. */
export function unstoredInputWarning(log: Logger, prefix: string, stream: string): () => void {
  let last = -Infinity
  let count = 0
  return () => {
    count++
    const now = Date.now()
    if (now - last < UNSTORED_WARNING_EVERY_MS) return
    last = now
    log.warn({ messages: count, stream, subject: `${prefix}.ev.>` },
      `events arrive on ${prefix}.ev.<account> unmapped, but stream ${stream} holds only ${prefix}.evp.>: they are neither stored nor applied. ` +
      `Add ${prefix}.ev.> to the stream's subjects, or the partition mapping of docs/examples/nats-server.conf to the server`)
  }
}
