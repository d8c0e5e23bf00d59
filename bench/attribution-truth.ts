// Question: against the simulator's true incremental conversions per channel, how much closer is person-level
// attribution than account-level attribution — with persons as the household model assigns them, and with the
// true persons (oracle) — under each model, for households of 1..6 people and each difficulty? And which
// combination of Markov and Shapley (the hybrid) does best? Truth: counterfactual runs (src/sim/ground-truth.ts).
// Error: the share error Σ|a/Σa − t/Σt| (NMAE of the credit shares) and Spearman's ρ across channels; the raw
// NMAE Σ|a − t|/Σt is kept in the JSON. docs/attribution.md, "Person against account level".
import { buildJourneys } from '../src/account/index.js'
import { attribute, creditByChannel, nmae, shareError, spearman, type ModelName, type PathTable } from '../src/attribution/index.js'
import { groundTruth, SIM_CHANNELS } from '../src/sim/ground-truth.js'
import { simulate, type Difficulty } from '../src/sim/simulator.js'
import { mdTable, writeResult, type BenchContext } from './lib.js'
import { PERSON_SOURCES, personScores, type PersonScores } from './person-truth.js'

const BASE_MODELS: readonly ModelName[] = ['first', 'last', 'linear', 'decay', 'position', 'markov', 'shapley']
/** Account level; person level as the model assigns it (conversions split by probability, or all to the most probable person); true persons. */
type Variant = 'account' | 'person' | 'personHard' | 'oracle'
const LEVELS: readonly Variant[] = ['account', 'person', 'personHard', 'oracle']
const SHORT: Record<Variant, string> = { account: 'a', person: 's', personHard: 'h', oracle: 'o' }
const DIFFICULTIES: readonly Difficulty[] = ['easy', 'default', 'hard']
/** Household sizes 1..6 (one-hot size mixes) and the simulator's default mix. */
const SIZES: readonly (number | 'mixed')[] = [1, 2, 3, 4, 5, 6, 'mixed']
/** Seed 1 chooses the hybrid's weight; 2 and 3 validate it. */
const SEEDS = [1, 2, 3] as const
/** Markov weights of the hybrid searched on seed 1. */
const HYBRID_GRID = Array.from({ length: 11 }, (_, i) => i / 10)
/** Persons per cell: households of size n are TRUTH_PERSONS / n; the mixed cell has TRUTH_MIXED_HOUSEHOLDS (≈ 2.4 persons each). */
export const TRUTH_PERSONS = 600
export const TRUTH_MIXED_HOUSEHOLDS = 250
export const TRUTH_DAYS = 30

interface Cell {
  size: number | 'mixed'
  difficulty: Difficulty
  seed: number
  households: number
  conversions: number
  truthTotal: number
  attributed: Record<Variant, number>
  /** model (or hybrid:w) → level → { share, raw, rho } */
  scores: Record<string, Record<Variant, { share: number, raw: number, rho: number }>>
  /** Each true person's attribution against their own truth (bench/person-truth.ts). */
  perPerson: PersonScores
}

function sizeMix(size: number | 'mixed'): number[] | undefined {
  return size === 'mixed' ? undefined : Array.from({ length: size }, (_, i) => (i === size - 1 ? 1 : 0))
}

function runCell(size: number | 'mixed', difficulty: Difficulty, seed: number, scale: number, days: number): Cell {
  const households = Math.round(scale * (size === 'mixed' ? TRUTH_MIXED_HOUSEHOLDS : TRUTH_PERSONS / size))
  const options = { households, days, seed, difficulty, ...(size === 'mixed' ? {} : { sizeMix: sizeMix(size)! }) }
  const truth = groundTruth(options)
  const channels = truth.channels.map((c) => c.channel as string)
  const t = Float64Array.from(truth.channels, (c) => c.incremental)
  const sim = simulate(options)
  const { tables } = buildJourneys(sim.events(), { split: 'both' })
  const population = new Map<ModelName, Float64Array>()
  const scores: Cell['scores'] = {}
  const attributed = {} as Record<Variant, number>
  const score = (name: string, level: Variant, a: Float64Array) => {
    scores[name] ??= {} as Record<Variant, { share: number, raw: number, rho: number }>
    scores[name]![level] = { share: shareError(a, t), raw: nmae(a, t), rho: spearman(a, t) }
  }
  for (const level of LEVELS) {
    const table = tables[level] as PathTable
    attributed[level] = table.totalConversions()
    const credit = new Map<ModelName, Float64Array>()
    for (const m of BASE_MODELS) {
      const a = creditByChannel(attribute(table, m), channels)
      credit.set(m, a)
      score(m, level, a)
      if (level === 'oracle') population.set(m, a)
    }
    const mk = credit.get('markov')!
    const sh = credit.get('shapley')!
    for (const w of HYBRID_GRID) score(`hybrid:${w}`, level, mk.map((x, i) => w * x + (1 - w) * sh[i]!))
  }
  const perPerson = personScores(sim.events(), truth, BASE_MODELS, population)
  return { size, difficulty, seed, households, conversions: truth.conversions, truthTotal: t.reduce((a, b) => a + b, 0), attributed, scores, perPerson }
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const sd = (xs: readonly number[]) => {
  const m = mean(xs)
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1))
}
const f3 = (x: number) => x.toFixed(3)

export async function benchAttributionTruth(ctx: BenchContext): Promise<string> {
  const scale = ctx.quick ? 0.1 : 1
  const days = ctx.quick ? 30 : TRUTH_DAYS
  const seeds = ctx.quick ? [1, 2] : [...SEEDS]
  const cells: Cell[] = []
  const t0 = performance.now()
  for (const seed of seeds) {
    for (const difficulty of DIFFICULTIES) {
      for (const size of SIZES) {
        const c = runCell(size, difficulty, seed, scale, days)
        cells.push(c)
        ctx.log(`seed ${seed} ${difficulty} size ${size}: ${c.conversions} conversions, markov share error account ${f3(c.scores['markov']!.account.share)} person ${f3(c.scores['markov']!.person.share)} oracle ${f3(c.scores['markov']!.oracle.share)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`)
      }
    }
  }
  // the hybrid's weight: lowest mean person-level share error over the seed-1 cells
  const pick = (cs: readonly Cell[], level: Variant) => HYBRID_GRID.map((w) => ({ w, e: mean(cs.map((c) => c.scores[`hybrid:${w}`]![level].share)) }))
  const train = cells.filter((c) => c.seed === seeds[0])
  const test = cells.filter((c) => c.seed !== seeds[0])
  const grid = pick(train, 'person')
  const best = grid.reduce((a, b) => (b.e < a.e - 1e-12 ? b : a))
  const validation = pick(test, 'person')
  const models = [...BASE_MODELS, `hybrid:${best.w}`]

  // headline per model: mean over all cells (sizes × difficulties × seeds), spread = sd of the per-seed means
  const perSeed = (model: string, level: Variant, key: 'share' | 'rho') => seeds.map((s) => mean(cells.filter((c) => c.seed === s).map((c) => c.scores[model]![level][key])))
  const rows = models.map((m) => {
    const acc = perSeed(m, 'account', 'share')
    const per = perSeed(m, 'person', 'share')
    const hard = perSeed(m, 'personHard', 'share')
    const ora = perSeed(m, 'oracle', 'share')
    const red = (a: number[], b: number[]) => `${(100 * (1 - mean(b) / mean(a))).toFixed(1)} %`
    const pm = (xs: number[]) => `${f3(mean(xs))} ± ${f3(sd(xs))}`
    return [m, pm(acc), pm(per), pm(hard), pm(ora), red(acc, per), red(acc, hard), red(acc, ora),
      ...LEVELS.map((l) => f3(mean(perSeed(m, l, 'rho'))))]
  })
  // by household size and by difficulty (Markov and Shapley, share error)
  const bySize = SIZES.map((size) => {
    const cs = cells.filter((c) => c.size === size)
    return [String(size), ...['markov', 'shapley', 'linear', 'last'].flatMap((m) => LEVELS.map((l) => f3(mean(cs.map((c) => c.scores[m]![l].share)))))]
  })
  const byDifficulty = DIFFICULTIES.map((d) => {
    const cs = cells.filter((c) => c.difficulty === d && c.size === 'mixed')
    return [d, ...['markov', 'shapley', 'linear', 'last'].flatMap((m) => LEVELS.map((l) => f3(mean(cs.map((c) => c.scores[m]![l].share)))))]
  })
  const file = writeResult('attribution-truth', {
    persons: Math.round(scale * TRUTH_PERSONS), mixedHouseholds: Math.round(scale * TRUTH_MIXED_HOUSEHOLDS), days, seeds, sizes: SIZES, difficulties: DIFFICULTIES, channels: SIM_CHANNELS,
    hybrid: { chosenOnSeed: seeds[0], markovWeight: best.w, trainGrid: grid, validationGrid: validation },
    cells,
  })
  // per person (oracle): mean over cells of the mean share error over each cell's persons with incremental conversions
  const personRows = BASE_MODELS.map((m) => {
    const by = PERSON_SOURCES.map((src) => mean(cells.map((c) => c.perPerson.share[m]![src])))
    return [m, ...by.map(f3), `${(100 * (1 - by[0]! / by[1]!)).toFixed(1)} %`, `${(100 * (1 - by[0]! / by[2]!)).toFixed(1)} %`]
  })
  const personsScored = cells.reduce((a, c) => a + c.perPerson.persons, 0)
  const sizeHeader = ['size', ...['markov', 'shapley', 'linear', 'last'].flatMap((m) => LEVELS.map((l) => `${m} ${SHORT[l]}`))]
  return [
    `${Math.round(scale * TRUTH_PERSONS)} persons (mixed: ${Math.round(scale * TRUTH_MIXED_HOUSEHOLDS)} households) × ${days} days per cell; cells: sizes 1..6 + mixed × ${DIFFICULTIES.join('/')} × seeds ${seeds.join(', ')}; ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    '',
    mdTable(['model', 'share error: account', 'person soft', 'person hard', 'oracle', 'reduction: soft', 'hard', 'oracle', 'ρ: account', 'soft', 'hard', 'oracle'], rows),
    '',
    `hybrid weight on Markov chosen on seed ${seeds[0]}: ${best.w} (person-level share error ${f3(best.e)}); grid on the other seeds: ${validation.map((g) => `${g.w}: ${f3(g.e)}`).join(', ')}`,
    '',
    'share error by household size (a = account, s = person soft, h = person hard, o = oracle; mean over difficulties and seeds):',
    mdTable(sizeHeader, bySize),
    '',
    'share error by difficulty (mixed sizes, mean over seeds):',
    mdTable(sizeHeader.map((h, i) => (i === 0 ? 'difficulty' : h)), byDifficulty),
    '',
    `per person (oracle): each true person's own attribution against their own truth, share error averaged over the ${personsScored} persons with incremental conversions (summed over cells), then over cells:`,
    mdTable(['model', 'own journeys', 'household account level', 'population (all true persons)', 'reduction vs household', 'vs population'], personRows),
    '',
    `results: ${file}`,
  ].join('\n')
}
