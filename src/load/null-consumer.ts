// The null consumer of `idr load` (a forked process, driven over IPC): it receives the same messages the
// engine would, on the same server, decodes them with the same msgpack library and counts the events, and
// does nothing else. Its rate is the ceiling each engine figure is divided by: what NATS + msgpack alone do
// on this machine.
import { decode } from '@msgpack/msgpack'
import { connect, DeliverPolicy } from 'nats'
import { NULL_REPORT_MS, type FromNull, type NullConfig, type ToNull } from './protocol.js'

const send = (m: FromNull): void => { process.send?.(m) }

async function main(c: NullConfig): Promise<void> {
  const cpu0 = process.cpuUsage()
  const nc = await connect({ servers: c.url, name: 'idr-load-null', maxReconnectAttempts: 10 })
  let events = 0
  let messages = 0
  const count = (data: Uint8Array): void => {
    const v = decode(data)
    events += Array.isArray(v) ? v.length : 1
    messages++
  }
  const report = setInterval(() => send({ type: 'count', events, messages, at: Date.now() }), NULL_REPORT_MS)
  let stop: () => void
  if (c.stream === undefined) {
    const sub = nc.subscribe(`${c.prefix}.evp.>`, { callback: (err, msg) => { if (!err) count(msg.data) } })
    stop = () => sub.unsubscribe()
  } else {
    // as the engine reads JetStream: an ordered consumer from sequence 1, pulled in batches (the engine's
    // prefetch is 1,000); nats.js 2.29's consume() never resolved with DeliverPolicy.All against 2.9.10
    const consumer = await nc.jetstream().consumers.get(c.stream, { filterSubjects: `${c.prefix}.evp.>`, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 })
    const messagesIter = await consumer.consume({ max_messages: 1_000 })
    void (async () => { for await (const m of messagesIter) count(m.data) })()
    stop = () => messagesIter.stop()
  }
  await nc.flush()
  const finish = new Promise<void>((resolve) => process.on('message', (m: ToNull) => { if (m.type === 'finish') resolve() }))
  send({ type: 'ready' })
  await finish
  clearInterval(report)
  stop()
  const cpu = process.cpuUsage(cpu0)
  send({ type: 'result', events, messages, cpuMs: (cpu.user + cpu.system) / 1000 })
  await nc.close()
  process.disconnect?.()
}

process.once('message', (m: ToNull) => {
  if (m.type !== 'start') return
  main(m.config).catch((err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? err.message : String(err) })
    process.exitCode = 1
    process.disconnect?.()
  })
})
