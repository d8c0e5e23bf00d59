// How strongly persons follow their profile, per trait, learned at population level (empirical Bayes): the
// strength a_f of θ_j,f ~ Dirichlet(a_f · φ_m,f) that maximises the households' evidence. A trait on which
// persons are their profile (or on which nothing differs: noise) gets a large a, so it cannot make persons;
// a trait on which each person has their own habit (their hours, their devices) gets a small one, so a few
// sessions of it are evidence for a person. docs/model.md, "Trait relevance".
import type { KernelOps } from '../kernels/ops.js'
import type { Encoded, Field } from './mixture.js'
import type { PopulationModel } from './population.js'
import { selectProfilePersons, type ProfilePriors, type ProfileRows, type ProfileSelectOptions } from './profile-persons.js'

export type StrengthTrait = Field | 'duration'
export const STRENGTH_TRAITS: readonly StrengthTrait[] = ['time', 'weekday', 'device', 'genre', 'duration']
/** Candidate strengths (pseudo-sessions), a factor of about 3 apart. */
export const STRENGTH_GRID: readonly number[] = [0.3, 1, 3, 10, 30, 100, 300, 1000]

export interface StrengthFit {
  readonly priors: ProfilePriors
  /** Per round and trait, the summed expected log evidence at every grid value. */
  readonly rounds: readonly Readonly<Record<StrengthTrait, readonly number[]>>[]
}

/**
 * Alternates: persons of every household by evidence under the current strengths, then each trait's strength
 * by the grid value with the highest Σ over persons and profiles of p(profile | person) · ln p(person's counts |
 * profile, a). `households` are not the ones a model is scored on.
 */
export function learnStrengths(ops: KernelOps, households: readonly { rows: ProfileRows, init: Encoded }[], pop: PopulationModel, start: ProfilePriors, select: ProfileSelectOptions, rounds = 2): StrengthFit {
  let priors = start
  const log: Record<StrengthTrait, number[]>[] = []
  for (let round = 0; round < rounds; round++) {
    const totals = Object.fromEntries(STRENGTH_TRAITS.map((t) => [t, STRENGTH_GRID.map(() => 0)])) as Record<StrengthTrait, number[]>
    households.forEach((h, i) => {
      const P = selectProfilePersons(ops, h.rows, h.init, pop, priors, { ...select, seed: select.seed + i }).persons
      for (let j = 0; j < P.k; j++) {
        for (let q = 0; q < P.m; q++) {
          const w = Math.exp(P.logW[j * P.m + q]!)
          if (w < 1e-6) continue
          for (const t of STRENGTH_TRAITS) {
            const row = totals[t]
            STRENGTH_GRID.forEach((a, g) => {
              row[g]! += w * (t === 'duration' ? P.duration(j, q, a, false) : P.fieldEvidence(j, q, t, a))
            })
          }
        }
      }
    })
    const strength = { ...priors.strength }
    for (const t of STRENGTH_TRAITS) {
      const row = totals[t]
      let best = 0
      for (let g = 1; g < row.length; g++) if (row[g]! > row[best]!) best = g
      strength[t] = STRENGTH_GRID[best]!
    }
    priors = { ...priors, strength }
    log.push(totals)
  }
  return { priors, rounds: log }
}
