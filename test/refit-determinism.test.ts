// Determinism of refits: the same events give the same assignments and byte-identical snapshots whether
// refits run inline, on the worker pool, or come back after random delays. A refit is applied at the close
// after the one that triggered it; a deferred refit holds the household's input back only if that close
// comes before its result.
import { afterAll, describe, expect, it } from 'vitest'
import { errorCode } from './helpers/errors.js'
import type { IdrEvent } from '../src/model/events.js'
import { Household, type HouseholdOptions, type HouseholdOutput } from '../src/model/household.js'
import { runRefit, type RefitResult, type RefitTask } from '../src/model/refit.js'
import { RefitPool } from '../src/runtime/refit-pool.js'
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

/**
 * Replays every event; `run` computes a deferred refit's result and `eager` says whether to hand it back at
 * once (when the refit is triggered) or only when the household blocks on it (its next close).
 */
async function replay(options: HouseholdOptions, run?: (task: RefitTask) => Promise<RefitResult>, eager: () => boolean = () => true, restoreEvery = 0): Promise<Trace> {
  const households = new Map<string, Household>()
  const trace: Trace = { outputs: [], snapshots: new Map(), refits: 0 }
  const settle = async (h: Household, out: HouseholdOutput) => {
    record(trace, out)
    if (out.refit) {
      trace.refits++
      if (eager()) record(trace, h.completeRefit(await run!(out.refit)))
    }
    while (h.awaitedRefit) record(trace, h.completeRefit(await run!(h.awaitedRefit)))
  }
  let n = 0
  for (const e of events) {
    let h = households.get(e.account)
    if (!h) households.set(e.account, (h = new Household(e.account, options)))
    else if (restoreEvery > 0 && ++n % restoreEvery === 0) households.set(e.account, (h = Household.fromSnapshot(e.account, h.toSnapshot(), options)))
    await settle(h, h.push(e))
  }
  for (const h of households.values()) {
    await settle(h, h.flush())
    trace.snapshots.set(h.account, h.toSnapshot())
  }
  return trace
}

function expectSame(a: Trace, b: Trace): void {
  expect(a.outputs).toEqual(b.outputs)
  for (const [account, bytes] of b.snapshots) expect(Buffer.from(a.snapshots.get(account)!).equals(Buffer.from(bytes)), account).toBe(true)
}

describe('refits inline, on the pool and delayed', () => {
  const pool = new RefitPool({ threads: 2 })
  afterAll(() => pool.close())
  const onPool = (task: RefitTask) => pool.run(task)

  it('give identical outputs and byte-identical snapshots, whenever the result comes back', async () => {
    const inline = await replay({})
    const eager = await replay({ refits: 'deferred' }, onPool)
    const whenBlocked = await replay({ refits: 'deferred' }, onPool, () => false)
    const r = rng(5)
    const delayed = await replay({ refits: 'deferred' }, async (task) => {
      const result = runRefit(task)
      await new Promise((resolve) => setTimeout(resolve, Math.floor(r.uniform() * 4)))
      return result
    }, () => r.uniform() < 0.5)
    expect(eager.refits).toBeGreaterThan(20)
    expect(whenBlocked.refits).toBe(eager.refits)
    expectSame(eager, inline)
    expectSame(whenBlocked, inline)
    expectSame(delayed, inline)
  })

  it('survive snapshots taken while a refit is due (the restored household recomputes it)', async () => {
    const inline = await replay({})
    const restoredInline = await replay({}, undefined, undefined, 37)
    const restoredDeferred = await replay({ refits: 'deferred' }, onPool, () => false, 37)
    expectSame(restoredInline, inline)
    expectSame(restoredDeferred, inline)
  })

  it('apply a refit at the next close: input goes on until a close needs the result', () => {
    // the first household whose refit is not needed by a close of the very input that triggered it
    let h: Household | undefined
    let task: RefitTask | undefined
    let i = 0
    let between = 0
    for (const account of sim.households.map((x) => x.account)) {
      h = new Household(account, { refits: 'deferred' })
      task = undefined
      for (i = 0; !task; i++) if (events[i]!.account === account) task = h.push(events[i]!).refit
      if (!h.awaitedRefit) break
    }
    expect(h!.dueRefit).toBe(task)
    expect(h!.awaitedRefit).toBeUndefined()
    while (!h!.awaitedRefit) {
      const e = events[i++]!
      if (e.account !== h!.account) continue
      expect(h!.push(e).refit).toBeUndefined()
      between++
    }
    expect(between).toBeGreaterThan(0)
    const hh = h!
    const next = events.slice(i).find((e) => e.account === hh.account)!
    expect(errorCode(() => hh.push(next))).toBe('REFIT_PENDING')
    expect(errorCode(() => hh.toSnapshot())).toBe('REFIT_PENDING')
    const result = runRefit(task!)
    expect(errorCode(() => hh.completeRefit({ ...result, seq: result.seq + 1 }))).toBe('REFIT_MISMATCH')
    const resumed = hh.completeRefit(result)
    expect(resumed.assignments.some((a) => a.stage === 'close')).toBe(true)
    expect(hh.dueRefit).toBeUndefined()
    expect(errorCode(() => hh.completeRefit(result))).toBe('REFIT_MISMATCH')
    expect(() => hh.push(next)).not.toThrow()
  })
})
