// Absorption probabilities of an absorbing Markov chain: x = P x + b over the transient states, where b_s is
// the one-step probability (or expected reward) of the absorbing target from s. I − P is a nonsingular
// M-matrix whenever every transient state reaches absorption, so both solvers below are well posed:
// dense LU with partial pivoting (exact up to rounding) for small chains, Gauss–Seidel for large sparse ones.
import { AttributionError } from './errors.js'

/** Chains with at most this many live transient states are solved densely (LU costs m³/3 flops). */
export const DENSE_MAX_STATES = 256
/** Gauss–Seidel stops when the estimated remaining error, relative to max |x|, is below this. */
export const ITERATIVE_TOLERANCE = 1e-14
export const ITERATIVE_MAX_SWEEPS = 200_000

/** Transition structure over transient states in CSR form; state 0 is the start state (no incoming edges). */
export interface SparseChain {
  readonly states: number
  readonly rowPtr: Int32Array
  readonly col: Int32Array
  readonly prob: Float64Array
}

export type SolverChoice = 'auto' | 'dense' | 'iterative'

/**
 * Solves x = P x + b for two right-hand sides at once over the states not flagged in `removed` (those are
 * absorbed into "null": x = 0), and returns x at the start state for each right-hand side.
 */
export function absorb(chain: SparseChain, b1: Float64Array, b2: Float64Array, removed: Uint8Array | null, solver: SolverChoice = 'auto'): [number, number] {
  const alive: number[] = []
  for (let s = 1; s < chain.states; s++) if (!removed || removed[s] === 0) alive.push(s)
  const dense = solver === 'dense' || (solver === 'auto' && alive.length <= DENSE_MAX_STATES)
  const x1 = new Float64Array(chain.states)
  const x2 = new Float64Array(chain.states)
  if (dense) solveDense(chain, alive, b1, b2, x1, x2)
  else solveGaussSeidel(chain, alive, b1, b2, removed, x1, x2)
  // the start state: one step, then the solved values (it has no incoming edges)
  let s1 = b1[0]!
  let s2 = b2[0]!
  for (let e = chain.rowPtr[0]!; e < chain.rowPtr[1]!; e++) {
    const t = chain.col[e]!
    if (removed && removed[t] !== 0) continue
    s1 += chain.prob[e]! * x1[t]!
    s2 += chain.prob[e]! * x2[t]!
  }
  return [s1, s2]
}

function solveDense(chain: SparseChain, alive: readonly number[], b1: Float64Array, b2: Float64Array, x1: Float64Array, x2: Float64Array): void {
  const m = alive.length
  if (m === 0) return
  const index = new Int32Array(chain.states).fill(-1)
  for (let i = 0; i < m; i++) index[alive[i]!] = i
  const a = new Float64Array(m * m)
  const r = new Float64Array(2 * m) // right-hand sides, column-interleaved: r[2i], r[2i+1]
  for (let i = 0; i < m; i++) {
    const s = alive[i]!
    a[i * m + i] = 1
    for (let e = chain.rowPtr[s]!; e < chain.rowPtr[s + 1]!; e++) {
      const j = index[chain.col[e]!]!
      if (j >= 0) a[i * m + j]! -= chain.prob[e]!
    }
    r[2 * i] = b1[s]!
    r[2 * i + 1] = b2[s]!
  }
  luSolve(a, m, r)
  for (let i = 0; i < m; i++) {
    x1[alive[i]!] = r[2 * i]!
    x2[alive[i]!] = r[2 * i + 1]!
  }
}

/** In place: A (m×m, row-major) = LU with partial pivoting, then r (two interleaved right-hand sides) = A⁻¹ r. */
export function luSolve(a: Float64Array, m: number, r: Float64Array): void {
  for (let k = 0; k < m; k++) {
    let p = k
    let best = Math.abs(a[k * m + k]!)
    for (let i = k + 1; i < m; i++) {
      const v = Math.abs(a[i * m + k]!)
      if (v > best) { best = v; p = i }
    }
    if (best === 0) throw new AttributionError('NO_CONVERGENCE', `absorbing chain is singular at state ${k}: some state never reaches conversion or null`)
    if (p !== k) {
      for (let j = 0; j < m; j++) {
        const t = a[k * m + j]!
        a[k * m + j] = a[p * m + j]!
        a[p * m + j] = t
      }
      const t0 = r[2 * k]!; r[2 * k] = r[2 * p]!; r[2 * p] = t0
      const t1 = r[2 * k + 1]!; r[2 * k + 1] = r[2 * p + 1]!; r[2 * p + 1] = t1
    }
    const pivot = a[k * m + k]!
    for (let i = k + 1; i < m; i++) {
      const f = a[i * m + k]! / pivot
      if (f === 0) continue
      a[i * m + k] = f
      for (let j = k + 1; j < m; j++) a[i * m + j]! -= f * a[k * m + j]!
      r[2 * i]! -= f * r[2 * k]!
      r[2 * i + 1]! -= f * r[2 * k + 1]!
    }
  }
  for (let i = m - 1; i >= 0; i--) {
    let s1 = r[2 * i]!
    let s2 = r[2 * i + 1]!
    for (let j = i + 1; j < m; j++) {
      s1 -= a[i * m + j]! * r[2 * j]!
      s2 -= a[i * m + j]! * r[2 * j + 1]!
    }
    r[2 * i] = s1 / a[i * m + i]!
    r[2 * i + 1] = s2 / a[i * m + i]!
  }
}

/**
 * Gauss–Seidel from x = 0 (monotone for this M-matrix), self-loops solved exactly per state. It stops when
 * the last sweep's change d, relative to max |x|, times r / (1 − r) (r = ratio of the last two changes, the
 * observed contraction) is below ITERATIVE_TOLERANCE: a geometric bound on the error still left.
 */
function solveGaussSeidel(chain: SparseChain, alive: readonly number[], b1: Float64Array, b2: Float64Array, removed: Uint8Array | null, x1: Float64Array, x2: Float64Array): void {
  const { rowPtr, col, prob } = chain
  const order = Int32Array.from(alive)
  let prev = Infinity
  for (let sweep = 1; sweep <= ITERATIVE_MAX_SWEEPS; sweep++) {
    let d1 = 0
    let d2 = 0
    let m1 = 0
    let m2 = 0
    for (let k = 0; k < order.length; k++) {
      const s = order[k]!
      let self = 0
      let v1 = b1[s]!
      let v2 = b2[s]!
      for (let e = rowPtr[s]!; e < rowPtr[s + 1]!; e++) {
        const t = col[e]!
        if (t === s) { self += prob[e]!; continue }
        if (removed !== null && removed[t] !== 0) continue
        v1 += prob[e]! * x1[t]!
        v2 += prob[e]! * x2[t]!
      }
      const inv = 1 / (1 - self)
      v1 *= inv
      v2 *= inv
      const c1 = Math.abs(v1 - x1[s]!)
      const c2 = Math.abs(v2 - x2[s]!)
      if (c1 > d1) d1 = c1
      if (c2 > d2) d2 = c2
      if (v1 > m1) m1 = v1
      if (v2 > m2) m2 = v2
      x1[s] = v1
      x2[s] = v2
    }
    const d = Math.max(m1 > 0 ? d1 / m1 : 0, m2 > 0 ? d2 / m2 : 0)
    if (d <= 4 * Number.EPSILON) return // at rounding level: further sweeps only move the last bits
    const rate = d / prev
    prev = d
    if (sweep > 2 && rate < 1 && (d * rate) / (1 - rate) <= ITERATIVE_TOLERANCE) return
  }
  throw new AttributionError('NO_CONVERGENCE', `Gauss–Seidel did not reach ${ITERATIVE_TOLERANCE} in ${ITERATIVE_MAX_SWEEPS} sweeps over ${alive.length} states`)
}
