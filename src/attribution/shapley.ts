// Shapley attribution over channels (Zhao, Mahboobi & Bagheri 2018, "Shapley value methods for attribution
// modeling in online advertising", arXiv:1804.05327). The worth of a coalition S of channels is the conversions
// (or value) of the journeys whose channel set is contained in S: v(S) = Σ_{T ⊆ S} R(T), R(T) = conversions of
// journeys whose distinct channels are exactly T. Such a v is a sum of unanimity games, so its Shapley value is
// the simplified formula φ_c = Σ_{T ∋ c} R(T) / |T| (Zhao et al., eq. 8): each converting path's conversions are
// split equally over its distinct channels. `shapleyExact` evaluates the coalition formula itself (the reference
// and the basis for non-additive worths); `shapleySimplified` is the linear-time formula.
import { AttributionError } from './errors.js'
import type { PathTable } from './path-table.js'
import { toAttribution, type Attribution } from './result.js'

/** Exact Shapley enumerates 2^n coalitions; beyond this many channels use `shapleySimplified` (equal values). */
export const MAX_EXACT_SHAPLEY_CHANNELS = 20

/**
 * Shapley values of a game given as worth[S] for every bitmask S over n players (worth[0] is v(∅)):
 * φ_i = Σ_{S ∌ i} |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S)). O(2^n · n).
 */
export function shapleyFromWorth(worth: Float64Array, n: number): Float64Array {
  if (worth.length !== 2 ** n) throw new AttributionError('BAD_OPTION', `worth must have 2^${n} = ${2 ** n} entries, got ${worth.length}`)
  for (let S = 0; S < worth.length; S++) {
    if (!Number.isFinite(worth[S]!)) throw new AttributionError('BAD_VALUE', `worth[${S}] is ${worth[S]}; every coalition's worth must be finite`)
  }
  // weight[s] = s! (n − s − 1)! / n! = 1 / (n · C(n − 1, s))
  const weight = new Float64Array(Math.max(n, 1))
  let binom = 1
  for (let s = 0; s < n; s++) {
    weight[s] = 1 / (n * binom)
    binom = (binom * (n - 1 - s)) / (s + 1)
  }
  const phi = new Float64Array(n)
  const popcount = new Uint8Array(worth.length)
  for (let S = 1; S < worth.length; S++) popcount[S] = popcount[S >> 1]! + (S & 1)
  for (let i = 0; i < n; i++) {
    const bit = 1 << i
    let acc = 0
    for (let S = 0; S < worth.length; S++) {
      if (S & bit) continue
      acc += weight[popcount[S]!]! * (worth[S | bit]! - worth[S]!)
    }
    // finite worths can still overflow in their differences (|v| near Number.MAX_VALUE)
    if (!Number.isFinite(acc)) throw new AttributionError('OVERFLOW', `the Shapley value of player ${i} is not finite: the worths are too large to difference`)
    phi[i] = acc
  }
  return phi
}

/** In place: f[S] ← Σ_{T ⊆ S} f[T] (the zeta transform over subsets, n·2^(n−1) additions). */
export function subsetSums(f: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const bit = 1 << i
    for (let S = 0; S < f.length; S++) if (S & bit) f[S]! += f[S ^ bit]!
  }
}

/** The ⊆-worth of every coalition, for conversions and for value: v(S) = Σ over rows whose channel set ⊆ S. */
export function coalitionWorth(table: PathTable): { conversions: Float64Array, value: Float64Array } {
  const n = table.channels.length
  if (n > MAX_EXACT_SHAPLEY_CHANNELS) {
    throw new AttributionError('TOO_MANY_CHANNELS', `exact Shapley enumerates 2^n coalitions and takes at most ${MAX_EXACT_SHAPLEY_CHANNELS} channels, got ${n}; use the simplified formula (same values for this worth)`)
  }
  const conv = new Float64Array(2 ** n)
  const value = new Float64Array(2 ** n)
  for (let i = 0; i < table.rows; i++) {
    const c = table.conversions[i]!
    const v = table.value[i]!
    if (c === 0 && v === 0) continue
    let mask = 0
    for (const ch of table.path(i)) mask |= 1 << ch
    conv[mask]! += c
    value[mask]! += v
  }
  subsetSums(conv, n)
  subsetSums(value, n)
  return { conversions: conv, value }
}

/** Exact Shapley over all coalitions of the table's channels (≤ MAX_EXACT_SHAPLEY_CHANNELS). */
export function shapleyExact(table: PathTable): Attribution {
  const n = table.channels.length
  const worth = coalitionWorth(table)
  return toAttribution('shapley', table, shapleyFromWorth(worth.conversions, n), shapleyFromWorth(worth.value, n))
}

/** Zhao et al.'s simplified Shapley: each converting path's conversions and value split equally over its distinct channels. */
export function shapleySimplified(table: PathTable): Attribution {
  const nc = table.channels.length
  const conv = new Float64Array(nc)
  const value = new Float64Array(nc)
  forEachConverting(table, (distinct, c, v) => {
    const k = distinct.length
    for (const ch of distinct) {
      conv[ch]! += c / k
      value[ch]! += v / k
    }
  })
  return toAttribution('shapley', table, conv, value)
}

/** Calls fn for every path with conversions or value, with its distinct channels in first-touch order (an array reused between calls). */
function forEachConverting(table: PathTable, fn: (distinct: readonly number[], conversions: number, value: number) => void): void {
  const seen = new Int32Array(table.channels.length).fill(-1)
  const distinct: number[] = []
  for (let i = 0; i < table.rows; i++) {
    const c = table.conversions[i]!
    const v = table.value[i]!
    if (c === 0 && v === 0) continue
    distinct.length = 0
    for (const ch of table.path(i)) {
      if (seen[ch] !== i) { seen[ch] = i; distinct.push(ch) }
    }
    fn(distinct, c, v)
  }
}

/** Shapley by exact enumeration when the channels are few enough, else the simplified formula (equal for this worth). */
export function shapley(table: PathTable): Attribution {
  return table.channels.length <= MAX_EXACT_SHAPLEY_CHANNELS ? shapleyExact(table) : shapleySimplified(table)
}

/** Credit per (channel, position): conversions[c][p] for the channel's rank p (0-based) among a path's distinct channels. */
export interface OrderedShapley {
  readonly channels: readonly string[]
  /** conversions[c][p]; rows sum to the simplified Shapley credit of channel c. */
  readonly conversions: Float64Array[]
  readonly value: Float64Array[]
  /** Number of positions (the most distinct channels on one converting path). */
  readonly positions: number
}

/**
 * Ordered Shapley (Zhao et al. 2018, section 4): a converting path's distinct channels are ranked by their
 * first touch, and each earns conversions / k at its rank (k distinct channels), so position effects show
 * while the totals per channel stay the simplified Shapley values.
 */
export function orderedShapley(table: PathTable): OrderedShapley {
  const nc = table.channels.length
  let longest = 0
  for (let i = 0; i < table.rows; i++) longest = Math.max(longest, table.offsets[i + 1]! - table.offsets[i]!)
  const bound = Math.min(nc, longest) // no path has more distinct channels than this
  const conversions = table.channels.map(() => new Float64Array(bound))
  const value = table.channels.map(() => new Float64Array(bound))
  let positions = 0
  forEachConverting(table, (distinct, c, v) => {
    const k = distinct.length
    positions = Math.max(positions, k)
    for (let pos = 0; pos < k; pos++) {
      conversions[distinct[pos]!]![pos]! += c / k
      value[distinct[pos]!]![pos]! += v / k
    }
  })
  return { channels: table.channels, conversions: conversions.map((a) => a.slice(0, positions)), value: value.map((a) => a.slice(0, positions)), positions }
}
