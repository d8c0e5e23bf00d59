// The GMM pool: the same answers inline and on workers (bit for bit), placement by measured work,
// one bad household failing alone, and the graceful / forced stops.
import { afterEach, describe, expect, it } from 'vitest'
import { KernelError } from '../src/errors.js'
import { createWasmKernels } from '../src/kernels/backend.js'
import { GmmPool, gmmWork, type GmmJob } from '../src/kernels/pool.js'
import { matrix } from '../src/kernels/validate.js'
import { blobs, rng } from './helpers/data.js'
import { OptionError } from '../src/options/check.js'

function households(count: number, seed: number): GmmJob[] {
  const r = rng(seed)
  return Array.from({ length: count }, (_, h) => {
    const people = 1 + (h % 3)
    const centres = Array.from({ length: people }, () => Array.from({ length: 4 }, () => 5 * r.normal()))
    return { points: blobs(centres, 20, 1, seed * 1000 + h).x, options: { nInit: 2, seed: h } }
  })
}

const pools: GmmPool[] = []
function pool(options: ConstructorParameters<typeof GmmPool>[0]): GmmPool {
  const p = new GmmPool(options)
  pools.push(p)
  return p
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()))
})

describe('GmmPool', () => {
  it('returns bit-identical selections inline and on the workers', async () => {
    const jobs = households(12, 1)
    const inline = await pool({ poolMinWork: Infinity, kernels: createWasmKernels() }).selectMany(jobs)
    const pooled = pool({ poolMinWork: 0, threads: 2 })
    const onWorkers = await pooled.selectMany(jobs)
    expect(pooled.lastPlacement?.where).toBe('pool')
    expect(onWorkers.map((s) => s.best.k)).toEqual(inline.map((s) => s.best.k))
    for (let i = 0; i < jobs.length; i++) {
      expect(Array.from(onWorkers[i]!.best.means)).toEqual(Array.from(inline[i]!.best.means))
      expect(Array.from(onWorkers[i]!.best.covariances)).toEqual(Array.from(inline[i]!.best.covariances))
      expect(onWorkers[i]!.candidates).toEqual(inline[i]!.candidates)
    }
  })

  it('keeps small batches inline and sends large ones to the pool, several households per task', async () => {
    const jobs = households(8, 2)
    const total = jobs.reduce((s, j) => s + gmmWork(j.points.rows, j.points.cols, j.options), 0)
    const p = pool({ poolMinWork: total + 1, threads: 2 })
    await p.selectMany(jobs)
    expect(p.lastPlacement).toEqual({ where: 'inline', work: total })
    const q = pool({ poolMinWork: total / 8, threads: 2 })
    await q.selectMany(jobs)
    expect(q.lastPlacement?.where).toBe('pool')
    const tasks = q.lastPlacement?.where === 'pool' ? q.lastPlacement.tasks : 0
    expect(tasks).toBeGreaterThan(1)
    expect(tasks).toBeLessThan(jobs.length)
  })

  it('fails only the bad household of a pooled batch, with its error code', async () => {
    const jobs = households(4, 3)
    jobs[2] = { points: matrix(2, 4, [1, 2, 3, 4, 5, 6, 7, 8]), options: { kMin: 3, kMax: 4 } }
    const p = pool({ poolMinWork: 0, threads: 2 })
    const settled = await p.selectManySettled(jobs)
    expect(settled.map((r) => r.ok)).toEqual([true, true, false, true])
    expect(settled[2]).toMatchObject({ ok: false, code: 'TOO_FEW_POINTS' })
    await expect(p.selectMany(jobs)).rejects.toMatchObject({ code: 'TOO_FEW_POINTS' })
    await expect(p.selectMany(jobs)).rejects.toBeInstanceOf(KernelError)
  })

  it('refuses work after close, and close waits for running tasks', async () => {
    const p = pool({ poolMinWork: 0, threads: 1 })
    const running = p.selectMany(households(3, 4))
    await p.close()
    await expect(running).resolves.toHaveLength(3)
    await expect(p.select(households(1, 5)[0]!.points)).rejects.toMatchObject({ code: 'BAD_OPTION' })
  })

  it('validates its options by name', () => {
    expect(() => new GmmPool({ thread: 2 } as never)).toThrow(/did you mean "threads"/)
    expect(() => new GmmPool({ threads: 0 })).toThrow(OptionError)
  })
})
