// Bad arguments get a typed KernelError with a stable code, never a NaN or a silent wrong answer.
import { describe, expect, it } from 'vitest'
import { KernelError } from '../src/errors.js'
import { OptionError } from '../src/options/check.js'
import { createWasmKernels } from '../src/kernels/backend.js'
import { KernelOps } from '../src/kernels/ops.js'
import { fromRows, matrix, type Matrix } from '../src/kernels/validate.js'
import { errorCode } from './helpers/errors.js'

const ops = new KernelOps(createWasmKernels())

const code = (fn: () => unknown): string => errorCode(fn, KernelError)
/** Bad options are OptionErrors, as everywhere in the library (src/options/check.ts). */
const optionCode = (fn: () => unknown): string => errorCode(fn, OptionError)

const x = matrix(4, 2, [0, 0, 1, 1, 2, 2, 3, 3])

describe('kernel API argument checks', () => {
  it('refuses NaN and infinite points', () => {
    const bad: Matrix = { rows: 2, cols: 2, data: Float64Array.of(0, NaN, 1, 1) }
    expect(code(() => ops.sqDistances(bad, x))).toBe('NOT_FINITE')
    expect(code(() => ops.fitGmm({ ...bad, data: Float64Array.of(0, Infinity, 1, 1) }, 1))).toBe('NOT_FINITE')
    expect(code(() => ops.softmax(bad))).toBe('NOT_FINITE')
  })

  it('refuses mismatched lengths and shapes', () => {
    expect(code(() => matrix(2, 2, [1, 2, 3]))).toBe('BAD_SHAPE')
    expect(code(() => ops.sqDistances(x, matrix(1, 3)))).toBe('BAD_SHAPE')
    expect(code(() => ops.sqDistances(x, matrix(1, 2), Float64Array.of(1)))).toBe('BAD_SHAPE')
    expect(code(() => ops.cholesky(matrix(2, 3)))).toBe('BAD_SHAPE')
    expect(code(() => ops.klDiscrete(Float64Array.of(1, 1), Float64Array.of(1, 1, 1)))).toBe('BAD_SHAPE')
    expect(code(() => ops.mahalanobis(x, { mean: Float64Array.of(0, 0, 0), cov: matrix(3, 3) }))).toBe('BAD_SHAPE')
    expect(code(() => fromRows([[1, 2], [3]]))).toBe('BAD_SHAPE')
  })

  it('refuses more components or centroids than points', () => {
    expect(code(() => ops.fitGmm(x, 5))).toBe('TOO_FEW_POINTS')
    expect(code(() => ops.kmeansPlusPlus(x, 5))).toBe('TOO_FEW_POINTS')
    expect(code(() => ops.selectGmm(x, { kMin: 5, kMax: 6 }))).toBe('TOO_FEW_POINTS')
  })

  it('clamps kMax to the number of points in model selection', () => {
    expect(ops.selectGmm(x, { kMax: 6 }).candidates.map((c) => c.k)).toEqual([1, 2, 3, 4])
  })

  it('names a misspelt option and suggests the right one', () => {
    let message = ''
    try {
      ops.fitGmm(x, 1, { regCovr: 1e-6 } as never)
    } catch (e) {
      message = (e as Error).message
      expect((e as KernelError).code).toBe('BAD_OPTION')
    }
    expect(message).toContain('"regCovr"')
    expect(message).toContain('did you mean "regCovar"')
  })

  it('refuses out-of-range options', () => {
    expect(optionCode(() => ops.fitGmm(x, 1, { nInit: 0 }))).toBe('BAD_OPTION')
    expect(optionCode(() => ops.fitGmm(x, 1, { tol: -1 }))).toBe('BAD_OPTION')
    expect(optionCode(() => ops.fitGmm(x, 1, { covariance: 'spherical' as never }))).toBe('BAD_OPTION')
    expect(optionCode(() => ops.selectGmm(x, { kMin: 3, kMax: 2 }))).toBe('BAD_OPTION')
    expect(optionCode(() => ops.softmax(x, 0))).toBe('BAD_OPTION')
    expect(optionCode(() => ops.klDiscrete(Float64Array.of(1), Float64Array.of(1), 2))).toBe('BAD_OPTION')
  })

  it('refuses histograms with negative or no mass, and negative counts', () => {
    expect(code(() => ops.psi(Float64Array.of(1, -1), Float64Array.of(1, 1)))).toBe('BAD_VALUE')
    expect(code(() => ops.psi(Float64Array.of(0, 0), Float64Array.of(1, 1)))).toBe('BAD_VALUE')
    const state = { centroids: matrix(1, 2, [0, 0]), counts: Float64Array.of(-1) }
    expect(code(() => ops.miniBatchKMeans(state, x))).toBe('BAD_VALUE')
  })

  it('reports a covariance that no jitter can fix (the jitter overflows before the pivot turns positive)', () => {
    expect(code(() => ops.cholesky(fromRows([[1e308, -1e308], [-1e308, 1e308]])))).toBe('NOT_POSITIVE_DEFINITE')
  })
})
