// The JetStream bus on a real nats-server: it creates its stream when missing and delivers each owned
// partition from the position after the one it is given.
import { connect } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InboundMessage } from '../src/runtime/bus.js'
import { NatsBus } from '../src/transport/nats.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'

describe('NatsBus in JetStream mode', () => {
  let server: NatsServerHandle
  beforeAll(async () => { server = await startNatsServer({ jetstream: true }) })
  afterAll(async () => { await server?.stop() })

  it('creates a missing stream over the input subjects and reads all of it from the lowest owned position', async () => {
    const nc = await connect({ servers: server.url })
    const jsm = await nc.jetstreamManager()
    const js = nc.jetstream()
    // a first bus creates the stream (it does not exist yet)
    const first = await NatsBus.connect({ url: server.url, mode: 'jetstream', stream: 'T1', partitions: [1], partitionsOf: 2 })
    await first.start(() => {}, new Map())
    await first.stopIntake()
    await first.close()
    expect((await jsm.streams.info('T1')).config.subjects).toEqual(['idr.ev.>', 'idr.evp.>'])
    for (let i = 0; i < 4; i++) await js.publish(`idr.evp.1.acct`, new Uint8Array([i]))
    await js.publish('idr.evp.0.other', new Uint8Array([9]))
    // the server starts a consumer at most one past the stream's end, so positions are given for stored messages
    const bus = await NatsBus.connect({ url: server.url, mode: 'jetstream', stream: 'T1', partitions: [1], partitionsOf: 2 })
    const got: InboundMessage[] = []
    await bus.start((m) => { got.push(m) }, new Map([[1, 2]]))
    const end = Date.now() + 10_000
    while (got.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 200))
    // sequences 1 and 2 are covered by the given position; the other partition's message comes too (the engine
    // keeps the events of its own partitions from every message: batches may mix accounts)
    expect(got.map((m) => [m.seq, m.partition, m.data[0]])).toEqual([[3, 1, 2], [4, 1, 3], [5, 0, 9]])
    expect(got.every((m) => Math.abs(m.timestampMs - Date.now()) < 60_000)).toBe(true)
    await bus.stopIntake()
    await bus.close()
    await nc.close()
  })
})
