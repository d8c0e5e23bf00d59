// The hybrid of Markov and Shapley: a weighted mean of their credits, conversions and value alike. On the
// ground-truth comparison no weight beat Shapley alone (the error grows monotonically with Markov's weight, on
// the seed that chose it and on the two that checked it, at every level), so the default weight is 0: the
// hybrid gives Shapley's credit unless a weight is asked for. docs/attribution.md, "The hybrid".
import { AttributionError } from './errors.js'
import { markov, type MarkovOptions } from './markov.js'
import type { PathTable } from './path-table.js'
import { toAttribution, type Attribution } from './result.js'
import { shapley } from './shapley.js'

/** Weight of the Markov credit in the hybrid (the rest is Shapley's): 0, measured (docs/attribution.md, "The hybrid"). */
export const DEFAULT_HYBRID_MARKOV_WEIGHT = 0

export interface HybridOptions extends MarkovOptions {
  /** Weight of Markov's credit, in [0, 1]. Default DEFAULT_HYBRID_MARKOV_WEIGHT. */
  markovWeight?: number
}

/** w · Markov + (1 − w) · Shapley per channel; sums to the table's totals as both parts do. */
export function hybrid(table: PathTable, options: HybridOptions = {}): Attribution {
  const { markovWeight = DEFAULT_HYBRID_MARKOV_WEIGHT, ...markovOptions } = options
  if (!(markovWeight >= 0 && markovWeight <= 1)) throw new AttributionError('BAD_OPTION', `markovWeight must be a number in [0, 1], got ${String(markovWeight)}`)
  const m = markov(table, markovOptions)
  const s = shapley(table)
  const n = table.channels.length
  const conv = new Float64Array(n)
  const value = new Float64Array(n)
  for (let c = 0; c < n; c++) {
    conv[c] = markovWeight * m.channels[c]!.conversions + (1 - markovWeight) * s.channels[c]!.conversions
    value[c] = markovWeight * m.channels[c]!.value + (1 - markovWeight) * s.channels[c]!.value
  }
  return toAttribution('hybrid', table, conv, value)
}
