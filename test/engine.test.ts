// The engine on the in-process bus: faithful to a direct household replay, bounded queues, fair turns,
// passivation that changes nothing, bad messages dead-lettered without losing the good events around them.
import { decode, encode } from '@msgpack/msgpack'
import { describe, expect, it } from 'vitest'
import { Engine, type EngineOptions } from '../src/engine/engine.js'
import type { DlqRecord } from '../src/ingress/ingress.js'
import { MemoryStore } from '../src/runtime/memory-store.js'
import { InProcessBus } from '../src/transport/in-process.js'
import { AssignmentLog, TEST_KEY, directAssignments, messages, simEvents } from './helpers/engine.js'

const events = simEvents(12, 21, 3)

async function run(options: Partial<EngineOptions> = {}, batch = 25, extra?: (bus: InProcessBus) => Promise<void>) {
  const bus = new InProcessBus()
  const store = new MemoryStore()
  const engine = new Engine({ bus, store, pseudonymKey: TEST_KEY, snapshotIntervalMs: 60_000, ...options })
  const log = new AssignmentLog()
  const dlq: DlqRecord[] = []
  bus.subscribe('idr.out.assign.>', (_s, data) => log.add(data))
  bus.subscribe('idr.dlq', (_s, data) => dlq.push(decode(data) as DlqRecord))
  await engine.start()
  let maxQueued = 0
  for (const m of messages(events, batch)) {
    await bus.send(`idr.ev.${m.account}`, m.data)
    maxQueued = Math.max(maxQueued, engine.runtime.queued)
  }
  await extra?.(bus)
  await engine.drain()
  return { engine, store, log, dlq, maxQueued }
}

describe('engine on the in-process bus', () => {
  it('publishes exactly the assignments a direct household replay produces', async () => {
    const { log, engine } = await run()
    const direct = directAssignments(events, 25)
    expect(log.byAccount.size).toBe(direct.size)
    for (const [account, list] of direct) {
      const got = log.byAccount.get(account)!
      expect(got.map((a) => [a.session, a.stage, a.persons])).toEqual(list.map((a) => [a.session, a.stage, a.persons]))
    }
    const s = engine.stats()
    expect(s.eventsIn).toBe(events.length)
    expect(s.eventsApplied).toBe(events.length)
    expect(s.eventsRejected).toBe(0)
    expect(s.households).toBe(direct.size)
    // quiet accounts had their sessions closed by their partition's event time (the reference does the same)
    expect(s.timersFired).toBeGreaterThan(100)
  })

  it('keeps passivated households exactly as resident ones: same outputs, same snapshots', async () => {
    const all = await run({ maxResident: 1000, maxQueued: 4 }, 1)
    const few = await run({ maxResident: 2, maxQueued: 4 }, 1)
    expect(few.engine.stats().passivated).toBeGreaterThan(100)
    expect(few.engine.stats().rehydrated).toBeGreaterThan(100)
    for (const [account, list] of all.log.byAccount) expect(few.log.byAccount.get(account)).toEqual(list)
    const accounts = [...all.store.accounts()]
    expect([...few.store.accounts()]).toEqual(accounts)
    for (const a of accounts) expect(Buffer.from(few.store.load(a)!.snapshot).equals(Buffer.from(all.store.load(a)!.snapshot))).toBe(true)
  })

  it('bounds the queued events by maxQueued plus one message', async () => {
    const { maxQueued, log } = await run({ maxQueued: 100, mailboxMax: 40 }, 25)
    expect(maxQueued).toBeLessThanOrEqual(100 + 25)
    expect(log.count).toBeGreaterThan(0)
  })

  it('lets a quiet account through while a hot one has thousands of events queued', async () => {
    const hot = events.filter((e) => e.account === events[0]!.account)
    const quiet = events.find((e) => e.account !== hot[0]!.account && e.kind === 'play')!
    const bus = new InProcessBus({ highWater: 100_000 })
    const engine = new Engine({ bus, store: new MemoryStore(), pseudonymKey: TEST_KEY, maxQueued: 1_000_000, mailboxMax: 1_000_000 })
    const order: string[] = []
    bus.subscribe('idr.out.assign.>', (_s, data) => order.push((decode(data) as { account: string }).account))
    // queue everything before the engine takes its first turn
    for (const e of hot) bus.publish(`idr.ev.${e.account}`, encode(e))
    bus.publish(`idr.ev.${quiet.account}`, encode(quiet))
    await engine.start()
    await engine.drain()
    const quietAt = order.indexOf(quiet.account)
    const hotCount = order.filter((a) => a === hot[0]!.account).length
    expect(quietAt).toBeGreaterThanOrEqual(0)
    expect(hotCount).toBeGreaterThan(20)
    // the quiet account's assignment comes out long before the hot account's last one
    expect(quietAt).toBeLessThan(order.length / 2)
  })

  it('dead-letters bad messages and applies the good events around them', async () => {
    const bad = [new Uint8Array([0xc1, 0xff, 0x00]), encode({ v: 1, kind: 'play' }), encode([events.at(-1), { v: 2 }])]
    const { dlq, engine } = await run({}, 25, async (bus) => {
      for (const b of bad) await bus.send('idr.ev.someone', b)
    })
    expect(dlq.map((r) => r.code).sort()).toEqual(['BAD_MSGPACK', 'BAD_VERSION', 'MISSING_FIELD'].sort())
    const s = engine.stats()
    expect(s.eventsRejected).toBe(3)
    expect(s.dlqRecords).toBe(3)
    // the good element of the mixed batch repeats the last event: the household counts it as a duplicate
    expect(s.duplicatesIgnored).toBe(1)
    expect(s.eventsApplied).toBe(events.length)
  })
})
