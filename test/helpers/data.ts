// Test fixtures and seeded random data.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { mulberry32 } from '../../src/kernels/random.js'
import { matrix, type Matrix } from '../../src/kernels/validate.js'
import { gaussianBlobs } from '../../src/sim/random.js'

/** Fisher's Iris (150 × 4) and its species labels, from test/fixtures/iris.csv. */
export function iris(): { x: Matrix, species: Int32Array } {
  const lines = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'iris.csv'), 'utf8').trim().split('\n').slice(1)
  const data: number[] = []
  const species = new Int32Array(lines.length)
  lines.forEach((line, i) => {
    const f = line.split(',').map(Number)
    data.push(...f.slice(0, 4))
    species[i] = f[4]!
  })
  return { x: matrix(lines.length, 4, data), species }
}

export { rng } from '../../src/sim/random.js'

/** Points around the given centres with isotropic standard deviation sd, `per` points each; labels by centre. */
export function blobs(centres: number[][], per: number, sd: number, seed: number): { x: Matrix, labels: Int32Array } {
  return gaussianBlobs(centres, per, sd, seed)
}

/** rows×cols of uniform values in [lo, hi). */
export function uniformMatrix(rows: number, cols: number, seed: number, lo = -1, hi = 1): Matrix {
  const u = mulberry32(seed)
  return matrix(rows, cols, Array.from({ length: rows * cols }, () => lo + (hi - lo) * u()))
}

/** A random symmetric positive-definite d×d matrix A·Aᵀ + ridge·I. */
export function spdMatrix(d: number, seed: number, ridge = 0.5): Float64Array {
  const a = uniformMatrix(d, d, seed).data
  const s = new Float64Array(d * d)
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let v = 0
      for (let t = 0; t < d; t++) v += a[i * d + t]! * a[j * d + t]!
      s[i * d + j] = v + (i === j ? ridge : 0)
    }
  }
  return s
}
