// Absorption probabilities of an absorbing Markov chain: x = P x + b over the transient states, where b_s is
// the one-step probability (or expected reward) of the absorbing target from s. I − P is a nonsingular
// M-matrix whenever every transient state reaches absorption, so every solver here is well posed: the
// subtraction-free direct factor (direct.ts), dense LU with partial pivoting and Gauss–Seidel (the two
// reference twins). Which one 'auto' takes is decided by the work each would do (absorbRemovals).
import { DIRECT_MAX_STATES, factorChain, inverse, solveStates, solveWork, type AbsorbingChain, type ChainFactor } from './direct.js'
import { AttributionError } from './errors.js'

export { DIRECT_MAX_STATES } from './direct.js'

/** Chains with at most this many states are always solved directly by 'auto' (a factorisation costs ≤ m³/3 multiply-adds). */
export const DENSE_MAX_STATES = 256
/** Gauss–Seidel stops when the estimated remaining error, relative to max |x|, is below this. */
export const ITERATIVE_TOLERANCE = 1e-14
export const ITERATIVE_MAX_SWEEPS = 200_000

/** Transition structure over transient states in CSR form; state 0 is the start state (no incoming edges). */
export type SparseChain = AbsorbingChain

/**
 * 'direct': the GTH factorisation (direct.ts), removals through the inverse when cheaper than refactoring;
 * 'dense': LU with partial pivoting per solve; 'iterative': Gauss–Seidel per solve (both kept as reference
 * twins); 'auto': direct for ≤ DENSE_MAX_STATES states, Gauss–Seidel above DIRECT_MAX_STATES, and between the
 * two whichever the measured work says is cheaper (see absorbRemovals).
 */
export type SolverChoice = 'auto' | 'direct' | 'dense' | 'iterative'
export const SOLVERS: readonly SolverChoice[] = ['auto', 'direct', 'dense', 'iterative']

/** Groups of states removed together: group g is states[ptr[g] .. ptr[g + 1]). */
export interface RemovalGroups {
  readonly ptr: Int32Array
  readonly states: Int32Array
}

/** Absorption value from start, per right-hand side: in the full chain and with each group removed (null: empty group). */
export interface Absorption {
  readonly full: [number, number]
  readonly removed: ([number, number] | null)[]
  /** How each part was solved, for benchmarks and tests. */
  readonly method: { readonly full: SolveMethod, readonly removed: SolveMethod | 'none' }
}
export type SolveMethod = 'dense' | 'iterative' | 'direct' | 'inverse'

/**
 * Solves x = P x + b for two right-hand sides at once over the states not flagged in `removed` (those are
 * absorbed into "null": x = 0), and returns x at the start state for each right-hand side.
 */
export function absorb(chain: SparseChain, b1: Float64Array, b2: Float64Array, removed: Uint8Array | null, solver: SolverChoice = 'auto'): [number, number] {
  const alive = aliveStates(chain, removed)
  const x1 = new Float64Array(chain.states)
  const x2 = new Float64Array(chain.states)
  const choice = solver === 'auto' ? (alive.length <= DENSE_MAX_STATES ? 'direct' : alive.length < DIRECT_MAX_STATES ? 'auto' : 'iterative') : solver
  if (choice === 'dense') solveDense(chain, alive, b1, b2, x1, x2)
  else if (choice === 'iterative') solveGaussSeidel(chain, alive, b1, b2, removed, x1, x2)
  else if (choice === 'direct' || !solveGaussSeidel(chain, alive, b1, b2, removed, x1, x2, directBudget(alive.length)).converged) {
    const [y1, y2] = solveStates(factorChain(chain, removed), chain.states, b1, b2)
    return [y1[0]!, y2[0]!]
  }
  return fromStart(chain, removed, b1, b2, x1, x2)
}

/**
 * The full chain and every removal group, solved as one job. 'auto' between DENSE_MAX_STATES and
 * DIRECT_MAX_STATES states: Gauss–Seidel under a work budget of one dense factorisation, falling back to
 * the direct factor when its observed contraction predicts more; then the first removal is solved the same
 * way, and if the remaining removals at that cost would exceed one inverse of the full factor plus a small
 * dense solve per group (Woodbury), the rest go through the inverse: x'₀ = x₀ − G₀R (G_RR)⁻¹ x_R.
 */
export function absorbRemovals(chain: SparseChain, b1: Float64Array, b2: Float64Array, groups: RemovalGroups, solver: SolverChoice = 'auto'): Absorption {
  const n = chain.states
  const k = groups.ptr.length - 1
  const removed = new Uint8Array(n)
  const mark = (g: number, v: 0 | 1) => { for (let e = groups.ptr[g]!; e < groups.ptr[g + 1]!; e++) removed[groups.states[e]!] = v }
  const out: ([number, number] | null)[] = new Array<[number, number] | null>(k).fill(null)
  const nonEmpty: number[] = []
  for (let g = 0; g < k; g++) if (groups.ptr[g + 1]! > groups.ptr[g]!) nonEmpty.push(g)
  if (solver === 'dense' || solver === 'iterative' || (solver === 'auto' && n > DIRECT_MAX_STATES)) {
    const method = solver === 'auto' ? 'iterative' : solver
    const full = absorb(chain, b1, b2, null, method)
    for (const g of nonEmpty) { mark(g, 1); out[g] = absorb(chain, b1, b2, removed, method); mark(g, 0) }
    return { full, removed: out, method: { full: method, removed: nonEmpty.length ? method : 'none' } }
  }
  // direct, or auto within the direct limit
  const alive = aliveStates(chain, null)
  const tryIterative = solver === 'auto' && n > DENSE_MAX_STATES
  let factor: ChainFactor | null = null
  let x1: Float64Array = new Float64Array(n)
  let x2: Float64Array = new Float64Array(n)
  let fullMethod: SolveMethod = 'direct'
  if (tryIterative) {
    if (solveGaussSeidel(chain, alive, b1, b2, null, x1, x2, directBudget(n)).converged) fullMethod = 'iterative'
  }
  if (fullMethod === 'direct') {
    factor = factorChain(chain, null)
    ;[x1, x2] = solveStates(factor, n, b1, b2)
  }
  const full = fromStart(chain, null, b1, b2, x1, x2)
  // states from which nothing is ever collected (x = 0 exactly) change nothing when redirected to null:
  // answer those groups exactly instead of through a solve whose rounding differs in the last bits
  for (let i = nonEmpty.length - 1; i >= 0; i--) {
    const g = nonEmpty[i]!
    let zero = true
    for (let e = groups.ptr[g]!; e < groups.ptr[g + 1]! && zero; e++) zero = x1[groups.states[e]!] === 0 && x2[groups.states[e]!] === 0
    if (zero) { out[g] = [full[0], full[1]]; nonEmpty.splice(i, 1) }
  }
  if (nonEmpty.length === 0) return { full, removed: out, method: { full: fullMethod, removed: 'none' } }
  // one removal the separate way, to learn what a removal costs
  const first = nonEmpty[0]!
  mark(first, 1)
  let each: number
  let separate: SolveMethod = 'direct'
  const y1 = new Float64Array(n)
  const y2 = new Float64Array(n)
  const outcome = tryIterative ? solveGaussSeidel(chain, aliveStates(chain, removed), b1, b2, removed, y1, y2, directBudget(n)) : null
  if (outcome?.converged) {
    separate = 'iterative'
    each = outcome.work
    out[first] = fromStart(chain, removed, b1, b2, y1, y2)
  } else {
    const f = factorChain(chain, removed)
    const [z1, z2] = solveStates(f, n, b1, b2)
    each = f.work + 2 * solveWork(f) + (outcome?.work ?? 0)
    out[first] = [z1[0]!, z2[0]!]
  }
  mark(first, 0)
  const rest = nonEmpty.slice(1)
  let cubes = 0
  for (const g of rest) cubes += (groups.ptr[g + 1]! - groups.ptr[g]!) ** 3 / 3
  const inverseWork = (factor ? 0 : n ** 3 / 3) + n * (factor ? solveWork(factor) : n * n) + cubes
  if (rest.length > 0 && rest.length * each > inverseWork) {
    factor ??= factorChain(chain, null)
    const [f1, f2] = fullMethod === 'direct' ? [x1, x2] : solveStates(factor, n, b1, b2)
    const g = inverse(factor)
    for (const c of rest) out[c] = removeByInverse(factor, g, f1, f2, groups.states.subarray(groups.ptr[c]!, groups.ptr[c + 1]!))
    return { full, removed: out, method: { full: fullMethod, removed: 'inverse' } }
  }
  for (const g of rest) {
    mark(g, 1)
    if (separate === 'iterative') {
      y1.fill(0)
      y2.fill(0)
      if (solveGaussSeidel(chain, aliveStates(chain, removed), b1, b2, removed, y1, y2, directBudget(n)).converged) {
        out[g] = fromStart(chain, removed, b1, b2, y1, y2)
        mark(g, 0)
        continue
      }
    }
    const [z1, z2] = solveStates(factorChain(chain, removed), n, b1, b2)
    out[g] = [z1[0]!, z2[0]!]
    mark(g, 0)
  }
  return { full, removed: out, method: { full: fullMethod, removed: separate } }
}

/** Work budget before Gauss–Seidel gives way to the direct factor: one dense elimination, m³/3 multiply-adds. */
function directBudget(m: number): number {
  return m ** 3 / 3
}

/**
 * x'₀ with the states of one group absorbed into null, from the full chain's inverse G and solution x: the
 * removed rows become identity rows, i.e. A x' = b + E_R μ with x'_R = 0, so G_RR μ = −x_R and
 * x'₀ = x₀ − G₀R G_RR⁻¹ x_R (Woodbury with the identity rows as the update).
 */
function removeByInverse(f: ChainFactor, g: Float64Array, x1: Float64Array, x2: Float64Array, states: Int32Array): [number, number] {
  const m = f.order.length
  const pos: number[] = []
  for (const s of states) if (f.position[s]! >= 0) pos.push(f.position[s]!)
  const q = pos.length
  const a = new Float64Array(q * q)
  const r = new Float64Array(2 * q)
  for (let i = 0; i < q; i++) {
    for (let j = 0; j < q; j++) a[i * q + j] = g[pos[i]! * m + pos[j]!]!
    const s = f.order[pos[i]!]!
    r[2 * i] = x1[s]!
    r[2 * i + 1] = x2[s]!
  }
  if (q > 0) luSolve(a, q, r)
  const start = f.position[0]!
  let d1 = 0
  let d2 = 0
  for (let i = 0; i < q; i++) {
    d1 += g[start * m + pos[i]!]! * r[2 * i]!
    d2 += g[start * m + pos[i]!]! * r[2 * i + 1]!
  }
  return [x1[0]! - d1, x2[0]! - d2]
}

function aliveStates(chain: SparseChain, removed: Uint8Array | null): number[] {
  const alive: number[] = []
  for (let s = 1; s < chain.states; s++) if (!removed || removed[s] === 0) alive.push(s)
  return alive
}

// the start state: one step, then the solved values (it has no incoming edges)
function fromStart(chain: SparseChain, removed: Uint8Array | null, b1: Float64Array, b2: Float64Array, x1: Float64Array, x2: Float64Array): [number, number] {
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

/** How a budgeted Gauss–Seidel run ended, and the multiply-adds it took. */
interface IterativeOutcome {
  readonly converged: boolean
  readonly work: number
}

/** Sweeps between checks of the contraction against the budget (the rate is taken over the last window). */
const BUDGET_CHECK_SWEEPS = 16

/**
 * Gauss–Seidel from x = 0 (monotone for this M-matrix), self-loops solved exactly per state. It stops when
 * the last sweep's change d, relative to max |x|, times r / (1 − r) (r = ratio of the last two changes, the
 * observed contraction) is below ITERATIVE_TOLERANCE: a geometric bound on the error still left. With a
 * budget (multiply-adds) it gives up early, returning converged: false, once the contraction observed over
 * the last BUDGET_CHECK_SWEEPS sweeps predicts more work than the budget; without one it throws NO_CONVERGENCE
 * after ITERATIVE_MAX_SWEEPS.
 */
function solveGaussSeidel(chain: SparseChain, alive: readonly number[], b1: Float64Array, b2: Float64Array, removed: Uint8Array | null, x1: Float64Array, x2: Float64Array, budget = Infinity): IterativeOutcome {
  const { rowPtr, col, prob } = chain
  const order = Int32Array.from(alive)
  let sweepWork = order.length
  for (const s of order) sweepWork += 2 * (rowPtr[s + 1]! - rowPtr[s]!)
  let prev = Infinity
  let windowStart = Infinity
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
    const work = sweep * sweepWork
    const d = Math.max(m1 > 0 ? d1 / m1 : 0, m2 > 0 ? d2 / m2 : 0)
    if (d <= 4 * Number.EPSILON) return { converged: true, work } // at rounding level: further sweeps only move the last bits
    const rate = d / prev
    prev = d
    if (sweep > 2 && rate < 1 && (d * rate) / (1 - rate) <= ITERATIVE_TOLERANCE) return { converged: true, work }
    if (budget < Infinity && sweep % BUDGET_CHECK_SWEEPS === 0) {
      // contraction per sweep over the window; sweeps still needed to bring d down to the tolerance
      if (windowStart < Infinity) {
        const r = (d / windowStart) ** (1 / BUDGET_CHECK_SWEEPS)
        const left = r < 1 ? Math.log(ITERATIVE_TOLERANCE / d) / Math.log(r) : Infinity
        if (work + left * sweepWork > budget) return { converged: false, work }
      }
      windowStart = d
    }
  }
  if (budget < Infinity) return { converged: false, work: ITERATIVE_MAX_SWEEPS * sweepWork }
  throw new AttributionError('NO_CONVERGENCE', `Gauss–Seidel did not reach ${ITERATIVE_TOLERANCE} in ${ITERATIVE_MAX_SWEEPS} sweeps over ${alive.length} states`)
}
