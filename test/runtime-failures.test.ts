// A store that fails under the engine: an actor whose snapshot cannot be loaded does not crash the process
// nor lose its queued input; its turn is retried after a backoff, logged and counted, and once the store
// answers again every event is applied as in a run that never failed.
import { describe, expect, it } from 'vitest'
import { Engine, type EngineLog } from '../src/engine/engine.js'
import { MemoryStore } from '../src/runtime/memory-store.js'
import type { StoredHousehold } from '../src/ports/store.js'
import { InProcessBus } from '../src/transport/in-process.js'
import { TEST_KEY, messages, simEvents } from './helpers/engine.js'

/** A real MemoryStore whose reads fail `failures` times (a disk that is briefly unreadable), then recover. */
class FailingReads extends MemoryStore {
  constructor(private failures: number) {
    super()
  }

  override load(account: string): StoredHousehold | undefined {
    if (this.failures > 0) {
      this.failures--
      throw new Error('SQLITE_IOERR: disk I/O error (injected)')
    }
    return super.load(account)
  }
}

async function run(store: MemoryStore, events: ReturnType<typeof simEvents>) {
  const errors: object[] = []
  const log: EngineLog = { debug() {}, info() {}, warn() {}, error: (o) => { errors.push(o) } }
  const bus = new InProcessBus()
  const engine = new Engine({ bus, store, pseudonymKey: TEST_KEY, snapshotIntervalMs: 60_000, log })
  await engine.start()
  for (const m of messages(events, 20)) await bus.send(`idr.ev.${m.account}`, m.data)
  await bus.whenDelivered()
  await engine.drain(20_000)
  return { stats: engine.stats(), errors }
}

describe('an actor whose store fails', () => {
  it('is retried with its input kept, logged and counted, and ends as a run without failures', async () => {
    const events = simEvents(3, 4, 9)
    const clean = await run(new MemoryStore(), events)
    const flaky = new FailingReads(4)
    const failed = await run(flaky, events)
    expect(failed.stats.turnsFailed).toBe(4)
    expect(failed.errors.filter((e) => 'retryInMs' in e)).toHaveLength(4)
    expect(failed.stats.eventsApplied).toBe(clean.stats.eventsApplied)
    expect(failed.stats.eventsApplied).toBe(events.length)
    expect(failed.stats.assignmentsOut).toBe(clean.stats.assignmentsOut)
    expect(clean.stats.turnsFailed).toBe(0)
  })
})
