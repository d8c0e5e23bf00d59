// Optimal one-to-one assignment on a rectangular matrix (the linear sum assignment problem), used to map a
// refit's mixture components back onto existing person ids and, in evaluation, predicted persons onto true
// ones. Shortest augmenting paths with row/column potentials (Kuhn–Munkres in the Jonker–Volgenant form,
// Jonker & Volgenant 1987; the O(n²·m) formulation of e-maxx.ru "Hungarian algorithm"): one row is added
// per phase, and every inner step marks a fresh column, so a phase ends after at most `cols` steps whatever
// the ties. Same contract as scipy.optimize.linear_sum_assignment: min(rows, cols) pairs, optimal total.
import { KernelError } from '../errors.js'

/**
 * Magnitude above which costs are scaled down by a power of two before solving, so that the potentials and
 * reduced costs (sums of a few costs) cannot overflow to ±Infinity and stall the search. The scaling is exact
 * except for entries below about 2^-950 next to such huge ones, which are below their float resolution anyway.
 */
const SAFE_MAGNITUDE = 2 ** 900

/** The column assigned to each row (−1 for a row left out because there are fewer columns than rows). */
export type Assignment = Int32Array

/**
 * Row → column assignment minimising Σ cost[r·cols + c] over min(rows, cols) disjoint pairs.
 * `cost` is row-major rows×cols and must be finite; rows or cols may be 0. Ties are broken deterministically.
 */
export function minCostAssignment(cost: ArrayLike<number>, rows: number, cols: number): Assignment {
  checkProblem('cost', cost, rows, cols)
  if (rows === 0 || cols === 0) return new Int32Array(rows).fill(-1)
  const scale = scaleFor(cost)
  // the solver wants rows ≤ cols; solve the transpose otherwise
  if (rows <= cols) return solve(cost, rows, cols, scale, false)
  const byCol = solve(cost, cols, rows, scale, true)
  const result = new Int32Array(rows).fill(-1)
  for (let c = 0; c < cols; c++) result[byCol[c]!] = c
  return result
}

/** Row → column assignment maximising Σ weight[r·cols + c] over min(rows, cols) disjoint pairs (even zero-weight ones). */
export function maxWeightAssignment(weight: ArrayLike<number>, rows: number, cols: number): Assignment {
  checkProblem('weight', weight, rows, cols)
  const negated = new Float64Array(weight.length)
  for (let i = 0; i < weight.length; i++) negated[i] = -weight[i]!
  return minCostAssignment(negated, rows, cols)
}

/** Σ matrix[r·cols + assignment[r]] over the assigned rows. */
export function assignmentTotal(matrix: ArrayLike<number>, rows: number, cols: number, assignment: ArrayLike<number>): number {
  checkShape('matrix', matrix, rows, cols)
  if (assignment.length !== rows) {
    throw new KernelError('BAD_SHAPE', `assignment has ${assignment.length} entries, expected one per row (${rows})`)
  }
  let total = 0
  for (let r = 0; r < rows; r++) {
    const c = assignment[r]!
    if (c === -1) continue
    if (!Number.isInteger(c) || c < 0 || c >= cols) {
      throw new KernelError('BAD_VALUE', `assignment[${r}] is ${c}; expected a column in 0..${cols - 1} or −1`)
    }
    total += matrix[r * cols + c]!
  }
  return total
}

function checkShape(name: string, m: ArrayLike<number>, rows: number, cols: number): void {
  for (const [dim, v] of [['rows', rows], ['cols', cols]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new KernelError('BAD_SHAPE', `${dim} must be an integer ≥ 0, got ${v}`)
  }
  if (m.length !== rows * cols) {
    throw new KernelError('BAD_SHAPE', `${name} of ${rows}×${cols} needs ${rows * cols} values, got ${m.length}`)
  }
}

function checkProblem(name: string, m: ArrayLike<number>, rows: number, cols: number): void {
  checkShape(name, m, rows, cols)
  for (let i = 0; i < m.length; i++) {
    if (!Number.isFinite(m[i])) {
      throw new KernelError('NOT_FINITE', `${name}[${i}] (row ${Math.floor(i / cols)}, col ${i % cols}) is ${m[i]}; finite numbers only`)
    }
  }
}

/** A power of two that brings max|cost| to at most SAFE_MAGNITUDE (1 when it already is). */
function scaleFor(cost: ArrayLike<number>): number {
  let mag = 0
  for (let i = 0; i < cost.length; i++) mag = Math.max(mag, Math.abs(cost[i]!))
  if (mag <= SAFE_MAGNITUDE) return 1
  return 2 ** (Math.log2(SAFE_MAGNITUDE) - Math.ceil(Math.log2(mag)))
}

/**
 * The n×m problem with n ≤ m, where a(i, j) = scale·cost[i·m + j], or scale·cost[j·n + i] when `transposed`
 * (cost then being m×n). Returns the column of each of the n rows.
 */
function solve(cost: ArrayLike<number>, n: number, m: number, scale: number, transposed: boolean): Int32Array {
  const at = transposed ? (i: number, j: number) => scale * cost[j * n + i]! : (i: number, j: number) => scale * cost[i * m + j]!
  // 1-based rows and columns; row 0 / column 0 are the virtual start of each augmenting path
  const u = new Float64Array(n + 1) // row potentials
  const v = new Float64Array(m + 1) // column potentials; reduced cost a(i,j) − u[i] − v[j] ≥ 0 throughout
  const rowOf = new Int32Array(m + 1) // rowOf[j]: row matched to column j, 0 = free
  const way = new Int32Array(m + 1) // previous column on the shortest path to column j
  const minv = new Float64Array(m + 1) // shortest reduced distance to column j in this phase
  const used = new Uint8Array(m + 1) // column j is in the shortest-path tree

  for (let i = 1; i <= n; i++) {
    rowOf[0] = i
    let j0 = 0
    minv.fill(Infinity)
    used.fill(0)
    do {
      used[j0] = 1
      const i0 = rowOf[j0]!
      let delta = Infinity
      let j1 = -1
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue
        const cur = at(i0 - 1, j - 1) - u[i0]! - v[j]!
        if (cur < minv[j]!) {
          minv[j] = cur
          way[j] = j0
        }
        if (minv[j]! < delta) {
          delta = minv[j]!
          j1 = j
        }
      }
      // with finite inputs and n ≤ m a free column always remains, so this is a broken invariant, not bad input
      if (j1 === -1) throw new Error(`hungarian: no augmenting column for row ${i - 1} (delta ${delta})`)
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[rowOf[j]!]! += delta
          v[j]! -= delta
        } else {
          minv[j]! -= delta
        }
      }
      j0 = j1
    } while (rowOf[j0] !== 0)
    // flip the matched and unmatched edges along the path back to the virtual column 0
    do {
      const j1 = way[j0]!
      rowOf[j0] = rowOf[j1]!
      j0 = j1
    } while (j0 !== 0)
  }

  const colOf = new Int32Array(n)
  for (let j = 1; j <= m; j++) if (rowOf[j] !== 0) colOf[rowOf[j]! - 1] = j - 1
  return colOf
}
