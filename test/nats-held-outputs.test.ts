// Outputs published while the NATS connection is down are held and sent, in order, once it is back (nats.js
// 2.29 itself drops its outbound buffer at every reconnect attempt). A JetStream stream over idr.out.> on the
// server, which survives the restart, is the witness of what arrived.
import { connect } from 'nats'
import { afterEach, describe, expect, it } from 'vitest'
import { HeldOutputs } from '../src/transport/held-outputs.js'
import { NatsBus, type ConnectionEvent } from '../src/transport/nats.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'

const cleanups: (() => Promise<unknown> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function until(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('outputs across a lost NATS connection', () => {
  it('holds what is published while disconnected and sends it in order after the reconnect', async () => {
    const server: NatsServerHandle = await startNatsServer({ jetstream: true })
    cleanups.push(() => server.stop())
    const admin = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 })
    cleanups.push(() => admin.close())
    const jsm = await admin.jetstreamManager()
    await jsm.streams.add({ name: 'OUT', subjects: ['idr.out.>'] })

    const events: ConnectionEvent[] = []
    const bus = await NatsBus.connect({ url: server.url, mode: 'core', partitions: [0], partitionsOf: 1, onConnection: (e) => events.push(e) })
    cleanups.push(() => bus.close())
    bus.publish('idr.out.assign.before', new Uint8Array([0]))
    await bus.nc.flush()

    await server.halt()
    await until('the bus to see the disconnect', () => bus.connection.state === 'disconnected')
    for (let i = 1; i <= 500; i++) bus.publish(`idr.out.assign.acct-${i % 7}`, new Uint8Array([i & 0xff, i >> 8]))
    await server.resume()
    await until('the reconnect', () => events.some((e) => e.type === 'reconnect'))
    await bus.nc.flush()

    const back = events.find((e) => e.type === 'reconnect')
    expect(back).toMatchObject({ heldOutputs: 500, droppedOutputs: 0 })
    let stored = 0
    for (const end = Date.now() + 10_000; stored < 501 && Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      stored = (await jsm.streams.info('OUT')).state.messages
    }
    expect(stored).toBe(501)
    // in order: message k + 1 of the stream is output k
    for (const k of [1, 2, 250, 500]) {
      const m = await jsm.streams.getMessage('OUT', { seq: k + 1 })
      expect([m.data[0]! | (m.data[1]! << 8)]).toEqual([k])
    }
  }, 60_000)

  it('drops what goes past its byte bound and counts it', () => {
    const held = new HeldOutputs(10)
    expect(held.hold('a', new Uint8Array(6))).toBe(true)
    expect(held.hold('b', new Uint8Array(6))).toBe(false)
    expect(held.hold('c', new Uint8Array(4))).toBe(true)
    const sent: string[] = []
    expect(held.release((s) => sent.push(s))).toEqual({ sent: 2, dropped: 1 })
    expect(sent).toEqual(['a', 'c'])
    expect(held.size).toBe(0)
  })
})
