// Partitioning agrees with nats-server: fnv1a32 against the published FNV-1a test vectors, and partitionOf
// against the partition(n, 1) subject mapping of a real server, account token by account token.
import { connect, Empty, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mulberry32 } from '../src/kernels/random.js'
import { fnv1a32, partitionOf } from '../src/contracts/partition.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'

// FNV-1a 32-bit test vectors: Landon Curt Noll, test_fnv.c (http://www.isthe.com/chongo/src/fnv/test_fnv.c),
// the "fnv1a_32" column; "ab" and "abc" from Go's hash/fnv fnv_test.go (golden32a), the package nats-server
// hashes with.
const FNV1A_32_VECTORS: Array<[string, number]> = [
  ['', 0x811c9dc5],
  ['a', 0xe40c292c],
  ['b', 0xe70c2de5],
  ['c', 0xe60c2c52],
  ['d', 0xe10c2473],
  ['e', 0xe00c22e0],
  ['f', 0xe30c2799],
  ['fo', 0x6222e842],
  ['foo', 0xa9f37ed7],
  ['foob', 0x3f5076ef],
  ['fooba', 0x39aaa18a],
  ['foobar', 0xbf9cf968],
  ['ab', 0x4d2505ca],
  ['abc', 0x1a47e90b],
]

describe('fnv1a32', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    for (const [input, expected] of FNV1A_32_VECTORS) expect(fnv1a32(input), JSON.stringify(input)).toBe(expected)
  })

  it('hashes the UTF-8 bytes of non-ASCII text', () => {
    // "é" is 0xc3 0xa9 in UTF-8: two FNV-1a rounds from the offset basis.
    const round = (h: number, b: number): number => Math.imul(h ^ b, 0x01000193) >>> 0
    expect(fnv1a32('é')).toBe(round(round(0x811c9dc5, 0xc3), 0xa9))
  })
})

/** Varied account tokens: ids, digits, dashes, underscores, mixed case, long, and non-ASCII UTF-8. */
function accountTokens(count: number, seed: number): string[] {
  const rand = mulberry32(seed)
  const pick = (alphabet: string, length: number): string => {
    const chars = Array.from(alphabet) // code points, so no emoji is split into lone surrogates
    return Array.from({ length }, () => chars[Math.floor(rand() * chars.length)]!).join('')
  }
  const ascii = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'
  const fixed = ['0', '1', 'a', 'A', '-', '_', 'acct-1', 'ACCT_1', 'household-000042', 'x'.repeat(256),
    'münchen', 'ünïcödé', '日本語', 'домохозяйство', '👪', 'café-42']
  const tokens = new Set(fixed)
  while (tokens.size < count) {
    switch (tokens.size % 5) {
      case 0: tokens.add(`acct-${Math.floor(rand() * 1e9)}`); break
      case 1: tokens.add(String(Math.floor(rand() * 1e12))); break
      case 2: tokens.add(pick(ascii, 1 + Math.floor(rand() * 40))); break
      case 3: tokens.add(`${pick(ascii, 8)}-${pick(ascii, 4)}-${pick(ascii, 4)}-${pick(ascii, 12)}`); break
      default: tokens.add(pick('aéü日本👪-_0', 1 + Math.floor(rand() * 12)))
    }
  }
  return [...tokens]
}

/** Partition counts the server maps, each under its own input prefix. */
const PARTITION_COUNTS = [8, 13, 1000]

describe('partitionOf against nats-server partition(n, 1)', () => {
  let server: NatsServerHandle
  beforeAll(async () => {
    // The form of docs/examples/nats-server.conf's mapping (test/nats-permissions.test.ts runs that file).
    const mappings = PARTITION_COUNTS.map((n) => `  "in${n}.*": "out${n}.{{partition(${n},1)}}.{{wildcard(1)}}"`)
    server = await startNatsServer({ config: `mappings = {\n${mappings.join('\n')}\n}` })
  })
  afterAll(async () => { await server?.stop() })

  /** Publishes every account on `${input}.<account>` and returns account -> partition token as mapped. */
  async function mapped(nc: NatsConnection, input: string, output: string, accounts: string[]): Promise<Map<string, string>> {
    const seen = new Map<string, string>()
    const sub = nc.subscribe(`${output}.*.*`)
    const done = (async () => {
      for await (const m of sub) {
        const [partition, account] = m.subject.slice(output.length + 1).split('.')
        seen.set(account!, partition!)
        if (seen.size === accounts.length) break
      }
    })()
    await nc.flush()
    for (const account of accounts) nc.publish(`${input}.${account}`, Empty)
    await nc.flush()
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${seen.size} of ${accounts.length} mapped messages arrived; missing: ` +
        JSON.stringify(accounts.filter((a) => !seen.has(a)).slice(0, 20)))), 5_000).unref())
    await Promise.race([done, timeout])
    sub.unsubscribe()
    return seen
  }

  const accounts = accountTokens(2_000, 7)

  it.each(PARTITION_COUNTS)('puts every one of 2,000 accounts where the server puts it (n = %i)', async (n) => {
    const nc = await connect({ servers: server.url })
    try {
      const seen = await mapped(nc, `in${n}`, `out${n}`, accounts)
      const disagreements = accounts.filter((a) => seen.get(a) !== String(partitionOf(a, n)))
      expect(disagreements).toEqual([])
      // Not trivially agreeing (say, everything in partition 0): 2,000 accounts fill all 8 or 13 partitions,
      // and about 1000·(1 − e^−2) ≈ 865 of 1000.
      expect(new Set(seen.values()).size).toBeGreaterThanOrEqual(n === 1000 ? 800 : n)
    } finally {
      await nc.close()
    }
  })
})
