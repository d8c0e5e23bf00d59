// Question: how fast does the ground-truth simulator generate events (default run: 1,000 households × 30
// days), what do disorder injection and NDJSON output add, and what does the Bayes oracle cost per session?
// Target from the simulator issue: ≥ 1M events/s generated.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeEventsNdjson } from '../src/sim/ndjson.js'
import { oraclePosterior, simulate, type SimOptions } from '../src/sim/simulator.js'
import { fmtUs, mdTable, measure, writeResult, type BenchContext } from './lib.js'

function drain(it: Iterable<unknown>): number {
  let n = 0
  for (const _ of it) n++
  return n
}

export async function benchSimulator(ctx: BenchContext): Promise<string> {
  const base: SimOptions = { households: ctx.quick ? 100 : 1000, days: 30 }
  // the per-event cost of the extras is measured on a fifth of the run (same households, fewer of them)
  const smallOptions: SimOptions = { ...base, households: (base.households ?? 1000) / 5 }
  const disorder: SimOptions = { ...smallOptions, duplicateRate: 0.01, lateRate: 0.05 }

  // the first run in a fresh process, before anything is compiled: what a one-off command-line run sees
  const t0 = performance.now()
  const cold = simulate(base)
  const coldBuildMs = performance.now() - t0
  const events = drain(cold.events())
  const coldMs = performance.now() - t0
  const sessions = cold.households.reduce((n, h) => n + h.sessions.length, 0)
  ctx.log(`  ${base.households} households × ${base.days} days: ${sessions} sessions, ${events} events; first run ${coldMs.toFixed(0)} ms (build ${coldBuildMs.toFixed(0)} ms)`)

  const sim = simulate(base)
  const small = simulate(smallOptions)
  const disordered = simulate(disorder)
  const dir = mkdtempSync(join(tmpdir(), 'idr-bench-sim-'))
  const file = join(dir, 'events.ndjson')
  const oracleOptions: SimOptions = { households: ctx.quick ? 50 : 300, days: 30 }
  const oracleSim = simulate(oracleOptions)
  const oracleSessions = oracleSim.households.flatMap((h) => h.sessions.map((s) => ({ h, s })))
  const post = new Float64Array(6)
  let results
  try {
    results = await measure(ctx, [
      { name: 'simulate + all events', fn: () => drain(simulate(base).events()), reps: events },
      { name: 'simulate (households, sessions, marketing)', fn: () => simulate(base), reps: events },
      { name: 'events() of a built simulation', fn: () => drain(sim.events()), reps: events },
      { name: 'events(), a fifth of the households', fn: () => drain(small.events()), reps: small.eventCount },
      { name: 'events() with 1 % duplicates, 5 % late, a fifth', fn: () => drain(disordered.events()), reps: disordered.eventCount },
      { name: 'events() written as NDJSON to a temp file, a fifth', fn: () => writeEventsNdjson(small.events(), file), reps: small.eventCount },
      { name: 'oraclePosterior', fn: () => { for (const { h, s } of oracleSessions) oraclePosterior(h, s, post.subarray(0, h.persons.length)) }, reps: oracleSessions.length },
    ], 1000)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const perEvent = results.slice(0, 6)
  const oracle = results.slice(6)
  const rate = (us: number) => 1e6 / us
  const rows = perEvent.map((m) => ({ name: m.name, nsPerEvent: m.medianUs * 1000, eventsPerSec: rate(m.medianUs), rmePct: m.rmePct }))
  for (const r of rows) ctx.log(`  ${r.name}: ${(r.eventsPerSec / 1e6).toFixed(2)}M events/s`)
  writeResult('simulator', {
    options: base,
    sessions,
    events,
    first: { totalMs: coldMs, buildMs: coldBuildMs, eventsPerSec: events / (coldMs / 1000) },
    rows,
    oracle: oracle.map((m) => ({ name: m.name, usPerSession: m.medianUs, sessions: oracleSessions.length })),
  })
  return [
    mdTable(
      ['step', 'per event', 'events/s'],
      [
        ['first run in a fresh process: simulate + all events', fmtUs((coldMs * 1000) / events), `${(events / coldMs / 1000).toFixed(2)}M`],
        ...rows.map((r) => [r.name, fmtUs(r.nsPerEvent / 1000), `${(r.eventsPerSec / 1e6).toFixed(2)}M`]),
      ],
    ),
    '',
    mdTable(['oracle', 'per session'], oracle.map((m) => [`${m.name} (${oracleSessions.length} sessions of ${oracleOptions.households} households × 30 days)`, fmtUs(m.medianUs)])),
  ].join('\n')
}
