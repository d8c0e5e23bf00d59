// Question: what does the household model cost per event, where does the time go (scoring vs refits), what
// do refits on the worker pool buy, and how many bytes does a household keep resident? Events are generated
// before timing. Target from the model issue: ≥ 300,000 events/s in process; ≤ 32 KB for a 4-person
// household with 6 months of history.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { IdrEvent } from '../src/model/events.js'
import { Household } from '../src/model/household.js'
import { runRefit, type RefitTask } from '../src/model/refit.js'
import { RefitPool } from '../src/runtime/refit-pool.js'
import { simulate } from '../src/sim/simulator.js'
import { mdTable, writeResult, type BenchContext } from './lib.js'

interface Run {
  seconds: number
  refitSeconds: number
  refits: number
}

/** Every event through one Household per account; refits inline but timed apart. */
function replayInline(events: readonly IdrEvent[]): Run {
  const hs = new Map<string, Household>()
  let refitSeconds = 0
  let refits = 0
  const t0 = performance.now()
  const settle = (h: Household, task: RefitTask | undefined) => {
    if (!task) return
    const t = performance.now()
    const r = runRefit(task)
    refitSeconds += (performance.now() - t) / 1000
    refits++
    h.completeRefit(r)
  }
  for (const e of events) {
    let h = hs.get(e.account)
    if (!h) hs.set(e.account, (h = new Household(e.account, { refits: 'deferred' })))
    settle(h, h.push(e).refit)
  }
  for (const h of hs.values()) settle(h, h.flush().refit)
  return { seconds: (performance.now() - t0) / 1000, refitSeconds, refits }
}

/** The same with refits on the pool: a household blocked on its refit (at its next close) queues its events; the others go on. */
async function replayPooled(events: readonly IdrEvent[], pool: RefitPool): Promise<Run> {
  const hs = new Map<string, { h: Household, queue: IdrEvent[], busy: Promise<void> | undefined }>()
  let refits = 0
  let n = 0
  const t0 = performance.now()
  const send = (a: { h: Household, queue: IdrEvent[], busy: Promise<void> | undefined }, task: RefitTask | undefined): void => {
    if (!task) return
    refits++
    a.busy = pool.run(task).then((r) => {
      a.busy = undefined
      send(a, a.h.completeRefit(r).refit)
      drain(a)
    })
  }
  const drain = (a: { h: Household, queue: IdrEvent[], busy: Promise<void> | undefined }): void => {
    while (!a.h.awaitedRefit && a.queue.length > 0) send(a, a.h.push(a.queue.shift()!).refit)
  }
  for (const e of events) {
    let a = hs.get(e.account)
    if (!a) hs.set(e.account, (a = { h: new Household(e.account, { refits: 'deferred' }), queue: [], busy: undefined }))
    a.queue.push(e)
    drain(a)
    // let finished refits come back now and then (a real transport yields between messages)
    if (++n % 256 === 0) await new Promise<void>((resolve) => setImmediate(resolve))
  }
  for (;;) {
    const busy = [...hs.values()].flatMap((a) => (a.busy ? [a.busy] : []))
    if (busy.length === 0) break
    await Promise.all(busy)
  }
  for (const a of hs.values()) {
    let task = a.h.flush().refit ?? a.h.awaitedRefit
    while (task) task = a.h.completeRefit(await pool.run(task)).refit
  }
  return { seconds: (performance.now() - t0) / 1000, refitSeconds: NaN, refits }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/**
 * Heap bytes a household keeps resident after a 4-person, 6-month history, measured as the heap growth of
 * restoring many such households from their snapshots (what a rehydrated actor holds), and snapshot bytes.
 */
function residentBytes(households: number): { heap: number, snapshot: number, sessions: number } {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const hs = new Map<string, Household>()
  for (const e of simulate({ households, days: 182, seed: 3, sizeMix: [0, 0, 0, 1] }).events()) {
    let h = hs.get(e.account)
    if (!h) hs.set(e.account, (h = new Household(e.account)))
    h.push(e)
  }
  const snapshots = [...hs.values()].map((h) => {
    h.flush()
    return { account: h.account, bytes: h.toSnapshot() }
  })
  const sessions = [...hs.values()].reduce((n, h) => n + h.sessionsSeen, 0) / hs.size
  hs.clear()
  for (let i = 0; i < 4; i++) gc()
  // typed arrays' backing stores live outside the JS heap: count both
  const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
  const before = used()
  const restored = snapshots.map((s) => Household.fromSnapshot(s.account, s.bytes))
  for (let i = 0; i < 4; i++) gc()
  const heap = (used() - before) / restored.length
  const snapshot = snapshots.reduce((n, s) => n + s.bytes.length, 0) / snapshots.length
  return { heap, snapshot, sessions }
}

export async function benchHousehold(ctx: BenchContext): Promise<string> {
  const households = ctx.quick ? 40 : 300
  const events = [...simulate({ households, days: 30, seed: 1 }).events()]
  const reps = ctx.quick ? 1 : 5
  const inline: Run[] = []
  const pooled: Run[] = []
  const pool = new RefitPool({ threads: 2 })
  try {
    replayInline(events) // warm-up
    for (let i = 0; i < reps; i++) {
      inline.push(replayInline(events))
      pooled.push(await replayPooled(events, pool))
    }
  } finally {
    await pool.close()
  }
  const rate = (runs: Run[], f: (r: Run) => number) => events.length / median(runs.map(f))
  const inlineRate = rate(inline, (r) => r.seconds)
  const scoringRate = rate(inline, (r) => r.seconds - r.refitSeconds)
  const pooledRate = rate(pooled, (r) => r.seconds)
  const refitMs = (median(inline.map((r) => r.refitSeconds)) / inline[0]!.refits) * 1000
  const resident = residentBytes(ctx.quick ? 10 : 50)
  ctx.log(`  ${households} households × 30 days, ${events.length} events, ${inline[0]!.refits} refits; median of ${reps}`)
  writeResult('household', {
    households, days: 30, events: events.length, refits: inline[0]!.refits, reps,
    eventsPerSec: { refitsInline: inlineRate, refitsExcluded: scoringRate, refitsOnPool2Threads: pooledRate },
    nsPerEvent: { all: 1e9 / inlineRate, scoring: 1e9 / scoringRate },
    refitMeanMs: refitMs,
    resident4Persons182Days: resident,
  })
  return mdTable(['measure', 'value'], [
    ['events/s, refits inline', Math.round(inlineRate).toLocaleString('en')],
    ['events/s, refits excluded (scoring, sessions, online updates)', Math.round(scoringRate).toLocaleString('en')],
    ['events/s, refits on a 2-thread pool', `${Math.round(pooledRate).toLocaleString('en')} (${(pooledRate / inlineRate).toFixed(2)}× inline)`],
    ['ns per event: all / without refits', `${(1e9 / inlineRate).toFixed(0)} / ${(1e9 / scoringRate).toFixed(0)}`],
    ['share of time in refits', `${(100 * (1 - inlineRate / scoringRate)).toFixed(0)} %`],
    ['mean refit', `${refitMs.toFixed(2)} ms`],
    ['4 persons, 182 days: heap per household', `${(resident.heap / 1024).toFixed(1)} KB (${resident.sessions.toFixed(0)} sessions)`],
    ['4 persons, 182 days: snapshot', `${(resident.snapshot / 1024).toFixed(1)} KB`],
  ])
}
