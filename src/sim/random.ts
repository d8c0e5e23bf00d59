// Seeded randomness for simulations, tests and benchmarks (the same Mulberry32 stream as the k-means++ kernel).
import { mulberry32 } from '../kernels/random.js'
import { matrix, type Matrix } from '../kernels/validate.js'

export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number
  /** Standard normal (Box–Muller). */
  normal(): number
}

export function rng(seed: number): Rng {
  const u = mulberry32(seed)
  return {
    uniform: u,
    normal() {
      // 1 − u keeps the logarithm finite
      return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u())
    },
  }
}

/** `per` points around each centre with isotropic standard deviation sd; labels give the centre. */
export function gaussianBlobs(centres: readonly (readonly number[])[], per: number, sd: number, seed: number): { x: Matrix, labels: Int32Array } {
  const r = rng(seed)
  const d = centres[0]!.length
  const data = new Float64Array(centres.length * per * d)
  const labels = new Int32Array(centres.length * per)
  centres.forEach((c, j) => {
    for (let i = 0; i < per; i++) {
      const row = j * per + i
      for (let t = 0; t < d; t++) data[row * d + t] = c[t]! + sd * r.normal()
      labels[row] = j
    }
  })
  return { x: matrix(centres.length * per, d, data), labels }
}

/**
 * A household-shaped feature matrix for benchmarks: `people` groups of sessions in d dimensions, centres
 * drawn with spread 3 and sessions with unit noise, interleaved as sessions would arrive.
 */
export function householdFeatures(sessions: number, d: number, people: number, seed: number): Matrix {
  const r = rng(seed)
  const centres = Array.from({ length: people }, () => Array.from({ length: d }, () => 3 * r.normal()))
  const data = new Float64Array(sessions * d)
  for (let i = 0; i < sessions; i++) {
    for (let t = 0; t < d; t++) data[i * d + t] = centres[i % people]![t]! + r.normal()
  }
  return matrix(sessions, d, data)
}
