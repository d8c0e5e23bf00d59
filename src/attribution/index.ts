// The attribution library: path tables, heuristic, Markov and Shapley models (docs/attribution.md).
import { AttributionError } from './errors.js'
import { heuristic, type HeuristicOptions } from './heuristics.js'
import { hybrid, type HybridOptions } from './hybrid.js'
import { markov } from './markov.js'
import type { PathTable } from './path-table.js'
import type { Attribution, ModelName } from './result.js'
import { shapley } from './shapley.js'

export { AttributionError } from './errors.js'
export type { AttributionErrorCode } from './errors.js'
export { PathTable, PathTableBuilder, dedupRepeats, MAX_CHANNELS } from './path-table.js'
export type { Journey } from './path-table.js'
export { parsePathTable, readPathTable, formatPathTable } from './csv.js'
export { heuristic, DEFAULT_DECAY_HALF_LIFE_TOUCHES, POSITION_FIRST_SHARE, POSITION_LAST_SHARE } from './heuristics.js'
export type { HeuristicName, HeuristicOptions } from './heuristics.js'
export { markov, buildChain, MAX_MARKOV_ORDER } from './markov.js'
export type { MarkovAttribution, MarkovChain, MarkovOptions } from './markov.js'
export { shapley, shapleyExact, shapleySimplified, orderedShapley, shapleyFromWorth, coalitionWorth, MAX_EXACT_SHAPLEY_CHANNELS } from './shapley.js'
export type { OrderedShapley } from './shapley.js'
export type { Attribution, ChannelCredit, ModelName } from './result.js'
export { hybrid, DEFAULT_HYBRID_MARKOV_WEIGHT } from './hybrid.js'
export type { HybridOptions } from './hybrid.js'
export { DEFAULT_LOOKBACK_MS } from './ledger.js'
export { JourneyLedger, Tracks, DEFAULT_MAX_PATH_TOUCHES, involvesPerson, involvesDevice, channelIndex, channelName } from './ledger.js'
export type { JourneyRecord, JourneyTouch, LedgerLevel, LedgerOptions, LedgerStats, PersonShare } from './ledger.js'
export { TimedJourneys, DEFAULT_DECAY_HALF_LIFE_DAYS } from './timed.js'
export { nmae, shareError, spearman, ranks, creditByChannel } from './compare.js'

/** Every model `attribute` runs, in the order `--model all` prints them. */
export const MODELS: readonly ModelName[] = ['first', 'last', 'linear', 'decay', 'position', 'markov', 'shapley', 'hybrid']

export interface AttributeOptions extends HeuristicOptions, HybridOptions {}

/** Runs one named model over a table. */
export function attribute(table: PathTable, model: ModelName, options: AttributeOptions = {}): Attribution {
  switch (model) {
    case 'first':
    case 'last':
    case 'linear':
    case 'position':
      return heuristic(table, model)
    case 'decay':
      return heuristic(table, model, options.halfLife === undefined ? {} : { halfLife: options.halfLife })
    case 'markov': {
      const { halfLife: _h, markovWeight: _w, ...markovOptions } = options
      return markov(table, markovOptions)
    }
    case 'hybrid': {
      const { halfLife: _h, ...hybridOptions } = options
      return hybrid(table, hybridOptions)
    }
    case 'shapley':
      return shapley(table)
    default: {
      const name: string = model
      throw new AttributionError('BAD_OPTION', `unknown model "${name}"; known: ${MODELS.join(', ')}`)
    }
  }
}
