// The project's seeded generator: Mulberry32, the same sequence as assembly/kmeans.ts draws (the k-means++
// seeding of the kernel and its TypeScript twin agree exactly). The simulator and the load tool use it too.

/** Mulberry32: uniform draws in [0, 1) with 32 bits of resolution, the same sequence as the kernel's. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
