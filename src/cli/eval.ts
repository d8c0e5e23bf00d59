// `idr eval`: runs the household model prequentially over simulated households (with the Bayes ceiling) or an
// NDJSON file of events carrying `truth`, and prints the metrics (docs/model.md, docs/metrics.md).
import { parseArgs } from 'node:util'
import { IdrError } from '../errors.js'
import type { IdrEvent } from '../model/events.js'
import { evaluateEvents, fitTemperature, type EvalReport } from '../sim/evaluate.js'
import { readEventsNdjson } from '../sim/ndjson.js'
import { bayesCeiling, simulate, type Difficulty } from '../sim/simulator.js'

export const EVAL_USAGE = 'idr eval [--households N] [--days D] [--seed S] [--difficulty easy|default|hard] [--input events.ndjson] [--fit-temperature] [--json]'

function int(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new IdrError('BAD_OPTION', `--${name} must be a positive integer, got "${v}"`)
  return n
}

function table(r: EvalReport): string {
  const f = (v: number | null) => (v === null ? '—' : v.toFixed(3))
  const rows: [string, string][] = [
    ['households', String(r.households)], ['sessions', `${r.sessions} (${r.coViewingSessions} co-viewing)`],
    ['events', `${r.events} (${Math.round(r.eventsPerSec).toLocaleString('en')} events/s in process)`],
    ['accuracy (best mapping)', f(r.accuracy)], ['accuracy, mean over households', f(r.accuracyMacro)],
    ['ceiling (Bayes oracle)', f(r.ceiling)], ['accuracy / ceiling', f(r.accuracyToCeiling)],
    ['accuracy at open (provisional)', f(r.accuracyAtOpen)], ['baseline: most active person', f(r.baselineDominant)],
    ['ARI', f(r.ari)], ['NMI', f(r.nmi)], ['household size exact', f(r.kExact)], ['household size MAE', f(r.kMae)],
    ['one-person households kept whole', f(r.singleNotSplit)],
    ['Brier', f(r.brier)], ['NLL', f(r.nll)], ['ECE (15 bins)', f(r.ece)],
    ['coverage at p ≥ 0.85', f(r.coverageAt085)], ['accuracy at p ≥ 0.85', f(r.accuracyAt085)],
    ...Object.entries(r.accuracyBySessions).map(([k, v]): [string, string] => [`accuracy from a person's session ${Number(k) + 1}`, f(v)]),
  ]
  const w = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')
}

export async function evalCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      households: { type: 'string' }, days: { type: 'string' }, seed: { type: 'string' }, difficulty: { type: 'string' },
      input: { type: 'string' }, json: { type: 'boolean', default: false }, 'fit-temperature': { type: 'boolean', default: false },
    },
  })
  let report: EvalReport
  if (values.input) {
    const reader = readEventsNdjson(values.input)
    const events: IdrEvent[] = []
    for await (const e of reader) events.push(e)
    for (const err of reader.errors.slice(0, 5)) console.error(`idr eval: skipped ${err.message}`)
    if (reader.errors.length > 5) console.error(`idr eval: … and ${reader.errors.length - 5} more bad lines`)
    if (values['fit-temperature']) return printFit(fitTemperature(events), values.json)
    report = evaluateEvents(events)
  } else {
    const difficulty = (values.difficulty ?? 'default') as Difficulty
    if (!['easy', 'default', 'hard'].includes(difficulty)) throw new IdrError('BAD_OPTION', `--difficulty must be easy, default or hard, got "${difficulty}"`)
    const sim = simulate({
      households: int('households', values.households, 1000), days: int('days', values.days, 30),
      seed: int('seed', values.seed, 1), difficulty,
    })
    if (values['fit-temperature']) return printFit(fitTemperature(sim.events()), values.json)
    const trueSizes = new Map(sim.households.map((h) => [h.account, h.persons.length]))
    report = evaluateEvents(sim.events(), { ceiling: bayesCeiling(sim).accuracy, trueSizes })
  }
  if (values.json) {
    const { reliability, ...rest } = report
    console.log(JSON.stringify({ ...rest, reliability }))
  } else {
    console.log(table(report))
  }
  return 0
}

/** --fit-temperature: the temperature that minimises ECE on these households (use it as the household's `temperature`). */
function printFit(fit: { temperature: number, ece: number, eceBefore: number }, json: boolean): number {
  if (json) console.log(JSON.stringify(fit))
  else console.log(`temperature ${fit.temperature.toFixed(2)}: ECE ${fit.eceBefore.toFixed(3)} → ${fit.ece.toFixed(3)}`)
  return 0
}
