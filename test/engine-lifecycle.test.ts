// The engine's stop semantics (after Piscina's close/destroy and nats.js's drain): a second drain() is the same
// drain, a failing final checkpoint still closes the bus and leaves the engine stopped, destroy() stops at once.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Engine } from '../src/engine/engine.js'
import { openStore } from '../src/store/sqlite-store.js'
import { InProcessBus } from '../src/transport/in-process.js'
import { TEST_KEY, messages, simEvents } from './helpers/engine.js'

const dir = mkdtempSync(join(tmpdir(), 'idr-lifecycle-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const events = simEvents(6, 3, 5)
let n = 0

/** An engine on the in-process bus over a real SQLite file, fed the events; `closed` records the bus closing. */
async function fed() {
  const bus = new InProcessBus()
  let closed = 0
  const close = bus.close.bind(bus)
  bus.close = async () => { closed++; await close() }
  const store = openStore(join(dir, `e-${n++}.db`))
  const engine = new Engine({ bus, store, pseudonymKey: TEST_KEY, snapshotIntervalMs: 60_000 })
  await engine.start()
  for (const m of messages(events, 20)) await bus.send(`idr.ev.${m.account}`, m.data)
  return { engine, store, closedCount: () => closed }
}

describe('engine lifecycle', () => {
  it('returns the same drain to a second caller, and resolves at once once stopped', async () => {
    const { engine, store, closedCount } = await fed()
    const first = engine.drain()
    const second = engine.drain()
    expect(second).toBe(first)
    await first
    expect(engine.phase).toBe('stopped')
    expect(store.count()).toBeGreaterThan(0) // the final checkpoint wrote the households
    await engine.drain()
    expect(closedCount()).toBe(1)
  })

  it('closes the bus and ends stopped when the final checkpoint fails, and rejects with that failure', async () => {
    const { engine, store, closedCount } = await fed()
    await engine.runtime.whenIdle()
    store.close() // the disk goes away under it: the final checkpoint throws CLOSED
    await expect(engine.drain()).rejects.toMatchObject({ code: 'CLOSED' })
    expect(engine.phase).toBe('stopped')
    expect(closedCount()).toBe(1)
  })

  it('destroys at once: no checkpoint, bus closed, a drain afterwards has nothing to do', async () => {
    const { engine, store, closedCount } = await fed()
    const before = store.count()
    await engine.destroy()
    expect(engine.phase).toBe('stopped')
    expect(closedCount()).toBe(1)
    expect(store.count()).toBe(before) // nothing written on the way out
    await engine.drain()
    expect(closedCount()).toBe(1)
  })
})
