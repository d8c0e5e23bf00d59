// Determinism of refits: the same events give the same assignments and byte-identical snapshots whether
// refits run inline, on the worker pool, or come back after random delays. Deferred refits hold the
// household's input back until their result is applied, at the same point an inline refit would be.
import { afterAll, describe, expect, it } from 'vitest'
import { errorCode } from './helpers/errors.js'
import type { IdrEvent } from '../src/model/events.js'
import { Household, type HouseholdOptions, type HouseholdOutput } from '../src/model/household.js'
import { runRefit } from '../src/model/refit.js'
import { RefitPool } from '../src/model/refit-pool.js'
import { rng } from '../src/sim/random.js'
import { simulate } from '../src/sim/simulator.js'

const sim = simulate({ households: 6, days: 40, seed: 11 })
const events: IdrEvent[] = [...sim.events()]

interface Trace {
  outputs: string[]
  snapshots: Map<string, Uint8Array>
  refits: number
}

function record(trace: Trace, out: HouseholdOutput): void {
  // per item, not per call: a deferred refit splits one call's output in two
  for (const x of [...out.assignments, ...out.changes, ...out.rejected]) trace.outputs.push(JSON.stringify(x))
}

async function replay(options: HouseholdOptions, complete?: (h: Household) => Promise<HouseholdOutput>): Promise<Trace> {
  const households = new Map<string, Household>()
  const trace: Trace = { outputs: [], snapshots: new Map(), refits: 0 }
  const settle = async (h: Household, out: HouseholdOutput) => {
    record(trace, out)
    while (h.pendingRefit) {
      trace.refits++
      record(trace, await complete!(h))
    }
  }
  for (const e of events) {
    let h = households.get(e.account)
    if (!h) households.set(e.account, (h = new Household(e.account, options)))
    await settle(h, h.push(e))
  }
  for (const h of households.values()) {
    await settle(h, h.flush())
    trace.snapshots.set(h.account, h.toSnapshot())
  }
  return trace
}

describe('refits inline, on the pool and delayed', () => {
  const pool = new RefitPool({ threads: 2 })
  afterAll(() => pool.close())

  it('give identical outputs and byte-identical snapshots', async () => {
    const inline = await replay({})
    const pooled = await replay({ refits: 'deferred' }, async (h) => h.completeRefit(await pool.run(h.pendingRefit!)))
    const r = rng(5)
    const delayed = await replay({ refits: 'deferred' }, async (h) => {
      const task = h.pendingRefit!
      const result = runRefit(task)
      await new Promise((resolve) => setTimeout(resolve, Math.floor(r.uniform() * 4)))
      return h.completeRefit(result)
    })
    expect(pooled.refits).toBeGreaterThan(20)
    expect(pooled.outputs).toEqual(inline.outputs)
    expect(delayed.outputs).toEqual(inline.outputs)
    for (const [account, bytes] of inline.snapshots) {
      expect(Buffer.from(pooled.snapshots.get(account)!).equals(Buffer.from(bytes)), account).toBe(true)
      expect(Buffer.from(delayed.snapshots.get(account)!).equals(Buffer.from(bytes)), account).toBe(true)
    }
  })

  it('refuse input, snapshots and foreign results while a refit is pending', () => {
    const h = new Household(events[0]!.account, { refits: 'deferred' })
    let i = 0
    while (!h.pendingRefit) {
      const e = events[i++]!
      if (e.account === h.account) h.push(e)
    }
    const next = events.slice(i).find((e) => e.account === h.account)!
    expect(errorCode(() => h.push(next))).toBe('REFIT_PENDING')
    expect(errorCode(() => h.toSnapshot())).toBe('REFIT_PENDING')
    const result = runRefit(h.pendingRefit)
    expect(errorCode(() => h.completeRefit({ ...result, seq: result.seq + 1 }))).toBe('REFIT_MISMATCH')
    h.completeRefit(result)
    expect(h.pendingRefit).toBeUndefined()
    expect(() => h.push(next)).not.toThrow()
  })
})
