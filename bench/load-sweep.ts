// The load benchmark sweep (`idr load --sweep [--quick]`, `npm run bench:load`): the three modes at full
// speed with their ceilings (median of repeated runs), fixed rates for latency, the refit storm, and the
// scaling table over household counts with passivation on. Writes bench/results/load.json and
// load-scaling.json and prints the Markdown tables of docs/benchmarks.md ("Load over NATS").
import { DEFAULT_MAX_RESIDENT, type LoadOptions } from '../src/load/options.js'
import type { LoadResult } from '../src/load/report.js'
import { runLoad } from '../src/load/run.js'
import { mdTable, writeResult } from './lib.js'

/** The reference system this project replaces: 12M events/hour at p99 104 ms (the issue). */
export const REFERENCE = { eventsPerSec: 12_000_000 / 3600, p99Ms: 104 } as const

export interface SweepOptions {
  quick: boolean
  /** Runs of each full-speed mode (the median is reported). Default 3, 1 when quick. */
  repeats?: number
  /** A running server; default: spawn one per run. */
  url?: string
  log: (line: string) => void
}

function base(s: SweepOptions): LoadOptions {
  return {
    nats: s.url, spawnNats: s.url === undefined, rate: 0, durationSec: s.quick ? 8 : 20, warmupSec: s.quick ? 2 : 5, batch: 1,
    jetstream: false, landing: false, households: 1_000, publishers: 1, partitionsOf: 8, scenario: 'steady', maxResident: DEFAULT_MAX_RESIDENT,
    noCeiling: false, attach: false, prefix: 'idrload', seed: 1, json: true,
  }
}

const median = (runs: LoadResult[]): LoadResult => [...runs].sort((a, b) => a.eventsPerSec - b.eventsPerSec)[Math.floor(runs.length / 2)]!
const n0 = (n: number | null): string => (n === null ? '—' : Math.round(n).toLocaleString('en-US'))
const ms = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2))

export async function runSweep(s: SweepOptions): Promise<void> {
  const b = base(s)
  const repeats = s.repeats ?? (s.quick ? 1 : 3)
  const run = async (name: string, o: Partial<LoadOptions>): Promise<LoadResult> => {
    s.log(`· ${name}`)
    const r = await runLoad({ ...b, ...o })
    s.log(`  ${n0(r.eventsPerSec)} events/s, ceiling ${n0(r.ceilingEventsPerSec)}, ratio ${r.ratioToCeiling ?? '—'}, p99 ${r.latencyMs.p99} ms, load ${r.loadAvg.before} → ${r.loadAvg.after}`)
    return r
  }

  // 1. the modes at full speed, each with its own ceiling in the same run
  const modes: { name: string, o: Partial<LoadOptions> }[] = [
    { name: 'core, single events', o: {} },
    { name: 'core, batches of 100', o: { batch: 100 } },
    { name: 'JetStream, batches of 100', o: { batch: 100, jetstream: true } },
  ]
  const maxRuns: { name: string, runs: LoadResult[], median: LoadResult }[] = []
  for (const m of modes) {
    const runs: LoadResult[] = []
    for (let i = 0; i < repeats; i++) runs.push(await run(`${m.name}, max, run ${i + 1}/${repeats}`, m.o))
    maxRuns.push({ name: m.name, runs, median: median(runs) })
  }

  // 2. fixed rates: latency (single events, core)
  const rates = s.quick ? [20_000] : [10_000, 20_000, 50_000, 100_000, 200_000]
  const fixed: LoadResult[] = []
  for (const rate of rates) fixed.push(await run(`core, single events, ${rate}/s`, { rate }))

  // 3. the refit storm: households in lockstep, at 20k events/s
  const storm = await run('refit storm, 5,000 households in lockstep, 20k/s', { scenario: 'storm', households: 5_000, rate: 20_000, durationSec: s.quick ? 10 : 30, noCeiling: true })

  writeResult('load', {
    quick: s.quick,
    note: 'idr load over a spawned nats-server on this machine: publishers, server, null consumer and engine share the cores; phases run one after the other',
    modes: maxRuns.map((m) => ({ name: m.name, median: m.median, runs: m.runs })),
    fixedRates: fixed,
    storm,
  })

  // 4. scaling with passivation on: maxResident well below the household count
  const counts = s.quick ? [1_000, 10_000, 100_000] : [1_000, 10_000, 100_000, 1_000_000]
  const scaling: { households: number, max: LoadResult, fixed: LoadResult }[] = []
  for (const households of counts) {
    // passivation on: the engine keeps at most half the households (≤ 10k); a quarter of them (≤ 2k) watch at once
    const maxResident = Math.max(100, Math.min(10_000, Math.floor(households / 2)))
    const active = Math.min(2_000, Math.floor(households / 4))
    const dur = households >= 1_000_000 ? (s.quick ? 10 : 60) : b.durationSec
    const o = { households, maxResident, active, durationSec: dur, warmupSec: Math.min(b.warmupSec, dur / 4), noCeiling: true }
    const max = await run(`scaling ${households} households, max`, o)
    const fixedRun = await run(`scaling ${households} households, 5k/s`, { ...o, rate: 5_000 })
    scaling.push({ households, max, fixed: fixedRun })
  }
  writeResult('load-scaling', { quick: s.quick, reference: REFERENCE, rows: scaling })

  s.log('\n' + mdTable(
    ['mode (max rate, median of ' + repeats + ')', 'engine events/s', 'null consumer events/s', 'ratio', 'publishers events/s', 'engine CPU %', 'RSS MB', 'load avg'],
    maxRuns.map(({ name, median: r }) => [name, n0(r.eventsPerSec), n0(r.ceilingEventsPerSec) + (r.ceiling?.publisherBound ? ' (publisher-bound)' : ''), r.ratioToCeiling ?? '—', n0(r.publish.eventsPerSec), r.engine.cpuPct ?? '—', r.rssMb ?? '—', `${r.loadAvg.before}→${r.loadAvg.after}`]),
  ))
  s.log('\n' + mdTable(
    ['rate (core, single)', 'achieved', 'engine events/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'engine CPU %'],
    fixed.map((r) => [n0(r.rate as number), n0(r.publish.eventsPerSec) + (r.publish.limited ? ' (short)' : ''), n0(r.eventsPerSec), ms(r.latencyMs.p50), ms(r.latencyMs.p90), ms(r.latencyMs.p99), ms(r.latencyMs.p999), ms(r.latencyMs.max), r.engine.cpuPct ?? '—']),
  ))
  s.log('\n' + mdTable(
    ['storm', 'n', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms'],
    [['all sessions', storm.latencyMs.count, ms(storm.latencyMs.p50), ms(storm.latencyMs.p99), ms(storm.latencyMs.p999), ms(storm.latencyMs.max)],
      ['sessions right after a refit point', storm.refitLatencyMs.count, ms(storm.refitLatencyMs.p50), ms(storm.refitLatencyMs.p99), ms(storm.refitLatencyMs.p999), ms(storm.refitLatencyMs.max)]],
  ))
  s.log('\n' + mdTable(
    ['households', 'active / max resident', 'events/s (max)', 'touched (max run)', 'p50 / p99 / p99.9 ms at 5k/s', 'RSS MB at 5k/s', 'bytes / resident household at 5k/s', 'rehydrated at 5k/s', 'engine CPU % at 5k/s'],
    [['reference system (claimed)', '—', n0(REFERENCE.eventsPerSec), '—', `— / ${REFERENCE.p99Ms} / —`, '—', '—', '—', '—'],
      ...scaling.map(({ households, max, fixed: f }) => [n0(households), `${n0(max.active)} / ${n0(max.maxResident)}`, n0(max.eventsPerSec), n0(max.engine.households),
        `${ms(f.latencyMs.p50)} / ${ms(f.latencyMs.p99)} / ${ms(f.latencyMs.p999)}`, f.rssMb ?? '—', n0(f.engine.bytesPerResidentHousehold), n0(f.engine.rehydrated), f.engine.cpuPct ?? '—'])],
  ))
}
