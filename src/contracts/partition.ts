// Deterministic partitioning of accounts, the same function nats-server's `partition(n, 1)` subject mapping
// applies to a subject token, so either the server or the publisher can route (../shared/DESIGN.md).

const FNV_OFFSET_32 = 0x811c9dc5
const FNV_PRIME_32 = 0x01000193
const utf8 = new TextEncoder()

/**
 * FNV-1a 32-bit over the UTF-8 bytes of s (Fowler, Noll, Vo). ASCII (every account id in practice) is its own
 * UTF-8, so it is hashed from the char codes without encoding; anything else goes through TextEncoder.
 */
export function fnv1a32(s: string): number {
  let h = FNV_OFFSET_32
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x80) return fnv1a32Utf8(s)
    h = Math.imul(h ^ c, FNV_PRIME_32)
  }
  return h >>> 0
}

function fnv1a32Utf8(s: string): number {
  let h = FNV_OFFSET_32
  for (const b of utf8.encode(s)) h = Math.imul(h ^ b, FNV_PRIME_32)
  return h >>> 0
}

/** The partition of an account among n: fnv1a32(account) mod n. */
export function partitionOf(account: string, n: number): number {
  return fnv1a32(account) % n
}
