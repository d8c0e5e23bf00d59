// Small vector helpers over raw f64 pointers shared by the kernels. SIMD (f64x2) on the bulk, a scalar
// tail for odd lengths. Every pointer is a byte offset into linear memory; lengths count f64 elements.

/** Σ_t a[t]·b[t] */
// @ts-ignore: decorator
@inline export function dot(a: usize, b: usize, n: i32): f64 {
  let acc = f64x2.splat(0.0);
  let t = 0;
  for (; t + 1 < n; t += 2) {
    const o = <usize>t << 3;
    acc = f64x2.add(acc, f64x2.mul(v128.load(a + o), v128.load(b + o)));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  if (t < n) s += load<f64>(a + (<usize>t << 3)) * load<f64>(b + (<usize>t << 3));
  return s;
}

/** Σ_t (a[t] − b[t])² */
// @ts-ignore: decorator
@inline export function sqDist(a: usize, b: usize, n: i32): f64 {
  let acc = f64x2.splat(0.0);
  let t = 0;
  for (; t + 1 < n; t += 2) {
    const o = <usize>t << 3;
    const diff = f64x2.sub(v128.load(a + o), v128.load(b + o));
    acc = f64x2.add(acc, f64x2.mul(diff, diff));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  if (t < n) {
    const diff = load<f64>(a + (<usize>t << 3)) - load<f64>(b + (<usize>t << 3));
    s += diff * diff;
  }
  return s;
}

/** Σ_t w[t]·(a[t] − b[t])² */
// @ts-ignore: decorator
@inline export function weightedSqDist(a: usize, b: usize, w: usize, n: i32): f64 {
  let acc = f64x2.splat(0.0);
  let t = 0;
  for (; t + 1 < n; t += 2) {
    const o = <usize>t << 3;
    const diff = f64x2.sub(v128.load(a + o), v128.load(b + o));
    acc = f64x2.add(acc, f64x2.mul(v128.load(w + o), f64x2.mul(diff, diff)));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  if (t < n) {
    const o = <usize>t << 3;
    const diff = load<f64>(a + o) - load<f64>(b + o);
    s += load<f64>(w + o) * diff * diff;
  }
  return s;
}

/** y[t] += alpha·x[t] */
// @ts-ignore: decorator
@inline export function axpy(alpha: f64, x: usize, y: usize, n: i32): void {
  const va = f64x2.splat(alpha);
  let t = 0;
  for (; t + 1 < n; t += 2) {
    const o = <usize>t << 3;
    v128.store(y + o, f64x2.add(v128.load(y + o), f64x2.mul(va, v128.load(x + o))));
  }
  if (t < n) {
    const o = <usize>t << 3;
    store<f64>(y + o, load<f64>(y + o) + alpha * load<f64>(x + o));
  }
}

/** y[t] = a[t] − b[t] */
// @ts-ignore: decorator
@inline export function sub(a: usize, b: usize, y: usize, n: i32): void {
  let t = 0;
  for (; t + 1 < n; t += 2) {
    const o = <usize>t << 3;
    v128.store(y + o, f64x2.sub(v128.load(a + o), v128.load(b + o)));
  }
  if (t < n) {
    const o = <usize>t << 3;
    store<f64>(y + o, load<f64>(a + o) - load<f64>(b + o));
  }
}

/** x[t] = 0 */
// @ts-ignore: decorator
@inline export function zero(x: usize, n: i32): void {
  memory.fill(x, 0, <usize>n << 3);
}

/** Byte address of element i of an f64 array at p. */
// @ts-ignore: decorator
@inline export function at(p: usize, i: i32): usize {
  return p + (<usize>i << 3);
}

/** y[t] += alpha·(a[t] − b[t])² */
// @ts-ignore: decorator
@inline export function addSqDiff(alpha: f64, a: usize, b: usize, y: usize, n: i32): void {
  const va = f64x2.splat(alpha);
  let t = 0;
  for (; t + 1 < n; t += 2) {
    const o = <usize>t << 3;
    const diff = f64x2.sub(v128.load(a + o), v128.load(b + o));
    v128.store(y + o, f64x2.add(v128.load(y + o), f64x2.mul(va, f64x2.mul(diff, diff))));
  }
  if (t < n) {
    const o = <usize>t << 3;
    const diff = load<f64>(a + o) - load<f64>(b + o);
    store<f64>(y + o, load<f64>(y + o) + alpha * (diff * diff));
  }
}
