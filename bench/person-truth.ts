// Per-person scores for bench/attribution-truth.ts: each true person's own attribution (oracle journeys of that
// person alone) against that person's own incremental conversions (groundTruth().persons), next to two answers
// that do not look at the person's journeys: their household's account-level credit and the population's
// (every true person's journeys together). Share error per person, averaged over persons with Σ truth > 0.
import { buildJourneys } from '../src/account/index.js'
import { attribute, creditByChannel, shareError, type ModelName, type PathTable } from '../src/attribution/index.js'
import type { IdrEvent } from '../src/model/events.js'
import type { GroundTruth } from '../src/sim/ground-truth.js'

/** Whose credit is compared with a person's truth: their own journeys, their household's, everyone's. */
export type PersonSource = 'own' | 'household' | 'population'
export const PERSON_SOURCES: readonly PersonSource[] = ['own', 'household', 'population']

export interface PersonScores {
  /** Persons with Σ_c incremental(c) > 0 (those scored). */
  readonly persons: number
  /** model → source → mean share error over the scored persons whose credit is not all zero. */
  readonly share: Record<string, Record<PersonSource, number>>
  /** Scored persons whose own oracle credit was all zero (left out of `own`). */
  readonly uncredited: number
}

const credit = (table: PathTable | null, model: ModelName, channels: readonly string[]) =>
  (table === null || table.totalConversions() === 0 ? new Float64Array(channels.length) : creditByChannel(attribute(table, model), channels))

/** Scores `models` per person; `events` are the cell's events, `population` the credit of its oracle table per model. */
export function personScores(events: Iterable<IdrEvent>, truth: GroundTruth, models: readonly ModelName[], population: ReadonlyMap<ModelName, Float64Array>): PersonScores {
  const channels = truth.channels.map((c) => c.channel as string)
  const byPerson = new Map<string, IdrEvent[]>()
  const byAccount = new Map<string, IdrEvent[]>()
  for (const e of events) {
    if (e.kind !== 'touch' && e.kind !== 'convert') continue
    push(byPerson, `${e.account} ${e.truth ?? ''}`, e)
    push(byAccount, e.account, e)
  }
  const sums = Object.fromEntries(models.map((m) => [m, { own: 0, household: 0, population: 0 }])) as Record<string, Record<PersonSource, number>>
  const counts = Object.fromEntries(models.map((m) => [m, { own: 0, household: 0, population: 0 }])) as Record<string, Record<PersonSource, number>>
  const households = new Map<string, PathTable | null>()
  let persons = 0
  let uncredited = 0
  for (const p of truth.persons) {
    const t = Float64Array.from(p.channels, (c) => c.incremental)
    if (!(t.reduce((a, b) => a + b, 0) > 0)) continue
    persons++
    const own = buildJourneys(byPerson.get(`${p.account} ${p.person}`) ?? [], { levels: ['oracle'] }).tables.oracle
    if (!households.has(p.account)) households.set(p.account, buildJourneys(byAccount.get(p.account) ?? [], { levels: ['account'] }).tables.account)
    const household = households.get(p.account)!
    if (own === null || own.totalConversions() === 0) uncredited++
    for (const m of models) {
      const add = (source: PersonSource, a: Float64Array) => {
        const e = shareError(a, t)
        if (Number.isNaN(e)) return
        sums[m]![source] += e
        counts[m]![source]++
      }
      add('own', credit(own, m, channels))
      add('household', credit(household, m, channels))
      add('population', population.get(m)!)
    }
  }
  const share = Object.fromEntries(models.map((m) => [m, Object.fromEntries(PERSON_SOURCES.map((s) => [s, sums[m]![s] / counts[m]![s]]))])) as Record<string, Record<PersonSource, number>>
  return { persons, share, uncredited }
}

function push<T>(m: Map<string, T[]>, k: string, x: T): void {
  const xs = m.get(k)
  if (xs === undefined) m.set(k, [x])
  else xs.push(x)
}
