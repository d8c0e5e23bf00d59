// The engine end to end in one process, against its ceiling: what the in-process bus, the ingress (msgpack,
// validation, HMAC), the actor runtime and the checkpoints cost on top of a direct household replay.
// Cases alternate within one run and the medians are reported (shared, noisy machines).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { encode } from '@msgpack/msgpack'
import { Engine } from '../src/engine/engine.js'
import { Ingress } from '../src/ingress/ingress.js'
import type { IdrEvent } from '../src/model/events.js'
import { Household } from '../src/model/household.js'
import { RefitPool } from '../src/runtime/refit-pool.js'
import { MemoryStore } from '../src/runtime/memory-store.js'
import type { Store } from '../src/ports/store.js'
import { simulate } from '../src/sim/simulator.js'
import { openStore } from '../src/store/sqlite-store.js'
import { InProcessBus } from '../src/transport/in-process.js'
import { mdTable, writeResult, type BenchContext } from './lib.js'

const KEY = 'bench-pseudonym-key-0123456789abcdef'
const BATCH = 100 // events per message

function direct(events: readonly IdrEvent[]): number {
  const t0 = performance.now()
  const hs = new Map<string, Household>()
  for (const e of events) {
    let h = hs.get(e.account)
    if (!h) hs.set(e.account, (h = new Household(e.account)))
    h.push(e)
  }
  return (performance.now() - t0) / 1000
}

function ingressOnly(msgs: readonly Uint8Array[]): number {
  const ingress = new Ingress({ pseudonymKey: KEY })
  const t0 = performance.now()
  let n = 0
  for (const m of msgs) n += ingress.decode('idr.ev.x', m, Date.now()).events.length
  if (n === 0) throw new Error('no events decoded')
  return (performance.now() - t0) / 1000
}

async function viaEngine(msgs: readonly Uint8Array[], store: Store, pool?: RefitPool): Promise<number> {
  const bus = new InProcessBus()
  const engine = new Engine({ bus, store, pseudonymKey: KEY, refits: pool, snapshotIntervalMs: 1_000 })
  await engine.start()
  const t0 = performance.now()
  for (const m of msgs) await bus.send('idr.ev.x', m)
  await bus.whenDelivered()
  await engine.runtime.whenIdle()
  const s = (performance.now() - t0) / 1000
  await engine.drain()
  return s
}

export async function benchEngine(ctx: BenchContext): Promise<string> {
  const households = ctx.quick ? 60 : 300
  const reps = ctx.quick ? 1 : 3
  const events = [...simulate({ households, days: 30, seed: 1 }).events()]
  const msgs: Uint8Array[] = []
  for (let i = 0; i < events.length; i += BATCH) msgs.push(encode(events.slice(i, i + BATCH)))
  const dir = mkdtempSync(join(tmpdir(), 'idr-bench-engine-'))
  const pool = new RefitPool({ threads: 2 })
  const cases: Record<string, () => Promise<number> | number> = {
    'direct household replay, refits inline (ceiling)': () => direct(events),
    'ingress only (msgpack + validation + HMAC)': () => ingressOnly(msgs),
    'engine, in-process bus, memory store, refits inline': () => viaEngine(msgs, new MemoryStore()),
    'engine, in-process bus, SQLite store, refits inline': () => viaEngine(msgs, openStore(join(dir, `${performance.now()}.db`))),
    'engine, in-process bus, SQLite store, refits on a 2-thread pool': () => viaEngine(msgs, openStore(join(dir, `${performance.now()}.db`)), pool),
  }
  const seconds = new Map<string, number[]>(Object.keys(cases).map((k) => [k, []]))
  try {
    for (let r = 0; r < reps; r++) {
      for (const [name, run] of Object.entries(cases)) seconds.get(name)!.push(await run())
    }
  } finally {
    await pool.close()
    rmSync(dir, { recursive: true, force: true })
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const ceiling = events.length / median(seconds.get(Object.keys(cases)[0]!)!)
  const rows = [...seconds].map(([name, xs]) => {
    const rate = events.length / median(xs)
    return { name, eventsPerSecond: Math.round(rate), ofCeiling: rate / ceiling, runs: xs.length }
  })
  writeResult('engine', { events: events.length, households, batch: BATCH, rows })
  return mdTable(['case', 'events/s (median)', '× ceiling'], rows.map((r) => [r.name, r.eventsPerSecond.toLocaleString('en'), r.ofCeiling.toFixed(2)]))
}
