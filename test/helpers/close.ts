// Numeric comparison helpers with relative tolerance (kernels sum in SIMD pairs, twins sequentially).
import { expect } from 'vitest'

/** |a − b| ≤ rtol·max(|a|, |b|, 1) elementwise (equal infinities pass). */
export function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-9): void {
  expect(actual.length).toBe(expected.length)
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!
    const b = expected[i]!
    if (a === b) continue
    const scale = Math.max(Math.abs(a), Math.abs(b), 1)
    if (!(Math.abs(a - b) <= rtol * scale)) {
      expect.fail(`element ${i}: ${a} vs ${b} (relative error ${Math.abs(a - b) / scale} > ${rtol})`)
    }
  }
}

export function expectClose(a: number, b: number, rtol = 1e-9): void {
  expectAllClose([a], [b], rtol)
}
