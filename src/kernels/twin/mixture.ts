// TypeScript twin of assembly/mixture.ts.
import { lseRow } from './softmax.js'

export function mixtureEStep(
  slot: Int32Array, w: Float64Array, dur: Float64Array, n: number, p: number, k: number, vocab: number,
  logTab: Float64Array, logPi: Float64Array, durMean: Float64Array, durPrec: Float64Array, durConst: Float64Array,
  durWeight: number, resp: Float64Array,
): number {
  let total = 0
  for (let i = 0; i < n; i++) {
    const x = dur[i]!
    const hasDur = !Number.isNaN(x) && durWeight > 0
    for (let j = 0; j < k; j++) {
      const base = j * vocab
      let s = 0
      for (let m = 0; m < p; m++) s += w[i * p + m]! * logTab[base + slot[i * p + m]!]!
      if (hasDur) {
        const d = x - durMean[j]!
        s += durWeight * (durConst[j]! - 0.5 * durPrec[j]! * d * d)
      }
      resp[i * k + j] = s + logPi[j]!
    }
    const lse = lseRow(resp, i * k, k)
    for (let j = 0; j < k; j++) resp[i * k + j] = Math.exp(resp[i * k + j]! - lse)
    total += lse
  }
  return total
}

export function mixtureStats(
  slot: Int32Array, w: Float64Array, dur: Float64Array, n: number, p: number, k: number, vocab: number, resp: Float64Array,
  counts: Float64Array, nk: Float64Array, dur3: Float64Array,
): void {
  counts.fill(0, 0, k * vocab)
  nk.fill(0, 0, k)
  dur3.fill(0, 0, 3 * k)
  for (let i = 0; i < n; i++) {
    const x = dur[i]!
    for (let j = 0; j < k; j++) {
      const r = resp[i * k + j]!
      if (r === 0) continue
      nk[j] = nk[j]! + r
      const base = j * vocab
      for (let m = 0; m < p; m++) counts[base + slot[i * p + m]!]! += r * w[i * p + m]!
      if (!Number.isNaN(x)) {
        dur3[j] = dur3[j]! + r
        dur3[k + j] = dur3[k + j]! + r * x
        dur3[2 * k + j] = dur3[2 * k + j]! + r * x * x
      }
    }
  }
}
