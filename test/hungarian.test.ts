// The assignment solver against scipy.optimize.linear_sum_assignment (golden totals) and against brute force.
import { describe, expect, it } from 'vitest'
import { KernelError } from '../src/errors.js'
import { assignmentTotal, maxWeightAssignment, minCostAssignment } from '../src/model/hungarian.js'
import { errorCode as typedErrorCode } from './helpers/errors.js'

/** Park–Miller MINSTD in [0, 1): exact in both JS and Python, so the golden script regenerates the same matrices. */
function minstd(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 48271) % 2147483647
    return s / 2147483647
  }
}

type Kind = 'real' | 'ties'

/** rows×cols, real: uniform in [−5, 5); ties: integers 0, 1, 2 (many equal optima). */
function randomMatrix(rows: number, cols: number, seed: number, kind: Kind): Float64Array {
  const u = minstd(seed)
  return Float64Array.from({ length: rows * cols }, () => (kind === 'real' ? u() * 10 - 5 : Math.floor(u() * 3)))
}

/** Each row gets a distinct column or −1, and exactly min(rows, cols) rows are assigned. */
function expectValidMatching(a: Int32Array, rows: number, cols: number): void {
  expect(a.length).toBe(rows)
  const taken = new Set<number>()
  for (const c of a) {
    if (c === -1) continue
    expect(c).toBeGreaterThanOrEqual(0)
    expect(c).toBeLessThan(cols)
    expect(taken.has(c)).toBe(false)
    taken.add(c)
  }
  expect(taken.size).toBe(Math.min(rows, cols))
}

/** Optimal total by enumerating every injective map of the smaller side into the larger one. */
function bruteForce(m: Float64Array, rows: number, cols: number, sense: 'min' | 'max'): number {
  const small = Math.min(rows, cols)
  const large = Math.max(rows, cols)
  const at = (i: number, j: number) => (rows <= cols ? m[i * cols + j]! : m[j * cols + i]!)
  const used = new Array<boolean>(large).fill(false)
  let best = sense === 'min' ? Infinity : -Infinity
  const walk = (i: number, sum: number): void => {
    if (i === small) {
      best = sense === 'min' ? Math.min(best, sum) : Math.max(best, sum)
      return
    }
    for (let j = 0; j < large; j++) {
      if (used[j]) continue
      used[j] = true
      walk(i + 1, sum + at(i, j))
      used[j] = false
    }
  }
  walk(0, 0)
  return best
}

const errorCode = (fn: () => unknown): string => typedErrorCode(fn, KernelError)

describe('optimal assignment against scipy', () => {
  // Golden totals from scipy 1.10.1 (Debian /usr/bin/python3), same MINSTD matrices:
  //   m = <randomMatrix(rows, cols, seed, kind)>
  //   r, c = scipy.optimize.linear_sum_assignment(m); m[r, c].sum()                  -> min
  //   r, c = scipy.optimize.linear_sum_assignment(m, maximize=True); m[r, c].sum()   -> max
  const cases: [rows: number, cols: number, seed: number, kind: Kind, min: number, max: number][] = [
    [1, 1, 123456789, 'real', -4.461968457075752, -4.461968457075752],
    [1, 5, 123457789, 'real', -4.381219534846591, 4.15183342022441],
    [5, 1, 123458789, 'real', -4.012409736873773, 2.7080473479386633],
    [6, 6, 123459789, 'real', -19.444861528205156, 16.55872894756437],
    [4, 7, 123460789, 'real', -11.0541285625911, 12.857194576811603],
    [7, 4, 123461789, 'real', -14.012098989455076, 12.012475250294653],
    [10, 10, 123462789, 'real', -39.6846127834565, 38.54944467011347],
    [3, 8, 123463789, 'real', -12.343514271706116, 10.63871823979482],
    [6, 6, 123464789, 'ties', 2.0, 10.0],
    [4, 7, 123465789, 'ties', 0.0, 8.0],
    [7, 4, 123466789, 'ties', 0.0, 8.0],
    [9, 9, 123467789, 'ties', 2.0, 17.0],
  ]
  it.each(cases)('reaches scipy\'s optimal totals on a %i×%i matrix (seed %i, %s)', (rows, cols, seed, kind, min, max) => {
    const m = randomMatrix(rows, cols, seed, kind)
    const lo = minCostAssignment(m, rows, cols)
    const hi = maxWeightAssignment(m, rows, cols)
    expectValidMatching(lo, rows, cols)
    expectValidMatching(hi, rows, cols)
    expect(assignmentTotal(m, rows, cols, lo)).toBeCloseTo(min, 12)
    expect(assignmentTotal(m, rows, cols, hi)).toBeCloseTo(max, 12)
  })

  it('returns the unique optimum of scipy\'s documented example', () => {
    // scipy.optimize.linear_sum_assignment docstring: cost [[4,1,3],[2,0,5],[3,2,2]] -> cols [1, 0, 2], total 5
    const cost = Float64Array.of(4, 1, 3, 2, 0, 5, 3, 2, 2)
    const a = minCostAssignment(cost, 3, 3)
    expect(Array.from(a)).toEqual([1, 0, 2])
    expect(assignmentTotal(cost, 3, 3, a)).toBe(5)
  })
})

describe('optimal assignment against brute force', () => {
  it('matches the best of all injective maps on 400 random matrices up to 5×6, ties included', () => {
    for (let t = 0; t < 400; t++) {
      const u = minstd(987_654_321 + t)
      const rows = 1 + Math.floor(u() * 5)
      const cols = 1 + Math.floor(u() * 6)
      const m = randomMatrix(rows, cols, 55_555 + 17 * t, t % 2 === 0 ? 'real' : 'ties')
      for (const sense of ['min', 'max'] as const) {
        const a = sense === 'min' ? minCostAssignment(m, rows, cols) : maxWeightAssignment(m, rows, cols)
        expectValidMatching(a, rows, cols)
        expect(assignmentTotal(m, rows, cols, a)).toBeCloseTo(bruteForce(m, rows, cols, sense), 12)
      }
    }
  })

  it('terminates with a full matching when every entry is equal, including a mix of +0 and −0', () => {
    for (const [rows, cols] of [[5, 3], [3, 5], [4, 4]] as const) {
      const equal = new Float64Array(rows * cols).fill(2)
      expectValidMatching(minCostAssignment(equal, rows, cols), rows, cols)
      expectValidMatching(maxWeightAssignment(equal, rows, cols), rows, cols)
      const zeros = Float64Array.from({ length: rows * cols }, (_, i) => (i % 2 === 0 ? 0 : -0))
      expectValidMatching(minCostAssignment(zeros, rows, cols), rows, cols)
      expectValidMatching(maxWeightAssignment(zeros, rows, cols), rows, cols)
    }
  })

  it('stays optimal with costs near the largest finite double, where potentials would overflow unscaled', () => {
    const big = 1.5e308
    // the anti-diagonal is the only way to avoid every +big entry
    const cost = Float64Array.of(big, big, -big, big, -big, big, -big, big, big)
    expect(Array.from(minCostAssignment(cost, 3, 3))).toEqual([2, 1, 0])
    expect(Array.from(maxWeightAssignment(Float64Array.of(big, 1, 2, big), 2, 2))).toEqual([0, 1])
    // near-MAX_VALUE sentinels for forbidden pairs: whenever a matching avoids them all, the solver must find
    // the best such matching (brute force with the sentinel replaced by 1e12, more than any allowed sum)
    let avoidable = 0
    for (let t = 0; t < 200; t++) {
      const u = minstd(31_337 + t)
      const rows = 2 + (t % 4)
      const cols = rows + (t % 2)
      const m = Float64Array.from({ length: rows * cols }, () => (u() < 0.3 ? 1.79e308 : Math.floor(u() * 1000)))
      const surrogate = m.map((v) => (v > 1e300 ? 1e12 : v))
      const best = bruteForce(surrogate, rows, cols, 'min')
      const lo = minCostAssignment(m, rows, cols)
      const hi = maxWeightAssignment(m.map((v) => -v), rows, cols)
      expectValidMatching(lo, rows, cols)
      expectValidMatching(hi, rows, cols)
      if (best >= 1e12) continue // a sentinel is unavoidable: allowed entries are below its float resolution
      avoidable++
      expect(assignmentTotal(surrogate, rows, cols, lo)).toBe(best)
      expect(assignmentTotal(surrogate, rows, cols, hi)).toBe(best)
    }
    expect(avoidable).toBeGreaterThan(100)
    // found by search: unscaled, the reduced costs here overflow to ±Infinity/NaN and no column can be reached
    const B = 1.79e308
    for (const [rows, cols, m] of [
      [2, 2, [B, -B, B, -B]],
      [3, 4, [B, -B, B, -B, B, -B, B, 328, B, 99, B, -B]],
    ] as const) {
      const a = minCostAssignment(m, rows, cols)
      expectValidMatching(a, rows, cols)
      const sign = m.map((v) => (Math.abs(v) > 1e300 ? Math.sign(v) : 0))
      expect(assignmentTotal(sign, rows, cols, a)).toBe(bruteForce(Float64Array.from(sign), rows, cols, 'min'))
    }
    // both signs near ±MAX_VALUE: the huge entries must be optimised (as many −big and as few +big as
    // possible; the small entries are below their float resolution and may fall either way)
    for (let t = 0; t < 200; t++) {
      const u = minstd(77_777 + t)
      const rows = 2 + (t % 4)
      const cols = rows + (t % 3)
      const m = Float64Array.from({ length: rows * cols }, () => {
        const x = u()
        return x < 0.3 ? 1.79e308 : x < 0.6 ? -1.79e308 : Math.floor(x * 1000)
      })
      const sign = m.map((v) => (Math.abs(v) > 1e300 ? Math.sign(v) : 0))
      const a = minCostAssignment(m, rows, cols)
      expectValidMatching(a, rows, cols)
      expect(assignmentTotal(sign, rows, cols, a)).toBe(bruteForce(sign, rows, cols, 'min'))
    }
    // ordinary differences survive the power-of-two scaling beside huge entries
    const mixed = Float64Array.of(1, 2, 1e308, 3, 1, 1e308)
    expect(Array.from(minCostAssignment(mixed, 2, 3))).toEqual([0, 1])
  })

  it('handles empty sides: no rows gives an empty assignment, no columns leaves every row at −1', () => {
    expect(minCostAssignment(new Float64Array(0), 0, 4).length).toBe(0)
    expect(Array.from(maxWeightAssignment(new Float64Array(0), 3, 0))).toEqual([-1, -1, -1])
  })
})

describe('assignment argument checks', () => {
  it('refuses NaN and infinite entries', () => {
    expect(errorCode(() => minCostAssignment(Float64Array.of(1, NaN, 2, 3), 2, 2))).toBe('NOT_FINITE')
    expect(errorCode(() => minCostAssignment(Float64Array.of(1, Infinity), 1, 2))).toBe('NOT_FINITE')
    expect(errorCode(() => maxWeightAssignment(Float64Array.of(-Infinity), 1, 1))).toBe('NOT_FINITE')
  })

  it('refuses a length that does not match rows × cols, and negative or fractional dimensions', () => {
    expect(errorCode(() => minCostAssignment(Float64Array.of(1, 2, 3), 2, 2))).toBe('BAD_SHAPE')
    expect(errorCode(() => minCostAssignment(new Float64Array(0), -1, 0))).toBe('BAD_SHAPE')
    expect(errorCode(() => maxWeightAssignment(Float64Array.of(1, 2), 1.5, 2))).toBe('BAD_SHAPE')
  })

  it('refuses an assignment to total that names a column outside the matrix', () => {
    expect(errorCode(() => assignmentTotal(Float64Array.of(1, 2), 1, 2, Int32Array.of(2)))).toBe('BAD_VALUE')
    expect(errorCode(() => assignmentTotal(Float64Array.of(1, 2), 1, 2, Int32Array.of(0, 1)))).toBe('BAD_SHAPE')
  })
})
