// Row-wise log-sum-exp and softmax, max-shifted so that very negative inputs neither underflow to 0/0 nor
// overflow. Conventions for rows with infinities: a row that is all −∞ carries no information and gets the
// uniform distribution (its LSE is −∞); +∞ entries share the whole mass equally.
import { at } from './vec';

/** ln Σ_j exp(x_j) over one row of length k (max-shifted). */
export function lseRow(x: usize, k: i32): f64 {
  let m = -Infinity;
  for (let j = 0; j < k; j++) m = Math.max(m, load<f64>(at(x, j)));
  if (m == -Infinity || m == Infinity) return m;
  let s: f64 = 0.0;
  for (let j = 0; j < k; j++) s += Math.exp(load<f64>(at(x, j)) - m);
  return m + Math.log(s);
}

/** out[i] = ln Σ_j exp(x[i,j]) for N rows of length K. */
export function logSumExpRows(x: usize, n: i32, k: i32, out: usize): void {
  for (let i = 0; i < n; i++) store<f64>(at(out, i), lseRow(at(x, i * k), k));
}

/** out[i,j] = exp(x[i,j]/T − ln Σ_j' exp(x[i,j']/T)) for N rows of length K, temperature T > 0. out may alias x. */
export function softmaxRows(x: usize, n: i32, k: i32, temperature: f64, out: usize): void {
  const inv = 1.0 / temperature;
  for (let i = 0; i < n; i++) {
    const xi = at(x, i * k);
    const oi = at(out, i * k);
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, load<f64>(at(xi, j)) * inv);
    if (m == -Infinity || m == Infinity) {
      // all −∞: uniform; some +∞: equal mass on those
      let count: i32 = 0;
      for (let j = 0; j < k; j++) if (m == -Infinity || load<f64>(at(xi, j)) == Infinity) count++;
      const p = 1.0 / <f64>count;
      for (let j = 0; j < k; j++) {
        store<f64>(at(oi, j), m == -Infinity || load<f64>(at(xi, j)) == Infinity ? p : 0.0);
      }
      continue;
    }
    let s: f64 = 0.0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp(load<f64>(at(xi, j)) * inv - m);
      store<f64>(at(oi, j), e);
      s += e;
    }
    const invS = 1.0 / s;
    for (let j = 0; j < k; j++) store<f64>(at(oi, j), load<f64>(at(oi, j)) * invS);
  }
}
