// Argument checks at the kernel API boundary: shapes, finiteness, option names and ranges. Kernels trust
// their inputs; these functions are what makes that safe.
import { KernelError } from '../errors.js'

/** A dense row-major matrix of f64. */
export interface Matrix {
  readonly rows: number
  readonly cols: number
  readonly data: Float64Array
}

/** Wraps data as a rows×cols matrix (a fresh zero matrix without data), checking the length. */
export function matrix(rows: number, cols: number, data?: Float64Array | readonly number[]): Matrix {
  positiveInt('rows', rows)
  positiveInt('cols', cols)
  const arr = data === undefined ? new Float64Array(rows * cols) : Float64Array.from(data)
  if (arr.length !== rows * cols) {
    throw new KernelError('BAD_SHAPE', `matrix of ${rows}×${cols} needs ${rows * cols} values, got ${arr.length}`)
  }
  return { rows, cols, data: arr }
}

/** Builds a matrix from rows of equal length. */
export function fromRows(rows: readonly (readonly number[])[]): Matrix {
  const first = rows[0]
  if (!first) throw new KernelError('BAD_SHAPE', 'fromRows needs at least one row')
  const flat: number[] = []
  for (const [i, r] of rows.entries()) {
    if (r.length !== first.length) throw new KernelError('BAD_SHAPE', `row ${i} has ${r.length} values, row 0 has ${first.length}`)
    flat.push(...r)
  }
  return matrix(rows.length, first.length, flat)
}

export function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new KernelError('BAD_OPTION', `${name} must be a positive integer, got ${v}`)
}

/** A matrix whose data length matches its shape and whose values are all finite. */
export function checkMatrix(name: string, m: Matrix): void {
  positiveInt(`${name}.rows`, m.rows)
  positiveInt(`${name}.cols`, m.cols)
  if (m.data.length !== m.rows * m.cols) {
    throw new KernelError('BAD_SHAPE', `${name} is ${m.rows}×${m.cols} but holds ${m.data.length} values`)
  }
  checkFinite(name, m.data)
}

export function checkFinite(name: string, v: ArrayLike<number>): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new KernelError('NOT_FINITE', `${name}[${i}] is ${v[i]}; finite numbers only`)
  }
}

export function checkLength(name: string, v: ArrayLike<number>, expected: number): void {
  if (v.length !== expected) throw new KernelError('BAD_SHAPE', `${name} has length ${v.length}, expected ${expected}`)
}

/** Finite values ≥ 0 (counts, weights). */
export function checkNonNegative(name: string, v: ArrayLike<number>): void {
  checkFinite(name, v)
  for (let i = 0; i < v.length; i++) {
    if (v[i]! < 0) throw new KernelError('BAD_VALUE', `${name}[${i}] is ${v[i]}; values must be ≥ 0`)
  }
}

/** Non-negative finite weights / histogram bins with a positive sum. */
export function checkHistogram(name: string, v: ArrayLike<number>): void {
  checkNonNegative(name, v)
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i]!
  if (v.length === 0 || !(s > 0)) throw new KernelError('BAD_VALUE', `${name} must have at least one positive bin`)
}

export function checkRange(name: string, v: number, lo: number, hi: number, unit = ''): void {
  if (!(v >= lo && v <= hi)) {
    throw new KernelError('BAD_OPTION', `${name} must be in [${lo}, ${hi}]${unit ? ` (${unit})` : ''}, got ${v}`)
  }
}

/** Rejects option keys that are not in `known`, suggesting the closest known name. */
export function checkOptionNames(where: string, given: object, known: readonly string[]): void {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue
    const near = known.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2)
    throw new KernelError('BAD_OPTION', `${where}: unknown option "${key}"${near ? ` (did you mean "${near}"?)` : ''}`)
  }
}

/** Levenshtein distance between two strings (for "did you mean" suggestions). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}
