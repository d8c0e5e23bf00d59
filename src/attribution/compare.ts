// Scores of an attribution against true incremental conversions per channel (docs/attribution.md,
// "Person against account level, against ground truth").
import type { Attribution } from './result.js'

/** Credit per channel name (channels a model never saw count 0). */
export function creditByChannel(a: Attribution, channels: readonly string[]): Float64Array {
  const m = new Map(a.channels.map((c) => [c.channel, c.conversions]))
  return Float64Array.from(channels, (c) => m.get(c) ?? 0)
}

/** Normalised mean absolute error Σ|a − t| / Σ t (NaN when Σ t = 0). */
export function nmae(attributed: ArrayLike<number>, truth: ArrayLike<number>): number {
  let e = 0
  let s = 0
  for (let i = 0; i < truth.length; i++) {
    e += Math.abs(attributed[i]! - truth[i]!)
    s += truth[i]!
  }
  return s > 0 ? e / s : NaN
}

/**
 * Σ|a/Σa − t/Σt|: the NMAE of credit shares, i.e. of the attribution against the truth rescaled to the same
 * total. Attributions distribute every attributable conversion, while incremental conversions count what each
 * channel caused (organic conversions excluded, interactions counted once per channel), so the two totals
 * differ by construction; shares compare where the credit goes. In [0, 2].
 */
export function shareError(attributed: ArrayLike<number>, truth: ArrayLike<number>): number {
  let sa = 0
  let st = 0
  for (let i = 0; i < truth.length; i++) {
    sa += attributed[i]!
    st += truth[i]!
  }
  if (!(sa > 0 && st > 0)) return NaN
  let e = 0
  for (let i = 0; i < truth.length; i++) e += Math.abs(attributed[i]! / sa - truth[i]! / st)
  return e
}

/** Ranks from 1, ties given their mean rank. */
export function ranks(x: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a]! - x[b]!)
  const r = new Float64Array(x.length)
  for (let i = 0; i < idx.length;) {
    let j = i
    while (j + 1 < idx.length && x[idx[j + 1]!] === x[idx[i]!]) j++
    for (let k = i; k <= j; k++) r[idx[k]!] = (i + j) / 2 + 1
    i = j + 1
  }
  return r
}

/** Spearman's rank correlation: Pearson's correlation of the ranks (ties averaged); NaN if either is constant. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ra = ranks(a)
  const rb = ranks(b)
  const n = ra.length
  let ma = 0
  let mb = 0
  for (let i = 0; i < n; i++) { ma += ra[i]! / n; mb += rb[i]! / n }
  let sab = 0
  let saa = 0
  let sbb = 0
  for (let i = 0; i < n; i++) {
    const da = ra[i]! - ma
    const db = rb[i]! - mb
    sab += da * db
    saa += da * da
    sbb += db * db
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN
}
