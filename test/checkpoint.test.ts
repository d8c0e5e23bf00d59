// Budgeted checkpoints: a checkpoint with a time budget writes part of the changed households and says it
// was not complete; the next ones continue with those not yet written, and together they store exactly
// what one complete checkpoint would, with positions that never claim an unstored event.
import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../src/runtime/memory-store.js'
import { accountRuntime, type AccountRuntime } from '../src/engine/account-handler.js'
import { POSITION_STRIDE } from '../src/ports/store.js'
import { simEvents } from './helpers/engine.js'

const events = simEvents(120, 3, 5)
const accounts = new Set(events.map((e) => e.account))

async function loaded(store: MemoryStore): Promise<AccountRuntime> {
  const rt = accountRuntime({ store, sink: { output() {} } })
  events.forEach((event, i) => {
    const seq = i + 1
    rt.enqueue(0, { event, pos: seq * POSITION_STRIDE, arrivalMs: Date.now(), receivedAt: 0 })
    rt.markDelivered(0, seq)
  })
  await rt.whenIdle()
  return rt
}

describe('budgeted checkpoints', () => {
  it('write part of the households per call, then the rest, and store what a complete one stores', async () => {
    const whole = new MemoryStore()
    const full = (await loaded(whole)).checkpoint()
    expect(full.complete).toBe(true)
    expect(full.households).toBe(accounts.size)
    expect(full.positions.get(0)).toBe(events.length)

    const store = new MemoryStore()
    const rt = await loaded(store)
    const slices: number[] = []
    for (let c = rt.checkpoint(0); ; c = rt.checkpoint(0)) {
      slices.push(c.households)
      // until every changed household is stored, the position stays below the events of the unstored ones
      if (!c.complete) expect(rt.positions().get(0) ?? 0).toBeLessThan(events.length)
      if (c.complete) break
      expect(slices.length).toBeLessThan(100)
    }
    expect(slices.length).toBeGreaterThan(2)
    expect(slices.slice(0, -1).every((n) => n > 0 && n < accounts.size)).toBe(true)
    expect(slices.reduce((a, b) => a + b, 0)).toBe(accounts.size)
    expect(rt.positions().get(0)).toBe(events.length)
    expect(rt.snapshotLagMs).toBe(0)
    for (const h of accounts) {
      expect(Buffer.from(store.load(h)!.snapshot).equals(Buffer.from(whole.load(h)!.snapshot)), h).toBe(true)
    }
  })
})
