// Publishers batch consecutive events of many accounts and send each batch on its first event's subject (the
// Go client does). With the shipped 8-partition mapping the batch lands on one partition; events of the other
// partitions must be applied exactly once, by their owner, never dead-lettered (every process reads all input
// and keeps its partitions' events). One process owning all partitions and two splitting them, core and JetStream.
import { decode } from '@msgpack/msgpack'
import { connect, type NatsConnection } from 'nats'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../src/engine/engine.js'
import type { DlqRecord } from '../src/ingress/ingress.js'
import type { IdrEvent } from '../src/model/events.js'
import { MemoryStore } from '../src/runtime/memory-store.js'
import { partitionOf } from '../src/contracts/partition.js'
import { NatsBus } from '../src/transport/nats.js'
import { messages, simEvents, TEST_KEY } from './helpers/engine.js'
import { exampleConfig, startNatsServer, type ExampleUser, type NatsServerHandle } from './helpers/nats-server.js'

const passwords: Record<ExampleUser, string> = { publisher: 'pub-pw', engine: 'engine-pw', admin: 'admin-pw' }
const PARTITIONS = 8
const BATCH = 100

async function until(what: string, ok: () => boolean, detail: () => unknown, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(detail())}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('batches of mixed accounts on the partition mapping', () => {
  let events: IdrEvent[]
  const open: { engines: Engine[], ncs: NatsConnection[], servers: NatsServerHandle[] } = { engines: [], ncs: [], servers: [] }
  beforeAll(() => { events = simEvents(40, 4, 7) })
  afterEach(async () => {
    for (const e of open.engines.splice(0)) await e.drain()
    for (const nc of open.ncs.splice(0)) await nc.close()
    for (const s of open.servers.splice(0)) await s.stop()
  })

  const cases = [
    { mode: 'core', split: [[0, 1, 2, 3, 4, 5, 6, 7]] },
    { mode: 'core', split: [[0, 1, 2, 3], [4, 5, 6, 7]] },
    { mode: 'jetstream', split: [[0, 1, 2, 3, 4, 5, 6, 7]] },
    { mode: 'jetstream', split: [[0, 1, 2, 3], [4, 5, 6, 7]] },
  ] as const
  for (const { mode, split } of cases) {
    it(`applies every event exactly once with ${split.length} process${split.length > 1 ? 'es' : ''} (${mode})`, async () => {
      // a server of its own: each JetStream case starts from an empty stream
      const server = await startNatsServer({ config: exampleConfig({ partitions: PARTITIONS, passwords }) })
      open.servers.push(server)
      const engines: Engine[] = []
      for (const partitions of split) {
        const bus = await NatsBus.connect({ url: server.url, user: 'engine', password: passwords.engine, mode, partitions, partitionsOf: PARTITIONS })
        const engine = new Engine({ bus, store: new MemoryStore(), pseudonymKey: TEST_KEY, partitionsOf: PARTITIONS, partitions })
        engines.push(engine)
        open.engines.push(engine)
      }
      const watcher = await connect({ servers: server.url, user: 'admin', pass: passwords.admin })
      open.ncs.push(watcher)
      const dlq: DlqRecord[] = []
      watcher.subscribe('idr.dlq', { callback: (_e, m) => dlq.push(decode(m.data) as DlqRecord) })
      await watcher.flush()
      for (const e of engines) await e.start()
      const publisher = await connect({ servers: server.url, user: 'publisher', pass: passwords.publisher })
      open.ncs.push(publisher)
      const batches = messages(events, BATCH, 'mixed')
      let spanning = 0
      for (const [i, m] of batches.entries()) {
        const first = partitionOf(m.account, PARTITIONS)
        const inBatch = (decode(m.data) as IdrEvent[])
        if (inBatch.some((e) => partitionOf(e.account, PARTITIONS) !== first)) spanning++
        publisher.publish(`idr.ev.${m.account}`, m.data)
        if (i % 20 === 19) await publisher.flush()
      }
      await publisher.flush()
      const applied = (): number => engines.reduce((n, e) => n + e.stats().eventsApplied, 0)
      await until('every event applied', () => applied() >= events.length, () => ({ applied: applied(), of: events.length, dlq: dlq.slice(0, 3), stats: engines.map((e) => e.stats()) }))
      for (const e of engines) await e.runtime.whenIdle()
      await new Promise((r) => setTimeout(r, 300)) // a double application would show up here
      await watcher.flush()

      expect(spanning).toBeGreaterThan(batches.length / 2) // the case is real: most batches span partitions
      expect(applied()).toBe(events.length)
      expect(dlq).toEqual([])
      // per account: the owner saw each of its events once, nobody else saw any
      const perAccount = new Map<string, number>()
      for (const e of events) perAccount.set(e.account, (perAccount.get(e.account) ?? 0) + 1)
      for (const [account, n] of perAccount) {
        const owner = split.findIndex((ps) => (ps as readonly number[]).includes(partitionOf(account, PARTITIONS)))
        for (const [k, engine] of engines.entries()) {
          const h = engine.household(account)
          if (k === owner) expect({ account, events: h?.sessionizer.stats.events, duplicates: h?.sessionizer.stats.duplicates }).toEqual({ account, events: n, duplicates: 0 })
          else expect(h).toBeUndefined()
        }
      }
      // with two processes each read the other's events too and left them alone
      const notOwned = engines.map((e) => e.stats().eventsNotOwned)
      expect(notOwned.reduce((a, b) => a + b, 0)).toBe(split.length > 1 ? events.length : 0)
    }, 180_000)
  }
})
