// `idr eval`: runs the household model prequentially over simulated households (with the Bayes ceiling) or an
// NDJSON file of events carrying `truth`, and prints the metrics (docs/model.md, docs/metrics.md).
import type { IdrEvent } from '../model/events.js'
import type { Detection } from '../model/unseen.js'
import { evaluateEvents, fitTemperature, fitUnseen, type EvalReport, type EventEvaluation } from '../sim/evaluate.js'
import { readEventsNdjson } from '../sim/ndjson.js'
import { bayesCeiling, simulate } from '../sim/simulator.js'
import { DIFFICULTIES } from '../sim/options.js'
import { choice, parseFlags, UsageError, wantsHelp, wholeNumber } from '../options/args.js'

const EVAL_DEFAULTS = { households: 1000, days: 30, seed: 1 } as const

export const EVAL_USAGE = `idr eval [options]: the household model scored session by session (docs/model.md, docs/metrics.md)

  --households N      simulated households (default ${EVAL_DEFAULTS.households})
  --days D            days simulated (default ${EVAL_DEFAULTS.days})
  --seed S            simulation seed (default ${EVAL_DEFAULTS.seed})
  --difficulty L      easy | default | hard (default default)
  --input FILE        evaluate an NDJSON file of events that carry truth instead (idr simulate writes one);
                      no Bayes ceiling then. Bad lines, duplicates and late events are counted and shown
  --fit-temperature   print the temperature that minimises ECE instead (needs truth)
  --fit-unseen        print the unseen mass's detection curve fitted on these households instead
                      (unsupervised: truth is not used; pass it as the household option unseen.detection)
  --json              one JSON object instead of the table

Examples:
  idr eval --households 300 --difficulty hard
  idr simulate --households 200 --out events.ndjson && idr eval --input events.ndjson`

const FLAGS = {
  households: { type: 'string' }, days: { type: 'string' }, seed: { type: 'string' }, difficulty: { type: 'string' },
  input: { type: 'string' }, json: { type: 'boolean' }, 'fit-temperature': { type: 'boolean' },
  'fit-unseen': { type: 'boolean' },
} as const

/** What was read but not scored: bad lines of the file (--input only), events the model rejected, sessions without truth. */
interface Ignored {
  badLines: number
  duplicates: number
  late: number
  clockAhead: number
  sessionsWithoutTruth: number
}

const int = (x: number): string => x.toLocaleString('en')

/** The metrics' meaning, printed under the table (docs/metrics.md has the formulas). */
const LEGEND = `accuracy: share of sessions whose most probable person is the true one, under each household's best
one-to-one mapping of found to true persons. Brier: mean squared error of the probabilities (0 best, 2 worst).
NLL: mean negative log-likelihood, −ln of the probability given to the true person, in nats (0 best; 0.69 is a
coin flip between two). ECE: expected calibration error, the mean gap between confidence and accuracy over 15
bins (0 best). Definitions: docs/metrics.md.`

function table(r: EvalReport, ignored: Ignored): string {
  const f = (v: number | null) => (v === null ? '—' : v.toFixed(3))
  const rows: [string, string][] = [
    ['households', int(r.households)], ['sessions scored', `${int(r.sessions)} (${int(r.coViewingSessions)} co-viewing)`],
    ['events', `${int(r.events)} (${int(Math.round(r.eventsPerSec))} events/s in process)`],
    ['ignored', `${int(ignored.badLines)} bad lines, ${int(ignored.duplicates)} duplicates, ${int(ignored.late)} late events` +
      `${ignored.clockAhead > 0 ? `, ${int(ignored.clockAhead)} ahead of the clock` : ''}; ${int(ignored.sessionsWithoutTruth)} sessions without truth (not scored)`],
    ['accuracy (best mapping)', f(r.accuracy)], ['accuracy, mean over households', f(r.accuracyMacro)],
    ['ceiling (Bayes oracle)', f(r.ceiling)], ['accuracy / ceiling', f(r.accuracyToCeiling)],
    ['accuracy at open (provisional)', f(r.accuracyAtOpen)], ['baseline: most active person', f(r.baselineDominant)],
    ['ARI', f(r.ari)], ['NMI', f(r.nmi)], ['household size exact', f(r.kExact)], ['household size MAE', f(r.kMae)],
    ['one-person households kept whole', f(r.singleNotSplit)],
    ['Brier', f(r.brier)], ['NLL (nats)', f(r.nll)], ['ECE (15 bins)', f(r.ece)],
    ['coverage at p ≥ 0.85', f(r.coverageAt085)], ['accuracy at p ≥ 0.85', f(r.accuracyAt085)],
    ...Object.entries(r.accuracyBySessions).map(([k, v]): [string, string] => [`accuracy from a person's session ${Number(k) + 1}`, f(v)]),
  ]
  const w = Math.max(...rows.map(([k]) => k.length))
  return `${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n\n${LEGEND}`
}

export async function evalCommand(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    console.log(EVAL_USAGE)
    return 0
  }
  const { values } = parseFlags(args, FLAGS)
  const json = values.json ?? false
  const households = wholeNumber('households', values.households, 1) ?? EVAL_DEFAULTS.households
  const days = wholeNumber('days', values.days, 1) ?? EVAL_DEFAULTS.days
  const seed = wholeNumber('seed', values.seed, 0, 2 ** 32 - 1) ?? EVAL_DEFAULTS.seed
  const difficulty = choice('difficulty', values.difficulty, DIFFICULTIES) ?? 'default'
  let report: EventEvaluation
  let badLines = 0
  if (values.input !== undefined) {
    const simOnly = (['households', 'days', 'seed', 'difficulty'] as const).filter((k) => values[k] !== undefined)
    if (simOnly.length > 0) throw new UsageError(`${simOnly.map((k) => `--${k}`).join(', ')} describe simulated households; they do not apply to --input`)
    const reader = readEventsNdjson(values.input)
    const events: IdrEvent[] = []
    for await (const e of reader) events.push(e)
    for (const err of reader.errors.slice(0, 5)) console.error(`idr eval: skipped ${err.message}`)
    if (reader.errors.length > 5) console.error(`idr eval: … and ${reader.errors.length - 5} more bad lines`)
    badLines = reader.errors.length
    if (values['fit-temperature']) return printFit(fitTemperature(events), json)
    if (values['fit-unseen']) return printUnseen(fitUnseen(events), json)
    report = evaluateEvents(events)
  } else {
    const sim = simulate({ households, days, seed, difficulty })
    if (values['fit-temperature']) return printFit(fitTemperature(sim.events()), json)
    if (values['fit-unseen']) return printUnseen(fitUnseen(sim.events()), json)
    const trueSizes = new Map(sim.households.map((h) => [h.account, h.persons.length]))
    report = evaluateEvents(sim.events(), { ceiling: bayesCeiling(sim).accuracy, trueSizes })
  }
  const { rejected, sessionsWithoutTruth } = report.ignored
  const ignored: Ignored = { badLines, duplicates: rejected.duplicate, late: rejected.late, clockAhead: rejected['clock-ahead'], sessionsWithoutTruth }
  if (json) {
    const { reliability, ignored: _, ...rest } = report
    console.log(JSON.stringify({ ...rest, ignored, reliability }))
  } else {
    console.log(table(report, ignored))
  }
  return 0
}

/** --fit-temperature: the temperature that minimises ECE on these households (use it as the household's `temperature`). */
function printFit(fit: { temperature: number, ece: number, eceBefore: number }, json: boolean): number {
  if (json) console.log(JSON.stringify(fit))
  else console.log(`temperature ${fit.temperature.toFixed(2)}: ECE ${fit.eceBefore.toFixed(3)} → ${fit.ece.toFixed(3)}`)
  return 0
}

/** --fit-unseen: the detection curve of the unseen mass on these households (docs/model.md, "Honest probabilities"). */
function printUnseen(fit: { detection: Detection, observations: number }, json: boolean): number {
  const d = fit.detection
  if (json) console.log(JSON.stringify({ unseen: { detection: d }, observations: fit.observations }))
  else console.log(`unseen.detection { a: ${d.a}, b: ${d.b.toFixed(1)}, c: ${d.c.toFixed(1)} } from ${int(fit.observations)} household sizes (every 5th close)`)
  return 0
}
