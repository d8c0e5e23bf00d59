// TypeScript twin of assembly/kmeans.ts. It draws from ../random.ts's Mulberry32, the kernel's own generator,
// so that seeding agrees exactly.
import { mulberry32 } from '../random.js'

function sqDist(x: Float64Array, xo: number, c: Float64Array, co: number, d: number): number {
  let s = 0
  for (let t = 0; t < d; t++) {
    const diff = x[xo + t]! - c[co + t]!
    s += diff * diff
  }
  return s
}

function nearest(x: Float64Array, xo: number, c: Float64Array, k: number, d: number): { j: number, dist: number } {
  let j = 0
  let dist = Infinity
  for (let m = 0; m < k; m++) {
    const v = sqDist(x, xo, c, m * d, d)
    if (v < dist) {
      dist = v
      j = m
    }
  }
  return { j, dist }
}

function searchCumulative(w: Float64Array, n: number, u: number): number {
  let acc = 0
  for (let i = 0; i < n; i++) {
    acc += w[i]!
    if (acc > u) return i
  }
  return n - 1
}

/** k-means++ with 2 + ⌊ln k⌋ greedy local trials per centre (Arthur & Vassilvitskii 2007; scikit-learn). */
export function kmeansPlusPlus(x: Float64Array, n: number, d: number, k: number, seed: number, c: Float64Array): void {
  const rand = mulberry32(seed)
  const trials = 2 + Math.floor(Math.log(k))
  const first = Math.floor(rand() * n)
  c.set(x.subarray(first * d, first * d + d), 0)
  let closest = new Float64Array(n)
  let pot = 0
  for (let i = 0; i < n; i++) {
    closest[i] = sqDist(x, i * d, c, 0, d)
    pot += closest[i]!
  }
  for (let m = 1; m < k; m++) {
    let bestPot = Infinity
    let bestId = 0
    let bestTrial = closest
    for (let t = 0; t < trials; t++) {
      const u = rand()
      const id = pot > 0 ? searchCumulative(closest, n, u * pot) : Math.floor(u * n)
      const trial = new Float64Array(n)
      let candPot = 0
      for (let i = 0; i < n; i++) {
        trial[i] = Math.min(closest[i]!, sqDist(x, i * d, x, id * d, d))
        candPot += trial[i]!
      }
      if (candPot < bestPot) {
        bestPot = candPot
        bestId = id
        bestTrial = trial
      }
    }
    c.set(x.subarray(bestId * d, bestId * d + d), m * d)
    closest = bestTrial
    pot = bestPot
  }
}

/** One Lloyd iteration; returns the inertia before moving the centroids (empty clusters stay). */
export function kmeansLloyd(x: Float64Array, n: number, c: Float64Array, k: number, d: number, labels: Int32Array): number {
  const sums = new Float64Array(k * d)
  const counts = new Float64Array(k)
  let inertia = 0
  for (let i = 0; i < n; i++) {
    const { j, dist } = nearest(x, i * d, c, k, d)
    inertia += dist
    labels[i] = j
    for (let t = 0; t < d; t++) sums[j * d + t] = sums[j * d + t]! + x[i * d + t]!
    counts[j] = counts[j]! + 1
  }
  for (let j = 0; j < k; j++) {
    if (counts[j] === 0) continue
    const inv = 1 / counts[j]!
    for (let t = 0; t < d; t++) c[j * d + t] = sums[j * d + t]! * inv
  }
  return inertia
}

/** Mini-batch k-means (Sculley 2010): n_j += 1, c_j += (x − c_j)/n_j, point by point. */
export function kmeansMiniBatch(
  x: Float64Array, n: number, c: Float64Array, counts: Float64Array, k: number, d: number, labels: Int32Array,
): number {
  let inertia = 0
  for (let i = 0; i < n; i++) {
    const { j, dist } = nearest(x, i * d, c, k, d)
    inertia += dist
    labels[i] = j
    counts[j] = counts[j]! + 1
    const eta = 1 / counts[j]!
    for (let t = 0; t < d; t++) c[j * d + t] = c[j * d + t]! + eta * (x[i * d + t]! - c[j * d + t]!)
  }
  return inertia
}
