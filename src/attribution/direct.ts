// Direct solve of an absorbing chain, x = P x + b, by Gaussian elimination of A = I − P without subtraction
// (the GTH variant: Grassmann, Taksar & Heyman 1985, "Regenerative analysis and steady state distributions for
// Markov chains", Oper. Res. 33(5); for absorbing chains see O'Cinneide 1993, "Entrywise perturbation theory and
// error analysis for Markov chains", Numer. Math. 65). A is an M-matrix whose row sums are the one-step exit
// probabilities e ≥ 0, and every Schur complement keeps both properties, so each pivot is computed as
// e_k + Σ |off-diagonal| of its row instead of as a difference, the multipliers are ≥ 0, and forward and back
// substitution add non-negative terms only. No pivoting is needed, and the result has small relative error
// entry by entry even when the chain is nearly singular (a 1,000,000-step path exits once per million steps).
// Elimination runs in the chain's reverse DFS postorder from start, so on forward (near-acyclic) chains A is
// nearly upper triangular and there is little to eliminate; the work matrix is dense (m² doubles), the work
// itself skips zeros (Σ_k |L column k| · |U row k| multiply-adds).
import { AttributionError } from './errors.js'

/** Direct factorisations are refused above this many states (the work matrix is m² doubles: 32 MiB at 2,048). */
export const DIRECT_MAX_STATES = 2048

/** Rows of U at least this full are applied with a contiguous loop rather than through their index list. */
const DENSE_ROW_SHARE = 0.5

/** What the direct solver needs of a chain: CSR transitions over all states and one-step absorption. */
export interface AbsorbingChain {
  readonly states: number
  readonly rowPtr: Int32Array
  readonly col: Int32Array
  readonly prob: Float64Array
  /** One-step probability of leaving the transient states from each state (to conversion or null). */
  readonly toAbsorbed: Float64Array
}

/** A factorisation A = L U over the live states, held as GTH magnitudes (every stored number is ≥ 0). */
export interface ChainFactor {
  /** Live states in elimination order: position → state. */
  readonly order: Int32Array
  /** state → position, −1 for a removed state. */
  readonly position: Int32Array
  /** L by columns: multipliers lVal[lPtr[k] .. lPtr[k+1]) for rows lRow (positions > k). */
  readonly lPtr: Int32Array
  readonly lRow: Int32Array
  readonly lVal: Float64Array
  /** U by rows, off-diagonal magnitudes: uVal[uPtr[k] .. uPtr[k+1]) at columns uCol (positions > k). */
  readonly uPtr: Int32Array
  readonly uCol: Int32Array
  readonly uVal: Float64Array
  readonly pivot: Float64Array
  /** Multiply-adds the elimination took (for cost decisions). */
  readonly work: number
}

/** Live states (not flagged in `removed`, state 0 always live) in reverse DFS postorder from state 0, then any unreached. */
export function eliminationOrder(chain: AbsorbingChain, removed: Uint8Array | null): Int32Array {
  const n = chain.states
  const { rowPtr, col } = chain
  const live = (s: number) => s === 0 || removed === null || removed[s] === 0
  const seen = new Uint8Array(n)
  const post: number[] = []
  const stack = new Int32Array(n)
  const edge = new Int32Array(n)
  const visit = (root: number) => {
    let top = 0
    stack[0] = root
    edge[0] = rowPtr[root]!
    seen[root] = 1
    while (top >= 0) {
      const s = stack[top]!
      const e = edge[top]!
      if (e < rowPtr[s + 1]!) {
        edge[top] = e + 1
        const t = col[e]!
        if (seen[t] === 0 && live(t)) {
          seen[t] = 1
          stack[++top] = t
          edge[top] = rowPtr[t]!
        }
      } else {
        post.push(s)
        top--
      }
    }
  }
  visit(0)
  const order: number[] = post.reverse()
  for (let s = 1; s < n; s++) if (seen[s] === 0 && live(s)) order.push(s) // unreachable from start: solved, never read
  return Int32Array.from(order)
}

/** Factorises I − P over the live states; states flagged in `removed` are absorbed into null. */
export function factorChain(chain: AbsorbingChain, removed: Uint8Array | null): ChainFactor {
  const order = eliminationOrder(chain, removed)
  const m = order.length
  if (m > DIRECT_MAX_STATES) throw new AttributionError('TOO_MANY_CHANNELS', `a direct solve takes at most ${DIRECT_MAX_STATES} live states, got ${m}`)
  const position = new Int32Array(chain.states).fill(-1)
  for (let i = 0; i < m; i++) position[order[i]!] = i
  const a = new Float64Array(m * m) // off-diagonal magnitudes of the current Schur complement, row-major by position
  const exit = new Float64Array(m) // its row sums
  for (let i = 0; i < m; i++) {
    const s = order[i]!
    let e = chain.toAbsorbed[s]!
    let mass = e
    for (let k = chain.rowPtr[s]!; k < chain.rowPtr[s + 1]!; k++) {
      const t = chain.col[k]!
      mass += chain.prob[k]!
      if (t === s) continue // a self-loop only lowers the diagonal, which is rebuilt from the row sum
      const j = position[t]!
      if (j < 0) e += chain.prob[k]! // into a removed state: absorbed into null
      else a[i * m + j]! += chain.prob[k]!
    }
    // a state that was entered only by journeys of zero weight has no outgoing mass at all: its row of I − P is
    // the identity row (as the dense solver sees it), i.e. it is absorbed with nothing collected
    exit[i] = mass === 0 ? 1 : e
  }
  const lPtr = new Int32Array(m + 1)
  const uPtr = new Int32Array(m + 1)
  const lRow: number[] = []
  const lVal: number[] = []
  const uCol: number[] = []
  const uVal: number[] = []
  const pivot = new Float64Array(m)
  const cols = new Int32Array(m)
  const vals = new Float64Array(m)
  let work = 0
  for (let k = 0; k < m; k++) {
    let d = exit[k]!
    let q = 0
    const rk = k * m
    for (let j = k + 1; j < m; j++) {
      const v = a[rk + j]!
      if (v !== 0) { cols[q] = j; vals[q++] = v; d += v; uCol.push(j); uVal.push(v) }
    }
    uPtr[k + 1] = uCol.length
    if (!(d > 0)) throw new AttributionError('NO_CONVERGENCE', `absorbing chain is singular at state ${order[k]}: it never reaches conversion or null`)
    pivot[k] = d
    const dense = q > DENSE_ROW_SHARE * (m - k - 1) // a contiguous loop beats the indexed one on full rows
    for (let i = k + 1; i < m; i++) {
      const ri = i * m
      const v = a[ri + k]!
      if (v === 0) continue
      const l = v / d
      lRow.push(i)
      lVal.push(l)
      exit[i]! += l * exit[k]!
      // the diagonal slot (i, i) takes updates too but is never read: pivots are rebuilt from row sums
      if (dense) for (let j = k + 1; j < m; j++) a[ri + j]! += l * a[rk + j]!
      else for (let t = 0; t < q; t++) a[ri + cols[t]!]! += l * vals[t]!
      work += dense ? m - k - 1 : q
    }
    lPtr[k + 1] = lRow.length
  }
  return { order, position, lPtr, lRow: Int32Array.from(lRow), lVal: Float64Array.from(lVal), uPtr, uCol: Int32Array.from(uCol), uVal: Float64Array.from(uVal), pivot, work }
}

/** In place, by position: r ← A⁻¹ r for `rhs` right-hand sides interleaved (r[i·rhs + c]); only additions of non-negative terms. */
export function solveFactor(f: ChainFactor, r: Float64Array, rhs: number): void {
  const m = f.order.length
  const { lPtr, lRow, lVal, uPtr, uCol, uVal, pivot } = f
  for (let k = 0; k < m; k++) {
    for (let e = lPtr[k]!; e < lPtr[k + 1]!; e++) {
      const i = lRow[e]!
      const l = lVal[e]!
      for (let c = 0; c < rhs; c++) r[i * rhs + c]! += l * r[k * rhs + c]!
    }
  }
  for (let k = m - 1; k >= 0; k--) {
    for (let c = 0; c < rhs; c++) {
      let s = r[k * rhs + c]!
      for (let e = uPtr[k]!; e < uPtr[k + 1]!; e++) s += uVal[e]! * r[uCol[e]! * rhs + c]!
      r[k * rhs + c] = s / pivot[k]!
    }
  }
}

/** Multiply-adds of one solveFactor per right-hand side. */
export function solveWork(f: ChainFactor): number {
  return f.lVal.length + f.uVal.length + f.order.length
}

/** x = A⁻¹ b for two right-hand sides given by state; returns x by state (0 for removed states). */
export function solveStates(f: ChainFactor, states: number, b1: Float64Array, b2: Float64Array): [Float64Array, Float64Array] {
  const m = f.order.length
  const r = new Float64Array(2 * m)
  for (let i = 0; i < m; i++) {
    r[2 * i] = b1[f.order[i]!]!
    r[2 * i + 1] = b2[f.order[i]!]!
  }
  solveFactor(f, r, 2)
  const x1 = new Float64Array(states)
  const x2 = new Float64Array(states)
  for (let i = 0; i < m; i++) {
    x1[f.order[i]!] = r[2 * i]!
    x2[f.order[i]!] = r[2 * i + 1]!
  }
  return [x1, x2]
}

/** G = A⁻¹ (m × m, row-major by position; every entry ≥ 0: the expected visits to j starting from i). */
export function inverse(f: ChainFactor): Float64Array {
  const m = f.order.length
  const { lPtr, lRow, lVal, uPtr, uCol, uVal, pivot } = f
  const g = new Float64Array(m * m)
  const r = new Float64Array(m)
  for (let j = 0; j < m; j++) {
    r.fill(0)
    r[j] = 1
    for (let k = j; k < m; k++) { // L⁻¹ e_j is zero above j
      const y = r[k]!
      if (y === 0) continue
      for (let e = lPtr[k]!; e < lPtr[k + 1]!; e++) r[lRow[e]!]! += lVal[e]! * y
    }
    for (let k = m - 1; k >= 0; k--) {
      let s = r[k]!
      for (let e = uPtr[k]!; e < uPtr[k + 1]!; e++) s += uVal[e]! * r[uCol[e]!]!
      r[k] = s / pivot[k]!
    }
    for (let i = 0; i < m; i++) g[i * m + j] = r[i]!
  }
  return g
}
