// Each sampler draws from exactly the distribution its density or mass function (the one the oracle
// scores) describes: Pearson χ² goodness of fit on 100,000 seeded draws, threshold at a 1e−6 false alarm rate.
import { describe, expect, it } from 'vitest'
import { rng } from '../src/sim/random.js'
import { logLognormalInterval, lognormal, normalCdf, pickCumulative, cumulative, poisson, wrappedNormal, wrappedNormalPdf } from '../src/sim/sampling.js'

const DRAWS = 100_000

/** Pearson's χ² of observed counts against expected probabilities (bins with expectation < 5 pooled into the last). */
function chiSquare(counts: ArrayLike<number>, probs: ArrayLike<number>, n: number): { stat: number, df: number } {
  let stat = 0
  let bins = 0
  let poolObs = 0
  let poolExp = 0
  for (let i = 0; i < counts.length; i++) {
    const e = probs[i]! * n
    if (e < 5) {
      poolObs += counts[i]!
      poolExp += e
      continue
    }
    stat += (counts[i]! - e) ** 2 / e
    bins++
  }
  if (poolExp > 0) {
    stat += (poolObs - poolExp) ** 2 / poolExp
    bins++
  }
  return { stat, df: bins - 1 }
}

/**
 * Upper 1e−6 quantile of χ²(df) by the Wilson–Hilferty cube (z = 4.7534, the normal’s 1e−6 quantile), a little
 * above scipy.stats.chi2.isf(1e-6, df) (df 2: 30.3 vs 27.6; df 23: 71.2 vs 70.5).
 */
function chi2Limit(df: number): number {
  const a = 2 / (9 * df)
  return df * (1 - a + 4.7534 * Math.sqrt(a)) ** 3
}

function expectFits(counts: ArrayLike<number>, probs: ArrayLike<number>): void {
  const total = Array.from(probs).reduce((a, b) => a + b, 0)
  expect(total).toBeCloseTo(1, 9)
  const { stat, df } = chiSquare(counts, probs, DRAWS)
  expect(df).toBeGreaterThanOrEqual(2)
  expect(stat).toBeLessThan(chi2Limit(df))
}

describe('samplers match the densities the oracle scores', () => {
  it('wrapped normal on the 24 h circle, including mass that wraps past midnight', () => {
    const r = rng(11)
    const [mean, sd] = [23, 2.5]
    const counts = new Float64Array(24)
    for (let i = 0; i < DRAWS; i++) counts[Math.floor(wrappedNormal(r, mean, sd, 24))]! += 1
    // Simpson's rule with 200 panels per hour on the density
    const probs = Array.from({ length: 24 }, (_, h) => {
      const m = 200
      let s = 0
      for (let k = 0; k <= m; k++) s += (k === 0 || k === m ? 1 : k % 2 ? 4 : 2) * wrappedNormalPdf(h + k / m, mean, sd, 24)
      return s / (3 * m)
    })
    expectFits(counts, probs)
  })

  it('whole-second durations ⌈X⌉, X lognormal, against the interval masses per heartbeat interval', () => {
    const r = rng(12)
    const [mu, sigma, H] = [Math.log(1800), 0.6, 300]
    const bins = 24 // (mH, (m+1)H] for m < 23, the rest in the last
    const counts = new Float64Array(bins)
    for (let i = 0; i < DRAWS; i++) counts[Math.min(bins - 1, Math.ceil(Math.ceil(lognormal(r, mu, sigma)) / H) - 1)]! += 1
    const probs = Array.from({ length: bins }, (_, m) => Math.exp(logLognormalInterval(m * H, m === bins - 1 ? Infinity : (m + 1) * H, mu, sigma)))
    expectFits(counts, probs)
  })

  it.each([[3.5, 'one piece'], [47, 'three pieces of mean ≤ 20']])('Poisson with mean %s (%s)', (mean) => {
    const r = rng(13)
    const lo = Math.max(0, Math.floor(mean - 4 * Math.sqrt(mean)))
    const bins = 26
    const counts = new Float64Array(bins)
    for (let i = 0; i < DRAWS; i++) counts[Math.min(bins - 1, Math.max(0, poisson(r, mean) - lo))]! += 1
    const lgamma = (k: number) => { let s = 0; for (let j = 2; j <= k; j++) s += Math.log(j); return s }
    const pmf = (k: number) => Math.exp(-mean + k * Math.log(mean) - lgamma(k))
    const probs = Array.from({ length: bins }, (_, i) => {
      if (i === 0) { let s = 0; for (let k = 0; k <= lo; k++) s += pmf(k); return s }
      if (i < bins - 1) return pmf(lo + i)
      let s = 0
      for (let k = 0; k < lo + bins - 1; k++) s += pmf(k)
      return 1 - s
    })
    expectFits(counts, probs)
  })

  it.each([[4], [40]])('categorical draws over %i entries, never picking a zero weight', (n) => {
    const r = rng(14)
    const w = Array.from({ length: n }, (_, i) => (i % 3 === 1 ? 0 : 1 + (i % 5)))
    const total = w.reduce((a, b) => a + b, 0)
    const cum = cumulative(w)
    const counts = new Float64Array(n)
    for (let i = 0; i < DRAWS; i++) counts[pickCumulative(r, cum)]! += 1
    expect(counts.filter((_, i) => w[i] === 0).every((c) => c === 0)).toBe(true)
    expectFits(counts.filter((_, i) => w[i]! > 0), w.filter((x) => x > 0).map((x) => x / total))
  })

  it('normal distribution function at reference points (Python 3 math.erfc)', () => {
    // 0.5·erfc(−x/√2)
    expect(normalCdf(0)).toBe(0.5)
    expect(normalCdf(-2)).toBeCloseTo(0.02275013194817922, 15)
    expect(normalCdf(1.5)).toBeCloseTo(0.9331927987311419, 15)
    expect(normalCdf(-10) / 7.619853024160593e-24).toBeCloseTo(1, 12)
  })
})
