// Hostile input through the whole engine on a real nats-server (core subjects): ≥ 100,000 fuzzed messages
// interleaved with valid events. The engine stays up, every bad message gets exactly one DLQ record with a
// reason, and every valid event is applied. Replay a failure with IDR_FUZZ_SEED (printed below).
import { decode, encode } from '@msgpack/msgpack'
import fc from 'fast-check'
import { connect, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../src/engine/engine.js'
import type { DlqRecord } from '../src/ingress/ingress.js'
import { MemoryStore } from '../src/runtime/memory-store.js'
import { NatsBus } from '../src/transport/nats.js'
import { fuzzSeed, hostileMessage, validEvent, TS_RANGE, type HostileLimits } from './helpers/hostile.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'
import { TEST_KEY } from './helpers/engine.js'
import { createHash } from 'node:crypto'

const LIMITS: HostileLimits = {
  maxMessageBytes: 16 * 1024, maxStringBytes: 512, maxBinBytes: 256, maxArrayLength: 64, maxMapEntries: 64, maxDepth: 8, maxEventsPerMessage: 1_000,
}
const HOSTILE = 100_000
const VALID = 5_000
const ACCOUNTS = Array.from({ length: 20 }, (_, i) => `fuzz-${i}`)
/** Messages in flight between the publisher and the engine at most (flow control, so core delivery drops nothing). */
const WINDOW = 2_000

describe('the engine under hostile input on NATS', () => {
  let server: NatsServerHandle
  beforeAll(async () => { server = await startNatsServer() })
  afterAll(async () => { await server?.stop() })

  it('stays up, dead-letters every bad message exactly once and applies every valid event', async () => {
    const seed = fuzzSeed()
    console.log(`hostile bus seed ${seed} (set IDR_FUZZ_SEED to repeat)`)
    const hostile = fc.sample(hostileMessage(LIMITS), { seed, numRuns: HOSTILE })
    // valid events in event-time order per account, so none is late
    const valid = fc.sample(validEvent(ACCOUNTS), { seed: seed + 1, numRuns: VALID }).map((e, i) => ({ ...e, id: `valid-${i}`, ts: TS_RANGE.min + i * 1_000 }))

    const bus = await NatsBus.connect({ url: server.url, mode: 'core', mapped: false, partitions: [0], partitionsOf: 1 })
    const engine = new Engine({ bus, store: new MemoryStore(), pseudonymKey: TEST_KEY, ingress: LIMITS })
    const nc: NatsConnection = await connect({ servers: server.url })
    const records: DlqRecord[] = []
    const dlqSub = nc.subscribe('idr.dlq', { callback: (_e, m) => records.push(decode(m.data) as DlqRecord) })
    await nc.flush()
    await engine.start()

    const expected = new Map<string, number>()
    let sent = 0
    let v = 0
    const every = Math.floor(HOSTILE / VALID)
    for (let i = 0; i < hostile.length; i++) {
      const h = hostile[i]!
      const sha = createHash('sha256').update(h.bytes).digest('hex')
      expected.set(sha, (expected.get(sha) ?? 0) + 1)
      nc.publish(`idr.ev.fuzz-${i % ACCOUNTS.length}`, h.bytes)
      sent++
      if (i % every === 0 && v < valid.length) {
        const e = valid[v++]!
        nc.publish(`idr.ev.${e.account}`, encode(e))
        sent++
      }
      if (sent % WINDOW === 0) {
        await nc.flush()
        while (engine.stats().messagesIn < sent - WINDOW) await new Promise((r) => setTimeout(r, 2))
      }
    }
    while (v < valid.length) {
      const e = valid[v++]!
      nc.publish(`idr.ev.${e.account}`, encode(e))
      sent++
    }
    await nc.flush()
    const deadline = Date.now() + 60_000
    while ((engine.stats().messagesIn < sent || records.length < HOSTILE) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    await engine.runtime.whenIdle()
    await nc.flush()

    const s = engine.stats()
    expect(engine.phase).toBe('running')
    expect(s.messagesIn).toBe(sent)
    expect(records.every((r) => typeof r.code === 'string' && r.code.length > 0)).toBe(true)
    // exactly one record per hostile message (identical hostile bytes are counted by multiplicity)
    const got = new Map<string, number>()
    for (const r of records) got.set(r.sha256, (got.get(r.sha256) ?? 0) + 1)
    expect(records.length).toBe(HOSTILE)
    const off = [...expected].filter(([sha, n]) => got.get(sha) !== n)
    expect(off.length).toBe(0)
    expect(s.eventsApplied).toBe(VALID)
    expect(s.eventsRejected).toBe(HOSTILE)
    dlqSub.unsubscribe()
    await engine.drain()
    await nc.close()
  }, 240_000)
})
