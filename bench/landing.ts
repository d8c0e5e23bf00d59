// The landing path's extra hop (docs/privacy.md, "The landing path"): `idr load` with the raw JetStream input
// (--jetstream) and with the landing path (--landing: the relay on its worker thread, and on the engine's event
// loop), batches of 100, alternated run by run at the same fixed rates so that the machine's noise falls on all;
// medians of the repeats. A rate above both engines' capacity
// measures their throughput (it stays below what the landing stream holds: at --max the publishers' ~1M
// events/s fill its 256 MiB within seconds and the server discards the rest, which would measure that instead);
// a rate both keep up with measures latency. The landing runs also report how long each raw message waited in
// the landing stream before its acknowledgement removed it. Writes bench/results/landing.json.
import { DEFAULT_MAX_RESIDENT, type LoadOptions } from '../src/load/options.js'
import type { LoadResult } from '../src/load/report.js'
import { runLoad } from '../src/load/run.js'
import { mdTable, writeResult, type BenchContext } from './lib.js'

const MODES = [
  { name: 'raw JetStream (--jetstream)', o: { jetstream: true, landing: false } },
  { name: 'landing, relay thread (--landing)', o: { jetstream: true, landing: true } },
  { name: 'landing, relay on the event loop', o: { jetstream: true, landing: true, landingInline: true } },
] as const

function options(rate: number, quick: boolean, o: Partial<LoadOptions>): LoadOptions {
  return {
    nats: undefined, spawnNats: true, rate, durationSec: quick ? 6 : 12, warmupSec: 2, batch: 100,
    jetstream: true, landing: false, households: 1_000, publishers: 1, partitionsOf: 8, scenario: 'steady', maxResident: DEFAULT_MAX_RESIDENT,
    noCeiling: true, attach: false, prefix: 'idrload', seed: 1, json: true, ...o,
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const n0 = (n: number): string => Math.round(n).toLocaleString('en-US')
const ms = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2))

export async function benchLanding(ctx: BenchContext): Promise<string> {
  const rates = ctx.quick ? [10_000, 120_000] : [5_000, 20_000, 120_000]
  const repeats = ctx.quick ? 1 : 3
  const runs: { rate: number, mode: string, run: number, result: LoadResult }[] = []
  for (const rate of rates) {
    for (let i = 0; i < repeats; i++) {
      for (const m of MODES) {
        ctx.log(`· ${m.name}, ${n0(rate)} events/s, run ${i + 1}/${repeats}`)
        const r = await runLoad(options(rate, ctx.quick, m.o))
        ctx.log(`  applied ${n0(r.eventsPerSec)} events/s (${n0(r.engine.eventsApplied)} of ${n0(r.engine.eventsPublished)}), p99 ${r.latencyMs.p99} ms` +
          (r.landing ? `, landing age p99 ${r.landing.ageMs.p99} ms, max ${r.landing.ageMs.max} ms` : ''))
        runs.push({ rate, mode: m.name, run: i + 1, result: r })
      }
    }
  }
  const rows: (string | number)[][] = []
  const summary: Record<string, unknown>[] = []
  for (const rate of rates) {
    const of = (mode: string): LoadResult[] => runs.filter((x) => x.rate === rate && x.mode === mode).map((x) => x.result)
    const raw = of(MODES[0].name)
    for (const m of MODES) {
      const rs = of(m.name)
      const eps = median(rs.map((r) => r.eventsPerSec))
      const p50 = median(rs.map((r) => r.latencyMs.p50))
      const p99 = median(rs.map((r) => r.latencyMs.p99))
      const applied = median(rs.map((r) => r.engine.eventsApplied / Math.max(1, r.engine.eventsPublished)))
      const age = rs.every((r) => r.landing) ? { p50: median(rs.map((r) => r.landing!.ageMs.p50)), p99: median(rs.map((r) => r.landing!.ageMs.p99)), max: Math.max(...rs.map((r) => r.landing!.ageMs.max)) } : undefined
      const ratio = eps / median(raw.map((r) => r.eventsPerSec))
      summary.push({ rate, mode: m.name, eventsPerSec: eps, ratioToRaw: ratio, appliedShare: applied, latencyP50Ms: p50, latencyP99Ms: p99, landingAgeMs: age })
      rows.push([n0(rate), m.name, n0(eps), ratio.toFixed(2), `${(applied * 100).toFixed(1)} %`, ms(p50), ms(p99), age ? `${ms(age.p50)} / ${ms(age.p99)} / ${ms(age.max)}` : '—'])
    }
  }
  writeResult('landing', {
    quick: ctx.quick, repeats,
    note: 'idr load over a spawned nats-server, batches of 100, 1,000 households, raw JetStream and landing runs alternated; medians of the repeats (landing age max: the largest of them)',
    summary, runs,
  })
  return mdTable(['rate (events/s)', 'input', 'applied events/s', '× raw', 'applied of published', 'latency p50 (ms)', 'p99 (ms)', 'landing age p50 / p99 / max (ms)'], rows)
}
