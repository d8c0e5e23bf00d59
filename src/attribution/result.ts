// What every model returns: credit per channel, in the table's channel order, summing to the table's totals.
import { AttributionError } from './errors.js'
import type { PathTable } from './path-table.js'

/** The models `attribute()` knows by name. */
export type ModelName = 'first' | 'last' | 'linear' | 'decay' | 'position' | 'markov' | 'shapley' | 'hybrid'

/** Credit of one channel under one model. */
export interface ChannelCredit {
  readonly channel: string
  /** Attributed conversions. */
  readonly conversions: number
  /** Attributed conversion value. */
  readonly value: number
  /** Markov only: 1 − P(conversion without the channel) / P(conversion). */
  readonly removalEffect?: number
}

/** One model's attribution over a table (the `--json` shape of `idr attribute`). */
export interface Attribution {
  readonly model: ModelName
  readonly channels: ChannelCredit[]
}

/** Packs per-channel arrays (indexed by channel id) into an `Attribution`. */
export function toAttribution(model: ModelName, table: PathTable, conversions: Float64Array, value: Float64Array, removalEffect?: Float64Array): Attribution {
  // the table's bounds (MAX_SAFE_TOTAL) keep every model finite; this is the last line should one not hold
  for (let c = 0; c < table.channels.length; c++) {
    if (!Number.isFinite(conversions[c]!) || !Number.isFinite(value[c]!) || (removalEffect !== undefined && !Number.isFinite(removalEffect[c]!))) {
      throw new AttributionError('OVERFLOW', `${model}: the credit of channel "${table.channels[c]}" is not finite (conversions ${conversions[c]}, value ${value[c]}); the table's counts are too large for this model`)
    }
  }
  return {
    model,
    channels: table.channels.map((channel, c) => (removalEffect
      ? { channel, conversions: conversions[c]!, value: value[c]!, removalEffect: removalEffect[c]! }
      : { channel, conversions: conversions[c]!, value: value[c]! })),
  }
}
