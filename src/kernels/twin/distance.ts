// TypeScript twin of assembly/distance.ts: the same math, plainly, as the test oracle.

/** out[i·K + j] = Σ_t (x[i,t] − c[j,t])² */
export function sqEuclidean(x: Float64Array, n: number, c: Float64Array, k: number, d: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0
      for (let t = 0; t < d; t++) {
        const diff = x[i * d + t]! - c[j * d + t]!
        s += diff * diff
      }
      out[i * k + j] = s
    }
  }
}

/** out[i·K + j] = Σ_t w[t]·(x[i,t] − c[j,t])² */
export function weightedSqEuclidean(
  x: Float64Array, n: number, c: Float64Array, k: number, d: number, w: Float64Array, out: Float64Array,
): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0
      for (let t = 0; t < d; t++) {
        const diff = x[i * d + t]! - c[j * d + t]!
        s += w[t]! * diff * diff
      }
      out[i * k + j] = s
    }
  }
}
