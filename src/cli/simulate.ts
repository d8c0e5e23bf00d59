// `idr simulate`: sample data for a user's own tools: simulated households' events, each with the true person
// (`truth`), written as NDJSON that `idr eval --input` and `idr attribute --input` read (docs/simulator.md).
import { writeEventsNdjson } from '../sim/ndjson.js'
import { simulate } from '../sim/simulator.js'
import { DIFFICULTIES } from '../sim/options.js'
import { choice, parseFlags, share, UsageError, wantsHelp, wholeNumber } from '../options/args.js'

const SIMULATE_DEFAULTS = { households: 100, days: 30, seed: 1 } as const

export const SIMULATE_USAGE = `idr simulate --out FILE [options]: simulated households' events with the truth, as NDJSON

One event per line (docs/events.md), in arrival order, each with "truth": the true person ("p2") or
persons ("p1+p3") on it. idr eval --input and idr attribute --input read the file.

  --out FILE          where the events go (replaced if it exists); required
  --households N      households (default ${SIMULATE_DEFAULTS.households}); accounts acct-000001, …
  --days D            days of viewing (default ${SIMULATE_DEFAULTS.days})
  --seed S            simulation seed, 0 to 2^32 − 1 (default ${SIMULATE_DEFAULTS.seed}); the same seed gives the same file
  --difficulty L      easy | default | hard: how alike household members are (default default)
  --late-rate R       share of events delivered late, 0 to 1 (default 0)
  --duplicate-rate R  share of events delivered twice, 0 to 1 (default 0)

Examples:
  idr simulate --households 200 --days 14 --seed 7 --out events.ndjson
  idr simulate --difficulty hard --late-rate 0.01 --out hard.ndjson && idr eval --input hard.ndjson`

const FLAGS = {
  out: { type: 'string' }, households: { type: 'string' }, days: { type: 'string' }, seed: { type: 'string' },
  difficulty: { type: 'string' }, 'late-rate': { type: 'string' }, 'duplicate-rate': { type: 'string' },
} as const

export async function simulateCommand(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    console.log(SIMULATE_USAGE)
    return 0
  }
  const { values } = parseFlags(args, FLAGS)
  if (values.out === undefined) throw new UsageError('--out FILE is required: where the events go')
  const sim = simulate({
    households: wholeNumber('households', values.households, 1) ?? SIMULATE_DEFAULTS.households,
    days: wholeNumber('days', values.days, 1) ?? SIMULATE_DEFAULTS.days,
    seed: wholeNumber('seed', values.seed, 0, 2 ** 32 - 1) ?? SIMULATE_DEFAULTS.seed,
    difficulty: choice('difficulty', values.difficulty, DIFFICULTIES) ?? 'default',
    lateRate: share('late-rate', values['late-rate']) ?? 0,
    duplicateRate: share('duplicate-rate', values['duplicate-rate']) ?? 0,
  })
  const written = await writeEventsNdjson(sim.events(), values.out)
  const persons = sim.households.reduce((n, h) => n + h.persons.length, 0)
  const sessions = sim.households.reduce((n, h) => n + h.sessions.length, 0)
  const n = (x: number): string => x.toLocaleString('en')
  console.log(`${values.out}: ${n(written)} events of ${n(sim.households.length)} households (${n(persons)} persons, ${n(sessions)} sessions, ${sim.options.days} days, seed ${sim.options.seed}, ${sim.options.difficulty})`)
  return 0
}
