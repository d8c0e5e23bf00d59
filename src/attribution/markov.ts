// Markov-chain attribution (Anderl, Becker, von Wangenheim & Schumann 2016, "Mapping the customer journey"),
// with removal effects computed exactly from the absorbing chain instead of by simulation (ChannelAttribution
// simulates). States of order k: start, the tuple of the last ≤ k touches (shorter at the start of a path:
// A > B > C at order 2 visits (A), (A,B), (B,C)), conversion and null. Transition weights are the paths'
// journey counts (conversions + nulls); the last state moves to conversion with the path's conversions and
// to null with its nulls.
import { AttributionError } from './errors.js'
import { dedupRepeats, type PathTable } from './path-table.js'
import { toAttribution, type Attribution } from './result.js'
import { absorbRemovals, SOLVERS, type SolveMethod, type SolverChoice, type SparseChain } from './solve.js'

export const MAX_MARKOV_ORDER = 3
/** Edge keys are from·STATE_LIMIT + to, exact in a double while from, to < 2^26. */
const STATE_LIMIT = 2 ** 26

export interface MarkovOptions {
  /** Number of past touches a state remembers, 1..3 (default 1). */
  order?: number
  /**
   * Collapse consecutive repeats (A > A > B → A > B) before building the chain (default false). At order 1 it
   * changes nothing: a self-loop only delays absorption. At order ≥ 2 the tuples (A, A) disappear.
   */
  dedupRepeats?: boolean
  /** Linear solver (default 'auto': the direct factor or Gauss–Seidel, whichever is cheaper; see solve.ts). */
  solver?: SolverChoice
}

/** The absorbing chain built from a table, with what removal needs. */
export interface MarkovChain extends SparseChain {
  readonly order: number
  /** One-step probability of conversion from each state. */
  readonly toConversion: Float64Array
  /** One-step expected conversion value from each state: P(→ conversion) · mean value of those conversions. */
  readonly toValue: Float64Array
  /** The states whose tuple contains channel c: channelStates[channelPtr[c] .. channelPtr[c + 1]). */
  readonly channelPtr: Int32Array
  readonly channelStates: Int32Array
  /** Channel ids of each state's tuple (state 0, start, has none). */
  stateTuple(s: number): number[]
}

/** Result of `markov`: the attribution plus the chain's headline numbers. */
export interface MarkovAttribution extends Attribution {
  /** P(conversion) from start in the full chain. */
  readonly conversionProbability: number
  /** Per channel: 1 − E[value without c] / E[value], the value analogue of the removal effect. */
  readonly valueRemovalEffects: number[]
  readonly states: number
  /** How the full chain and the removals were solved. */
  readonly solved: { readonly full: SolveMethod, readonly removed: SolveMethod | 'none' }
}

/** Builds the order-k absorbing chain of a table. */
export function buildChain(table: PathTable, order = 1): MarkovChain {
  if (!Number.isInteger(order) || order < 1 || order > MAX_MARKOV_ORDER) {
    throw new AttributionError('BAD_OPTION', `order must be an integer from 1 to ${MAX_MARKOV_ORDER}, got ${order}`)
  }
  const base = table.channels.length + 1 // tuple digits are channel id + 1, so 0 means "shorter tuple"
  const keep = base ** (order - 1) // key mod keep drops the oldest touch
  const stateOf = new Map<number, number>([[0, 0]])
  const keys: number[] = [0]
  const edges = new Map<number, number>()
  const convW: number[] = [0]
  const nullW: number[] = [0]
  const valueW: number[] = [0]
  const { offsets, touches } = table
  const state = (key: number): number => {
    let s = stateOf.get(key)
    if (s === undefined) {
      s = keys.length
      if (s >= STATE_LIMIT) throw new AttributionError('TOO_MANY_CHANNELS', `the order-${order} chain would exceed ${STATE_LIMIT} states`)
      stateOf.set(key, s)
      keys.push(key)
      convW.push(0)
      nullW.push(0)
      valueW.push(0)
    }
    return s
  }
  for (let i = 0; i < table.rows; i++) {
    const conv = table.conversions[i]!
    const nulls = table.nulls[i]!
    const w = conv + nulls
    if (w === 0) continue
    let key = 0
    let from = 0
    for (let t = offsets[i]!; t < offsets[i + 1]!; t++) {
      key = (key % keep) * base + touches[t]! + 1
      const to = state(key)
      const e = from * STATE_LIMIT + to
      edges.set(e, (edges.get(e) ?? 0) + w)
      from = to
    }
    convW[from]! += conv
    nullW[from]! += nulls
    valueW[from]! += table.value[i]!
  }
  const n = keys.length
  // CSR, rows in state order
  const out = Float64Array.from(convW, (c, s) => c + nullW[s]!)
  const count = new Int32Array(n + 1)
  for (const [e, w] of edges) {
    const from = Math.floor(e / STATE_LIMIT)
    count[from + 1]!++
    out[from]! += w
  }
  for (let s = 0; s < n; s++) count[s + 1]! += count[s]!
  const rowPtr = count.slice()
  const fill = count.slice(0, n)
  const col = new Int32Array(edges.size)
  const prob = new Float64Array(edges.size)
  for (const [e, w] of edges) {
    const from = Math.floor(e / STATE_LIMIT)
    const k = fill[from]!++
    col[k] = e - from * STATE_LIMIT
    prob[k] = w / out[from]!
  }
  const toConversion = new Float64Array(n)
  const toValue = new Float64Array(n)
  const toAbsorbed = new Float64Array(n)
  for (let s = 0; s < n; s++) {
    if (out[s]! > 0) {
      toConversion[s] = convW[s]! / out[s]!
      toValue[s] = valueW[s]! / out[s]!
      toAbsorbed[s] = (convW[s]! + nullW[s]!) / out[s]!
    }
  }
  const tuple = (s: number): number[] => {
    const digits: number[] = []
    for (let k = keys[s]!; k > 0; k = Math.floor(k / base)) digits.unshift((k % base) - 1)
    return digits
  }
  // channel → states containing it (a tuple may hold a channel twice; list the state once)
  const lists: number[][] = table.channels.map(() => [])
  for (let s = 1; s < n; s++) for (const c of new Set(tuple(s))) lists[c]!.push(s)
  const channelPtr = new Int32Array(table.channels.length + 1)
  lists.forEach((l, c) => { channelPtr[c + 1] = channelPtr[c]! + l.length })
  const channelStates = Int32Array.from(lists.flat())
  return { order, states: n, rowPtr, col, prob, toConversion, toValue, toAbsorbed, channelPtr, channelStates, stateTuple: tuple }
}

/**
 * Markov attribution with exact removal effects: RE_c = 1 − P_c / P, where P is the absorption probability
 * into conversion from start and P_c the same with every state containing c redirected to null. Conversions
 * are split in proportion to RE, value in proportion to the value removal effects (same chain, the expected
 * value collected on absorption as the target).
 */
export function markov(table: PathTable, options: MarkovOptions = {}): MarkovAttribution {
  for (const k of Object.keys(options)) {
    if (!['order', 'dedupRepeats', 'solver'].includes(k)) throw new AttributionError('BAD_OPTION', `unknown Markov option "${k}" (known: order, dedupRepeats, solver)`)
  }
  const source = options.dedupRepeats ? dedupRepeats(table) : table
  const chain = buildChain(source, options.order ?? 1)
  const solver = options.solver ?? 'auto'
  if (!SOLVERS.includes(solver)) throw new AttributionError('BAD_OPTION', `solver must be one of ${SOLVERS.join(', ')}, got "${String(solver)}"`)
  const solved = absorbRemovals(chain, chain.toConversion, chain.toValue, { ptr: chain.channelPtr, states: chain.channelStates }, solver)
  const [p, pv] = solved.full
  if (!Number.isFinite(p) || !Number.isFinite(pv)) throw new AttributionError('OVERFLOW', `the order-${chain.order} chain's conversion probability (${p}) or expected value (${pv}) is not finite`)
  const nc = table.channels.length
  const re = new Float64Array(nc)
  const vre = new Float64Array(nc)
  for (let c = 0; c < nc; c++) {
    const r = solved.removed[c]
    if (!r) continue // channel absent from every weighted path
    const [pc, pvc] = r
    re[c] = p > 0 ? clamp01(1 - pc / p) : 0
    vre[c] = pv > 0 ? clamp01(1 - pvc / pv) : 0
  }
  const conversions = share(re, table.totalConversions())
  const value = share(vre, table.totalValue())
  return {
    ...toAttribution('markov', table, conversions, value, re),
    conversionProbability: p,
    valueRemovalEffects: Array.from(vre),
    states: chain.states,
    solved: solved.method,
  }
}

// removal can only lose probability; rounding may put 1 − P_c/P a few ulps outside [0, 1]
function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x
}

function share(weights: Float64Array, total: number): Float64Array {
  let sum = 0
  for (const w of weights) sum += w
  return sum > 0 ? weights.map((w) => (w / sum) * total) : new Float64Array(weights.length)
}
