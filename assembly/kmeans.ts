// k-means pieces: k-means++ seeding, one Lloyd iteration, and the online (mini-batch) centroid update.
import { at, axpy, sqDist, zero } from './vec';

/** Mulberry32 PRNG state (deterministic across host and kernel: the TypeScript twin runs the same generator). */
let rngState: u32 = 0;

/** Seeds the generator used by kmeansPlusPlus. */
function seedRng(seed: u32): void {
  rngState = seed;
}

/** Next uniform draw in [0, 1) with 32 bits of resolution (Mulberry32). */
function nextUniform(): f64 {
  rngState += 0x6d2b79f5;
  let t = rngState;
  t = (t ^ (t >>> 15)) * (t | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return <f64>(t ^ (t >>> 14)) / 4294967296.0;
}

/** Index of the nearest centroid to point p, and its squared distance in the second slot of `best`. */
// @ts-ignore: decorator
@inline function nearest(p: usize, c: usize, k: i32, d: i32, best: usize): i32 {
  let arg = 0;
  let min = Infinity;
  for (let j = 0; j < k; j++) {
    const dist = sqDist(p, at(c, j * d), d);
    if (dist < min) {
      min = dist;
      arg = j;
    }
  }
  store<f64>(best, min);
  return arg;
}

/** First index whose prefix sum of w[0..n) reaches u (linear scan), clipped to n − 1. */
function searchCumulative(w: usize, n: i32, u: f64): i32 {
  let acc: f64 = 0.0;
  for (let i = 0; i < n; i++) {
    acc += load<f64>(at(w, i));
    if (acc > u) return i;
  }
  return n - 1;
}

/**
 * k-means++ seeding (Arthur & Vassilvitskii 2007) with greedy local trials, 2 + ⌊ln k⌋ candidates per centre,
 * each drawn with probability ∝ D(x)² and the one lowering the potential Σ D(x)² most kept (as scikit-learn).
 * Writes k centroids to c; work: 3n f64.
 */
export function kmeansPlusPlus(x: usize, n: i32, d: i32, k: i32, seed: u32, c: usize, work: usize): void {
  seedRng(seed);
  const closest = work;
  const trial = at(work, n);
  const bestTrial = at(work, 2 * n);
  const trials = 2 + <i32>Math.floor(Math.log(<f64>k));
  let first = <i32>Math.floor(nextUniform() * <f64>n);
  memory.copy(c, at(x, first * d), <usize>d << 3);
  let pot: f64 = 0.0;
  for (let i = 0; i < n; i++) {
    const dist = sqDist(at(x, i * d), c, d);
    store<f64>(at(closest, i), dist);
    pot += dist;
  }
  for (let m = 1; m < k; m++) {
    let bestPot = Infinity;
    let bestId = 0;
    for (let t = 0; t < trials; t++) {
      const u = nextUniform();
      const id = pot > 0.0 ? searchCumulative(closest, n, u * pot) : <i32>Math.floor(u * <f64>n);
      const cand = at(x, id * d);
      let candPot: f64 = 0.0;
      for (let i = 0; i < n; i++) {
        const dist = Math.min(load<f64>(at(closest, i)), sqDist(at(x, i * d), cand, d));
        store<f64>(at(trial, i), dist);
        candPot += dist;
      }
      if (candPot < bestPot) {
        bestPot = candPot;
        bestId = id;
        memory.copy(bestTrial, trial, <usize>n << 3);
      }
    }
    memory.copy(at(c, m * d), at(x, bestId * d), <usize>d << 3);
    memory.copy(closest, bestTrial, <usize>n << 3);
    pot = bestPot;
  }
}

/**
 * One Lloyd iteration: label each point with its nearest centroid, then move each centroid to the mean of its
 * points (a centroid with no points stays). Returns the inertia Σ min_j ‖x_i − c_j‖² before the move.
 * labels: n i32; work: k·d + k + 1 f64.
 */
export function kmeansLloyd(x: usize, n: i32, c: usize, k: i32, d: i32, labels: usize, work: usize): f64 {
  const sums = work;
  const counts = at(work, k * d);
  const best = at(work, k * d + k);
  zero(sums, k * d + k);
  let inertia: f64 = 0.0;
  for (let i = 0; i < n; i++) {
    const xi = at(x, i * d);
    const j = nearest(xi, c, k, d, best);
    inertia += load<f64>(best);
    store<i32>(labels + (<usize>i << 2), j);
    axpy(1.0, xi, at(sums, j * d), d);
    store<f64>(at(counts, j), load<f64>(at(counts, j)) + 1.0);
  }
  for (let j = 0; j < k; j++) {
    const cnt = load<f64>(at(counts, j));
    if (cnt == 0.0) continue;
    const inv = 1.0 / cnt;
    for (let t = 0; t < d; t++) store<f64>(at(c, j * d + t), load<f64>(at(sums, j * d + t)) * inv);
  }
  return inertia;
}

/**
 * Mini-batch k-means (Sculley 2010) with a per-centroid count: for each x_i in order, j = nearest centroid,
 * n_j += 1, c_j += (x_i − c_j)/n_j (step 1/(n+1) on the count before the point). Labels in `labels` (n i32);
 * returns Σ of each point's squared distance to its centroid before that point's update. work: 1 f64.
 */
export function kmeansMiniBatch(x: usize, n: i32, c: usize, counts: usize, k: i32, d: i32, labels: usize, work: usize): f64 {
  let inertia: f64 = 0.0;
  for (let i = 0; i < n; i++) {
    const xi = at(x, i * d);
    const j = nearest(xi, c, k, d, work);
    inertia += load<f64>(work);
    store<i32>(labels + (<usize>i << 2), j);
    const cnt = load<f64>(at(counts, j)) + 1.0;
    store<f64>(at(counts, j), cnt);
    const cj = at(c, j * d);
    const eta = 1.0 / cnt;
    for (let t = 0; t < d; t++) {
      const ct = load<f64>(at(cj, t));
      store<f64>(at(cj, t), ct + eta * (load<f64>(at(xi, t)) - ct));
    }
  }
  return inertia;
}
