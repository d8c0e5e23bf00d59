// Argument checks at the kernel API boundary: shapes and finiteness (options: src/options/check.ts). Kernels trust
// their inputs; these functions are what makes that safe.
import { KernelError } from '../errors.js'
import { positiveInt } from '../options/check.js'

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
