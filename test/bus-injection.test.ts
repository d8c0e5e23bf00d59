// No event field can reach NATS as a subject or a protocol line. Through a real nats-server running the shipped
// example config, the least-privileged user (publisher) sends events whose account holds random strings
// (control characters, CR/LF, spaces, '.', '*', '>', unicode, up to 4 KB: under the string limit) and publishes on subjects whose
// account token does: the engine (user engine, JetStream and core) publishes nothing but the good accounts'
// own assignment subjects, the stream loses no message, the engine's connection stays up, and every bad
// event has exactly one DLQ record.
import { decode, encode } from '@msgpack/msgpack'
import fc from 'fast-check'
import { connect, type NatsConnection } from 'nats'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../src/engine/engine.js'
import type { DlqRecord } from '../src/ingress/ingress.js'
import { isToken } from '../src/contracts/token.js'
import { MemoryStore } from '../src/runtime/memory-store.js'
import { partitionOf } from '../src/contracts/partition.js'
import { DEFAULT_STREAM, NatsBus } from '../src/transport/nats.js'
import { TEST_KEY } from './helpers/engine.js'
import { fuzzSeed } from './helpers/hostile.js'
import { INJECTION, NAMED_BAD_ACCOUNTS } from './helpers/injection.js'
import { exampleConfig, startNatsServer, type ExampleUser, type NatsServerHandle } from './helpers/nats-server.js'

const passwords: Record<ExampleUser, string> = { publisher: 'pub-pw', engine: 'engine-pw', admin: 'admin-pw' }
const PARTITIONS = 8
const RANDOM_ACCOUNTS = 150
const GOOD_ACCOUNTS = Array.from({ length: 12 }, (_, i) => `good-${i}`)
const T0 = Date.UTC(2026, 0, 5, 20)

/** Strings of every kind that can break a subject: control characters, CR/LF, spaces, dots, wildcards, unicode, 1–4 KB. */
function hostileString(): fc.Arbitrary<string> {
  const nasty = fc.constantFrom('\r', '\n', '\r\n', ' ', '\t', '.', '*', '>', '\u0000', '\u0007', 'PUB ', 'SUB ', 'é', '€', '\u2028', '\uFEFF', '$JS.API.')
  const piece = fc.oneof(nasty, fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 }))
  const short = fc.array(piece, { minLength: 1, maxLength: 12 }).map((a) => a.join(''))
  // long ones stay under the ingress's 4,096-byte string limit (a longer string rejects its whole message, by design)
  const long = fc.tuple(fc.integer({ min: 1024, max: 4096 }), nasty).map(([n, c]) => {
    let s = `a${c}`.repeat(Math.ceil(n / 2)).slice(0, n)
    while (Buffer.byteLength(s) > 4000) s = s.slice(0, -64)
    return s
  })
  return fc.oneof(short, long).filter((s) => s.length > 0 && !isToken(s))
}

/** A subject token a NATS client can publish on (no whitespace, no wildcard, non-empty) that breaks the token rule. */
function badSubjectToken(): fc.Arbitrary<string> {
  return fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 })
    .map((s) => s.replace(/[\s.*>]/g, ''))
    .filter((s) => s.length > 0 && !isToken(s))
}

function play(account: string, id: string, ts: number): Record<string, unknown> {
  return { v: 1, id, ts, account, device: `dev-${id}`, kind: 'play', deviceType: 'tv', content: 'c1', genres: ['drama'], durationSec: 0, ip: '203.0.113.9' }
}

interface Run {
  server: NatsServerHandle
  publisher: NatsConnection
  watcher: NatsConnection
  engine: Engine
  bus: NatsBus
  outputs: string[]
  dlq: DlqRecord[]
  statuses: string[]
}

async function startRun(server: NatsServerHandle, mode: 'core' | 'jetstream'): Promise<Run> {
  const bus = await NatsBus.connect({
    url: server.url, user: 'engine', password: passwords.engine, mode, partitions: Array.from({ length: PARTITIONS }, (_, i) => i), partitionsOf: PARTITIONS,
  })
  const statuses: string[] = []
  void (async () => { for await (const s of bus.nc.status()) statuses.push(s.type) })()
  const engine = new Engine({ bus, store: new MemoryStore(), pseudonymKey: TEST_KEY, partitionsOf: PARTITIONS })
  const watcher = await connect({ servers: server.url, user: 'admin', pass: passwords.admin })
  const outputs: string[] = []
  const dlq: DlqRecord[] = []
  watcher.subscribe('idr.out.>', { callback: (_e, m) => outputs.push(m.subject) })
  watcher.subscribe('idr.dlq', { callback: (_e, m) => dlq.push(decode(m.data) as DlqRecord) })
  await watcher.flush()
  await engine.start()
  const publisher = await connect({ servers: server.url, user: 'publisher', pass: passwords.publisher })
  return { server, publisher, watcher, engine, bus, outputs, dlq, statuses }
}

async function until(what: string, ok: () => boolean, detail: () => unknown = () => '', timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(detail())}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The mapped subject the server routes idr.ev.<account> to (the publisher may publish there directly). */
const mapped = (account: string): string => `idr.evp.${partitionOf(account, PARTITIONS)}.${account}`

describe('no event field reaches NATS as a subject or a protocol line', () => {
  let server: NatsServerHandle
  let run: Run | undefined
  beforeAll(async () => { server = await startNatsServer({ config: exampleConfig({ partitions: PARTITIONS, passwords }) }) })
  afterAll(async () => { await server?.stop() })
  afterEach(async () => {
    if (!run) return
    await run.engine.drain()
    await run.publisher.close()
    await run.watcher.close()
    run = undefined
  })

  for (const mode of ['jetstream', 'core'] as const) {
    it(`dead-letters every bad account once and publishes only the good accounts' subjects (${mode})`, async () => {
      const r = run = await startRun(server, mode)
      const seed = fuzzSeed()
      console.log(`bus injection seed ${seed} (${mode}; set IDR_FUZZ_SEED to repeat)`)
      const bad = [...NAMED_BAD_ACCOUNTS, ...fc.sample(hostileString(), { seed, numRuns: RANDOM_ACCOUNTS })]
      const badTokens = fc.sample(badSubjectToken(), { seed: seed + 1, numRuns: 30 })
      let id = 0
      let ts = T0
      let published = 0
      let goodEvents = 0
      let badEvents = 0
      const pub = (subject: string, data: Uint8Array): void => { r.publisher.publish(subject, data); published++ }
      for (const [i, account] of bad.entries()) {
        const good = GOOD_ACCOUNTS[i % GOOD_ACCOUNTS.length]!
        // a single event with the bad account, on a good subject (the server routes it to good's partition)
        pub(`idr.ev.${good}`, encode(play(account, `b${id++}`, ts += 1000)))
        badEvents++
        // a batch: good events around the bad one, which must pass
        pub(`idr.ev.${good}`, encode([play(good, `g${id++}`, ts += 1000), play(account, `b${id++}`, ts += 1000), play(good, `g${id++}`, ts += 1000)]))
        goodEvents += 2
        badEvents++
        if (i % 20 === 0) await r.publisher.flush()
      }
      // subjects whose account token breaks the rule: refused as a whole, whatever the event says
      for (const token of badTokens) {
        pub(`idr.evp.${partitionOf(token, PARTITIONS)}.${token}`, encode(play(GOOD_ACCOUNTS[0]!, `s${id++}`, ts += 1000)))
        badEvents++
      }
      await r.publisher.flush()
      await until('every bad event dead-lettered and every good one applied', () => r.dlq.length >= badEvents && r.engine.stats().eventsApplied >= goodEvents,
        () => ({ dlq: r.dlq.length, badEvents, goodEvents, published, stats: r.engine.stats(), codes: r.dlq.slice(0, 5).map((d) => [d.code, d.message]) }))
      await r.engine.runtime.whenIdle()
      await r.watcher.flush()
      await new Promise((resolve) => setTimeout(resolve, 200)) // late strays would show up here

      const s = r.engine.stats()
      expect(s.eventsApplied).toBe(goodEvents)
      expect(r.dlq).toHaveLength(badEvents)
      const codes = new Map<string, number>()
      for (const d of r.dlq) codes.set(d.code, (codes.get(d.code) ?? 0) + 1)
      expect(Object.fromEntries(codes)).toEqual({ BAD_ACCOUNT: 2 * bad.length, BAD_SUBJECT: badTokens.length })
      // every bad event of a batch is named by its index and id; no record echoes a raw account
      expect(r.dlq.filter((d) => d.index === 1)).toHaveLength(bad.length)
      expect(r.dlq.every((d) => d.eventId === undefined || /^[bs]\d+$/.test(d.eventId))).toBe(true)
      expect(r.dlq.some((d) => d.message.includes('PUB'))).toBe(false)
      // outputs: only assignment and persons subjects of the good accounts
      const allowed = new Set(GOOD_ACCOUNTS.flatMap((a) => [`idr.out.assign.${a}`, `idr.out.persons.${a}`]))
      expect(r.outputs.length).toBeGreaterThan(0)
      expect(r.outputs.filter((subject) => !allowed.has(subject))).toEqual([])
      // the engine's connection never dropped, and the server saw no protocol error from anyone
      expect(r.statuses.filter((t) => t === 'disconnect' || t === 'reconnect')).toEqual([])
      expect(r.bus.nc.isClosed()).toBe(false)
      expect(server.log()).not.toMatch(/parser error|protocol violation|permissions violation/i)
      if (mode === 'jetstream') {
        const info = await (await r.bus.nc.jetstreamManager()).streams.info(DEFAULT_STREAM)
        expect(info.state.num_deleted ?? 0).toBe(0)
        expect(info.state.messages).toBeGreaterThanOrEqual(published)
        expect(info.state.last_seq).toBe(info.state.messages)
      }
    }, 180_000)
  }

  it('keeps the connection and every following event after an account that would close it (core)', async () => {
    const r = run = await startRun(server, 'core')
    const good = 'survivor'
    r.publisher.publish(mapped(good), encode(play('dos\r\n', 'dos-1', T0)))
    r.publisher.publish(mapped(good), encode([play('dos\r\n', 'dos-2', T0 + 1), play(INJECTION, 'inj-1', T0 + 2)]))
    for (let i = 0; i < 1000; i++) r.publisher.publish(mapped(good), encode(play(good, `ok-${i}`, T0 + 10_000 + i * 1000)))
    await r.publisher.flush()
    await until('1,000 events applied', () => r.engine.stats().eventsApplied >= 1000)
    expect(r.engine.stats().eventsApplied).toBe(1000)
    await until('three DLQ records', () => r.dlq.length >= 3)
    expect(r.dlq.map((d) => d.code)).toEqual(['BAD_ACCOUNT', 'BAD_ACCOUNT', 'BAD_ACCOUNT'])
    expect(r.statuses.filter((t) => t === 'disconnect')).toEqual([])
  }, 60_000)
})
