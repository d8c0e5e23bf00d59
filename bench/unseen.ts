// Does the unseen mass make idr's probabilities honest? idr prequential, side by side on the simulator and the
// second generator's four tracks: (1) as before 2026-12-04, no unseen mass, temperature 9; (2) the default unseen
// mass (census size prior, DEFAULT_DETECTION), temperature 2; (3) its detection curve fitted, unsupervised, on
// training households of the same kind (another seed: what `idr eval --fit-unseen` does on a deployment's data).
//   npm run build:ts && node build/bench/unseen.js [--households 300] [--only sim,taste,...]
// Results: bench/results/unseen.json; summary in docs/benchmarks.md.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { IdrEvent } from '../src/model/events.js'
import type { HouseholdOptions } from '../src/model/household.js'
import { evaluateEvents, fitUnseen, type EvalReport } from '../src/sim/evaluate.js'
import { bayesCeiling, simulate } from '../src/sim/simulator.js'
import { writeResult } from './lib.js'
import { ALT_GENERATOR, ALT_TRACKS, readAll } from './peers.js'

interface Dataset { name: string, events: IdrEvent[], train: IdrEvent[], ceiling: number | null, trueSizes?: Map<string, number> }

interface Row {
  dataset: string
  variant: string
  accuracy: number
  ece: number
  /** Largest (confidence − accuracy) over reliability bins above 0.9 with ≥ 20 sessions (null: none). */
  worstHighGap: number | null
  /** Share of sessions whose top probability is ≥ 0.99. */
  nearCertain: number
  kExact: number
  baselineDominant: number
  detection?: unknown
}

function summary(dataset: string, variant: string, r: EvalReport, detection?: unknown): Row {
  const high = r.reliability.filter((b) => b.lo >= 0.9 - 1e-9 && b.count >= 20 && b.meanConfidence !== null)
  const gaps = high.map((b) => b.meanConfidence! - b.accuracy!)
  const total = r.reliability.reduce((a, b) => a + b.count, 0)
  const top = r.reliability.filter((b) => b.meanConfidence !== null && b.meanConfidence >= 0.99).reduce((a, b) => a + b.count, 0)
  return {
    dataset, variant, accuracy: r.accuracy, ece: r.ece, worstHighGap: gaps.length ? Math.max(...gaps) : null,
    nearCertain: total ? top / total : 0, kExact: r.kExact, baselineDominant: r.baselineDominant, ...(detection ? { detection } : {}),
  }
}

async function* datasets(households: number, want: (name: string) => boolean): AsyncGenerator<Dataset> {
  if (want('sim')) {
    const sim = simulate({ households, days: 30, seed: 1 })
    yield {
      name: `sim default ${households}×30`, events: [...sim.events()], train: [...simulate({ households, days: 30, seed: 3 }).events()],
      ceiling: bayesCeiling(sim).accuracy, trueSizes: new Map(sim.households.map((h) => [h.account, h.persons.length])),
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'idr-unseen-'))
  try {
    for (const track of ALT_TRACKS.filter(want)) {
      const gen = async (seed: number) => {
        const file = join(dir, `${track}-${seed}.ndjson`)
        execFileSync(process.execPath, [ALT_GENERATOR, '--track', track, '--households', String(households), '--days', '60', '--seed', String(seed), '--out', file], { stdio: 'ignore' })
        return readAll(file)
      }
      yield { name: `alt ${track} ${households}×60`, events: await gen(1), train: await gen(2), ceiling: null }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { households: { type: 'string' }, only: { type: 'string' }, result: { type: 'string' } } })
  const households = Number(values.households ?? 300)
  const only = values.only?.split(',')
  const rows: Row[] = []
  for await (const d of datasets(households, (n) => !only || only.includes(n))) {
    const run = (household: HouseholdOptions) => evaluateEvents(d.events, { household, ceiling: d.ceiling, ...(d.trueSizes ? { trueSizes: d.trueSizes } : {}) })
    const t0 = performance.now()
    rows.push(summary(d.name, 'no unseen mass, T 9 (before)', run({ unseen: false, temperature: 9 })))
    rows.push(summary(d.name, 'unseen mass, default detection, T 2', run({})))
    const fit = fitUnseen(d.train)
    rows.push(summary(d.name, 'unseen mass, detection fitted on training households, T 2', run({ unseen: { detection: fit.detection } }), fit.detection))
    console.error(`${d.name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  }
  const f = (v: number | null) => (v === null ? '—' : v.toFixed(3))
  console.log('| dataset | variant | accuracy | ECE | worst bin > 0.9: conf − acc | p ≥ 0.99 | size exact | dominant |')
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const r of rows) console.log(`| ${r.dataset} | ${r.variant} | ${f(r.accuracy)} | ${f(r.ece)} | ${f(r.worstHighGap)} | ${f(r.nearCertain)} | ${f(r.kExact)} | ${f(r.baselineDominant)} |`)
  console.log(`written to ${writeResult(values.result ?? 'unseen', { households, rows })}`)
}

await main()
