// The test helper that runs a real nats-server: it starts on a free port, carries messages, and stops cleanly;
// and exampleConfig, which turns docs/examples/nats-server.conf into a config for it.
import { existsSync } from 'node:fs'
import { connect, Events, StringCodec } from 'nats'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { partitionOf } from '../src/contracts/partition.js'
import { exampleConfig, startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'

const sc = StringCodec()

describe('startNatsServer', () => {
  let server: NatsServerHandle
  beforeAll(async () => { server = await startNatsServer({ jetstream: true }) })
  afterAll(async () => { await server?.stop() })

  it('serves core publish and subscribe on its loopback url', async () => {
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`)
    const nc = await connect({ servers: server.url })
    try {
      const sub = nc.subscribe('smoke.>', { max: 1 })
      nc.publish('smoke.hello', sc.encode('hi'))
      for await (const m of sub) {
        expect(m.subject).toBe('smoke.hello')
        expect(sc.decode(m.data)).toBe('hi')
      }
    } finally {
      await nc.close()
    }
  })

  it('has JetStream ready when asked for it', async () => {
    const nc = await connect({ servers: server.url })
    try {
      const info = await (await nc.jetstreamManager()).getAccountInfo()
      expect(info.streams).toBe(0)
    } finally {
      await nc.close()
    }
  })

  it('stops: the process exits, its dir is removed, clients can no longer connect', async () => {
    const own = await startNatsServer()
    expect(existsSync(own.dir)).toBe(true)
    await own.stop()
    await own.stop() // idempotent
    expect(existsSync(own.dir)).toBe(false)
    await expect(connect({ servers: own.url, reconnect: false, timeout: 500 })).rejects.toThrow()
  })

  it('halts and resumes on the same port, keeping its JetStream store; clients reconnect', async () => {
    const own = await startNatsServer({ jetstream: true })
    const nc = await connect({ servers: own.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
    try {
      const jsm = await nc.jetstreamManager()
      await jsm.streams.add({ name: 'KEPT', subjects: ['kept.>'] })
      await nc.jetstream().publish('kept.one', sc.encode('1'))
      const reconnected = (async () => {
        for await (const st of nc.status()) if (st.type === Events.Reconnect) return
      })()
      await own.halt()
      await own.halt() // idempotent while halted
      await expect(connect({ servers: own.url, reconnect: false, timeout: 500 })).rejects.toThrow()
      await own.resume()
      expect(existsSync(own.dir)).toBe(true)
      // a request made while disconnected would be lost: nats.js 2.29 empties its buffer at each reconnect attempt
      await reconnected
      expect((await jsm.streams.info('KEPT')).state.messages).toBe(1)
    } finally {
      await nc.close()
      await own.stop()
    }
    expect(existsSync(own.dir)).toBe(false)
  })

  it('runs two servers side by side on different ports', async () => {
    const other = await startNatsServer()
    try {
      expect(other.port).not.toBe(server.port)
    } finally {
      await other.stop()
    }
  })

  it('reports a config error with the server log', async () => {
    await expect(startNatsServer({ config: 'this is { not a config' })).rejects.toThrow(/exited .*before it was ready/s)
  })

  it('says how to install nats-server when the executable is missing', async () => {
    vi.stubEnv('NATS_SERVER', '/nonexistent/nats-server')
    try {
      await expect(startNatsServer()).rejects.toThrow(/apt-get install nats-server/)
    } finally {
      vi.unstubAllEnvs()
    }
  })
  it('runs the example config with another partition count substituted', async () => {
    const passwords = { publisher: 'p', engine: 'e', admin: 'a' }
    const own = await startNatsServer({ config: exampleConfig({ partitions: 3, passwords }) })
    const engine = await connect({ servers: own.url, user: 'engine', pass: 'e' })
    const publisher = await connect({ servers: own.url, user: 'publisher', pass: 'p' })
    try {
      const accounts = ['a', 'b', 'c', 'd', 'e', 'f']
      const sub = engine.subscribe('idr.evp.>', { max: accounts.length })
      await engine.flush()
      for (const a of accounts) publisher.publish(`idr.ev.${a}`, sc.encode('{}'))
      const subjects: string[] = []
      for await (const m of sub) subjects.push(m.subject)
      expect(subjects).toEqual(accounts.map((a) => `idr.evp.${partitionOf(a, 3)}.${a}`))
    } finally {
      await Promise.all([engine.close(), publisher.close()])
      await own.stop()
    }
  })

  it('rejects a partition count that is not a positive integer', () => {
    expect(() => exampleConfig({ partitions: 0, passwords: { publisher: 'p', engine: 'e', admin: 'a' } })).toThrow(/positive integer/)
  })
})
