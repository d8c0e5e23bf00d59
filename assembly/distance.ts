// Batched distances between N points and K centroids in D dimensions (row-major f64).
import { at, sqDist, weightedSqDist } from './vec';

/** out[i·K + j] = Σ_t (x[i,t] − c[j,t])², the N×K squared Euclidean distances. */
export function sqEuclidean(x: usize, n: i32, c: usize, k: i32, d: i32, out: usize): void {
  for (let i = 0; i < n; i++) {
    const xi = at(x, i * d);
    const row = at(out, i * k);
    for (let j = 0; j < k; j++) store<f64>(at(row, j), sqDist(xi, at(c, j * d), d));
  }
}

/** out[i·K + j] = Σ_t w[t]·(x[i,t] − c[j,t])², per-dimension weights w ≥ 0 (length D). */
export function weightedSqEuclidean(x: usize, n: i32, c: usize, k: i32, d: i32, w: usize, out: usize): void {
  for (let i = 0; i < n; i++) {
    const xi = at(x, i * d);
    const row = at(out, i * k);
    for (let j = 0; j < k; j++) store<f64>(at(row, j), weightedSqDist(xi, at(c, j * d), w, d));
  }
}
