// The person mixture's E-step and sufficient statistics (src/model/mixture.ts): each observation is p
// (slot, weight) pairs into a k × vocab table of weighted log-probabilities, plus an optional normal term
// for ln watched minutes (NaN = unknown). Pure functions over pointers; nothing allocates.
import { lseRow } from './softmax';
import { at, zero } from './vec';

// @ts-ignore: decorator
@inline function slotAt(slot: usize, i: i32): i32 {
  return load<i32>(slot + (<usize>i << 2));
}

/**
 * resp[i, j] = posterior of person j for row i from ln π_j + Σ_m w[i,m]·logTab[j, slot[i,m]] + the duration
 * term durWeight·(durConst_j − ½·durPrec_j·(x − durMean_j)²). Returns Σ_i ln Σ_j exp(…).
 */
export function mixtureEStep(
  slot: usize, w: usize, dur: usize, n: i32, p: i32, k: i32, vocab: i32,
  logTab: usize, logPi: usize, durMean: usize, durPrec: usize, durConst: usize, durWeight: f64, resp: usize,
): f64 {
  let total: f64 = 0.0;
  for (let i = 0; i < n; i++) {
    const row = at(resp, i * k);
    const x = load<f64>(at(dur, i));
    const hasDur = x == x && durWeight > 0;
    for (let j = 0; j < k; j++) {
      const base = j * vocab;
      let s: f64 = 0.0;
      for (let m = 0; m < p; m++) s += load<f64>(at(w, i * p + m)) * load<f64>(at(logTab, base + slotAt(slot, i * p + m)));
      if (hasDur) {
        const d = x - load<f64>(at(durMean, j));
        s += durWeight * (load<f64>(at(durConst, j)) - 0.5 * load<f64>(at(durPrec, j)) * d * d);
      }
      store<f64>(at(row, j), s + load<f64>(at(logPi, j)));
    }
    const lse = lseRow(row, k);
    for (let j = 0; j < k; j++) store<f64>(at(row, j), Math.exp(load<f64>(at(row, j)) - lse));
    total += lse;
  }
  return total;
}

/**
 * The statistics of responsibilities resp (n × k): counts[j, v] = Σ r·w over pairs with slot v, nk[j] = Σ r,
 * and Σ r, Σ r·x, Σ r·x² of the known durations into dur3 (3 × k: W, S, Q). Zero responsibilities are skipped.
 */
export function mixtureStats(
  slot: usize, w: usize, dur: usize, n: i32, p: i32, k: i32, vocab: i32, resp: usize,
  counts: usize, nk: usize, dur3: usize,
): void {
  zero(counts, k * vocab);
  zero(nk, k);
  zero(dur3, 3 * k);
  for (let i = 0; i < n; i++) {
    const x = load<f64>(at(dur, i));
    for (let j = 0; j < k; j++) {
      const r = load<f64>(at(resp, i * k + j));
      if (r == 0) continue;
      store<f64>(at(nk, j), load<f64>(at(nk, j)) + r);
      const base = j * vocab;
      for (let m = 0; m < p; m++) {
        const c = at(counts, base + slotAt(slot, i * p + m));
        store<f64>(c, load<f64>(c) + r * load<f64>(at(w, i * p + m)));
      }
      if (x == x) {
        store<f64>(at(dur3, j), load<f64>(at(dur3, j)) + r);
        store<f64>(at(dur3, k + j), load<f64>(at(dur3, k + j)) + r * x);
        store<f64>(at(dur3, 2 * k + j), load<f64>(at(dur3, 2 * k + j)) + r * x * x);
      }
    }
  }
}
