// Rule-based attribution: each converting path's conversions and value are split over its touches by a fixed
// rule of position. Repeated touches of a channel each earn their share (A > B > A under linear gives A 2/3).
import { AttributionError } from './errors.js'
import type { PathTable } from './path-table.js'
import { toAttribution, type Attribution } from './result.js'

/** Time decay on a path table (no timestamps): a touch k steps before the last weighs 2^(−k / halfLife). */
export const DEFAULT_DECAY_HALF_LIFE_TOUCHES = 1
/** Position based (U-shaped): share of the first and of the last touch; the middle touches split the rest. */
export const POSITION_FIRST_SHARE = 0.4
export const POSITION_LAST_SHARE = 0.4

export type HeuristicName = 'first' | 'last' | 'linear' | 'decay' | 'position'

export interface HeuristicOptions {
  /** Half-life of time decay, in touches counted back from the last one (default 1: each step back halves). */
  halfLife?: number
}

/** The share of touch t (0-based) of an n-touch path; shares of one path sum to 1. */
type ShareRule = (t: number, n: number) => number

function rule(name: HeuristicName, options: HeuristicOptions): ShareRule {
  switch (name) {
    case 'first': return (t) => (t === 0 ? 1 : 0)
    case 'last': return (t, n) => (t === n - 1 ? 1 : 0)
    case 'linear': return (_t, n) => 1 / n
    case 'position': return (t, n) => {
      if (n === 1) return 1
      if (n === 2) return 0.5
      if (t === 0) return POSITION_FIRST_SHARE
      if (t === n - 1) return POSITION_LAST_SHARE
      return (1 - POSITION_FIRST_SHARE - POSITION_LAST_SHARE) / (n - 2)
    }
    case 'decay': {
      const h = options.halfLife ?? DEFAULT_DECAY_HALF_LIFE_TOUCHES
      if (!(h > 0 && h < Infinity)) throw new AttributionError('BAD_OPTION', `halfLife must be a positive number of touches, got ${h}`)
      // normalisers per path length, grown on demand: Σ_{k<n} 2^(−k/h)
      const norm: number[] = [0]
      return (t, n) => {
        while (norm.length <= n) norm.push(norm[norm.length - 1]! + 2 ** (-(norm.length - 1) / h))
        return 2 ** (-(n - 1 - t) / h) / norm[n]!
      }
    }
    default: {
      const never: never = name
      throw new AttributionError('BAD_OPTION', `unknown heuristic "${String(never)}"`)
    }
  }
}

/** Attributes every converting path's conversions and value to its touches by the named rule. */
export function heuristic(table: PathTable, name: HeuristicName, options: HeuristicOptions = {}): Attribution {
  const share = rule(name, options)
  const conv = new Float64Array(table.channels.length)
  const value = new Float64Array(table.channels.length)
  const { offsets, touches } = table
  for (let i = 0; i < table.rows; i++) {
    const c = table.conversions[i]!
    const v = table.value[i]!
    if (c === 0 && v === 0) continue
    const start = offsets[i]!
    const n = offsets[i + 1]! - start
    for (let t = 0; t < n; t++) {
      const s = share(t, n)
      if (s === 0) continue
      const ch = touches[start + t]!
      conv[ch]! += c * s
      value[ch]! += v * s
    }
  }
  return toAttribution(name, table, conv, value)
}
