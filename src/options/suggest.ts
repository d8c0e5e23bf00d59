// "Did you mean": the nearest known name to a mistyped one, for command names, flags and option keys.
// No dependencies: the CLI, the serve settings and library option checks all use it.

/**
 * Optimal-string-alignment distance (Damerau–Levenshtein restricted to adjacent transpositions, each
 * substring edited once): insertions, deletions, substitutions and swaps of two neighbours cost 1.
 */
export function editDistance(a: string, b: string): number {
  // three rows suffice: a transposition looks back two rows
  let prev2 = new Array<number>(b.length + 1).fill(0)
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = new Array<number>(b.length + 1)
    cur[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1)
      cur[j] = d
    }
    prev2 = prev
    prev = cur
  }
  return prev[b.length]!
}

/** Edits allowed for a name of this length: 1 up to 4 characters, 2 up to 8, 3 beyond. */
function maxEdits(length: number): number {
  return length <= 4 ? 1 : length <= 8 ? 2 : 3
}

/**
 * The candidate closest to `name` (case-insensitive), or undefined when none is close: within maxEdits of
 * the name's length and fewer edits than the name has characters (so "x" suggests nothing). Failing that,
 * the only candidate that starts with a name of 3+ characters ("house" → "households"). Ties go to the
 * earlier candidate.
 */
export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  const given = name.toLowerCase()
  if (given === '') return undefined
  const limit = Math.min(maxEdits(given.length), given.length - 1)
  let best: string | undefined
  let bestD = limit + 1
  const prefixed: string[] = []
  for (const c of candidates) {
    const k = c.toLowerCase()
    if (k === given) return c
    const d = editDistance(given, k)
    if (d < bestD) [best, bestD] = [c, d]
    if (given.length >= 3 && k.startsWith(given)) prefixed.push(c)
  }
  return best ?? (prefixed.length === 1 ? prefixed[0] : undefined)
}
