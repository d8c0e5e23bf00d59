// TypeScript twin of assembly/softmax.ts (same conventions for rows with infinities).

/** ln Σ_j exp(x[o + j]) over k entries, max-shifted. */
export function lseRow(x: Float64Array, o: number, k: number): number {
  let m = -Infinity
  for (let j = 0; j < k; j++) m = Math.max(m, x[o + j]!)
  if (m === -Infinity || m === Infinity) return m
  let s = 0
  for (let j = 0; j < k; j++) s += Math.exp(x[o + j]! - m)
  return m + Math.log(s)
}

/** out[i] = ln Σ_j exp(x[i,j]) */
export function logSumExpRows(x: Float64Array, n: number, k: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) out[i] = lseRow(x, i * k, k)
}

/** out[i,j] = softmax_j(x[i,·]/T); all −∞ rows → uniform, +∞ entries share the mass. */
export function softmaxRows(x: Float64Array, n: number, k: number, temperature: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const o = i * k
    const inv = 1 / temperature
    let m = -Infinity
    for (let j = 0; j < k; j++) m = Math.max(m, x[o + j]! * inv)
    if (m === -Infinity || m === Infinity) {
      const hit = (j: number): boolean => m === -Infinity || x[o + j] === Infinity
      let count = 0
      for (let j = 0; j < k; j++) if (hit(j)) count++
      for (let j = 0; j < k; j++) out[o + j] = hit(j) ? 1 / count : 0
      continue
    }
    let s = 0
    for (let j = 0; j < k; j++) {
      const e = Math.exp(x[o + j]! * inv - m)
      out[o + j] = e
      s += e
    }
    const invS = 1 / s
    for (let j = 0; j < k; j++) out[o + j] = out[o + j]! * invS
  }
}
