// Clustering agreement metrics used by the evaluation (and by the kernel golden tests).

function comb2(n: number): number {
  return (n * (n - 1)) / 2
}

/** Adjusted Rand index (Hubert & Arabie 1985) between two labelings of the same items; 1 = identical partitions. */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`labelings differ in length: ${a.length} vs ${b.length}`)
  const n = a.length
  const cells = new Map<string, number>()
  const rows = new Map<number, number>()
  const cols = new Map<number, number>()
  for (let i = 0; i < n; i++) {
    const key = `${a[i]}\u0000${b[i]}`
    cells.set(key, (cells.get(key) ?? 0) + 1)
    rows.set(a[i]!, (rows.get(a[i]!) ?? 0) + 1)
    cols.set(b[i]!, (cols.get(b[i]!) ?? 0) + 1)
  }
  let index = 0
  for (const v of cells.values()) index += comb2(v)
  let sumA = 0
  for (const v of rows.values()) sumA += comb2(v)
  let sumB = 0
  for (const v of cols.values()) sumB += comb2(v)
  const expected = (sumA * sumB) / comb2(n)
  const max = (sumA + sumB) / 2
  if (max === expected) return 1 // both partitions trivial (one cluster, or all singletons)
  return (index - expected) / (max - expected)
}
