// One counter record: idr.api.stats and /metrics read the runtime's Counters, so they agree field by field at
// every moment; a duplicate is counted once, by event id or by replayed position; applied means taken by a
// household; a shed batch counts its events; every DLQ record carries the hash of its message.
import { mkdtempSync, rmSync } from 'node:fs'
import * as crypto from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode, encode } from '@msgpack/msgpack'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { COUNT_SERIES, EngineMetrics } from '../src/api/metrics.js'
import { serveApi } from '../src/api/service.js'
import { Engine, type EngineOptions, type EngineStats } from '../src/engine/engine.js'
import { messageEventCount } from '../src/ingress/count.js'
import type { DlqRecord } from '../src/ingress/ingress.js'
import type { IdrEvent } from '../src/model/events.js'
import type { Bus, InboundHandler, InboundMessage, RequestHandler } from '../src/runtime/bus.js'
import { openStore, type SqliteStore } from '../src/store/sqlite-store.js'
import { InProcessBus } from '../src/transport/in-process.js'
import { subjectMatches } from '../src/contracts/subjects.js'
import { TEST_KEY, messages, simEvents } from './helpers/engine.js'

// every sha256 the code computes goes through this spy, so a test can count the hashes of a run
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>()
  return { ...real, createHash: vi.fn(real.createHash) }
})
const sha256Calls = (): number => vi.mocked(crypto.createHash).mock.calls.filter(([algorithm]) => algorithm === 'sha256').length
const sha256 = (b: Uint8Array): string => crypto.createHash('sha256').update(b).digest('hex')

const events = simEvents(6, 14, 11)
const json = new TextEncoder()

const dirs: string[] = []
const stores: SqliteStore[] = []
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'idr-counters-'))
  dirs.push(dir)
  return join(dir, 'idr.db')
}

function store(file: string): SqliteStore {
  const s = openStore(file)
  stores.push(s)
  return s
}

/** An engine with /metrics built as `idr serve` builds it (gauges read from stats at each scrape). */
function engineWithMetrics(o: Partial<EngineOptions> & Pick<EngineOptions, 'bus' | 'store'>): { engine: Engine, metrics: EngineMetrics } {
  let engine: Engine | undefined
  const metrics = new EngineMetrics({
    gauges: () => {
      const s = engine?.stats()
      return s
        ? { mailboxDepth: s.queued, residentActors: s.residentActors, households: s.households, snapshotLagMs: s.snapshotLagMs, poolQueue: s.refitsInFlight, ready: engine?.phase === 'running' }
        : { ready: false }
    },
  })
  engine = new Engine({ pseudonymKey: TEST_KEY, snapshotIntervalMs: 60_000, metrics, ...o })
  return { engine, metrics }
}

/** Prometheus text → series (`name` or `name{label="value"}`) → value. */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}

/** The values of one labelled counter: label value → count. */
function labelled(s: Map<string, number>, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {}
  const head = `${name}{${label}="`
  for (const [k, v] of s) if (k.startsWith(head)) out[k.slice(head.length, -2)] = v
  return out
}

const GAUGES: readonly [keyof EngineStats, string][] = [
  ['queued', 'idr_mailbox_depth'], ['residentActors', 'idr_resident_actors'], ['households', 'idr_households'],
  ['snapshotLagMs', 'idr_snapshot_lag_ms'], ['refitsInFlight', 'idr_pool_queue'],
]

/** Every stats field equals its /metrics series (read in the same tick, so nothing ran in between). */
function expectAgree(stats: EngineStats, text: string): void {
  const s = series(text)
  const covered = new Set<string>(['positions'])
  for (const c of COUNT_SERIES) {
    expect(s.get(c.name), c.name).toBe(stats[c.field as keyof EngineStats])
    covered.add(c.field)
  }
  const rejected = labelled(s, 'idr_events_rejected_total', 'reason')
  expect(rejected).toEqual(stats.rejectedByReason)
  expect(Object.values(rejected).reduce((a, b) => a + b, 0)).toBe(stats.eventsRejected)
  const stages = labelled(s, 'idr_assignments_out_total', 'stage')
  expect(stages).toEqual(stats.assignmentsByStage)
  expect(Object.values(stages).reduce((a, b) => a + b, 0)).toBe(stats.assignmentsOut)
  for (const [field, name] of GAUGES) {
    // the lag is a clock reading, and the scrape read it first: never more than the stats read after it
    if (field === 'snapshotLagMs') expect(s.get(name), name).toBeLessThanOrEqual(stats.snapshotLagMs)
    else expect(s.get(name), name).toBe(stats[field])
    covered.add(field)
  }
  for (const f of ['rejectedByReason', 'eventsRejected', 'assignmentsByStage', 'assignmentsOut']) covered.add(f)
  // no stats count without a series
  expect(Object.keys(stats).filter((k) => !covered.has(k))).toEqual([])
}

/** Reads stats and /metrics in one tick (prom-client runs every collect() synchronously inside metrics()). */
async function sample(engine: Engine, metrics: EngineMetrics): Promise<{ stats: EngineStats, text: string }> {
  const text = metrics.text()
  const stats = engine.stats()
  return { stats, text: await text }
}

/** Where an event that passed the ingress ended, summed: what came in, once nothing is queued. */
function accountedFor(s: EngineStats): number {
  const after = ['LATE', 'CLOCK_AHEAD'].reduce((n, code) => n + (s.rejectedByReason[code] ?? 0), 0)
  return s.eventsApplied + s.duplicatesIgnored + s.notPlayback + s.erasedSkipped + s.eventsNotOwned + after
}

/**
 * A bus over a log of messages, as JetStream (sequences, partition 0, backpressure) or NATS core (no
 * sequences, no waiting: every message handed over in one tick) delivers them; start() delivers `input`.
 * Redelivery is the test's choice: the stored positions (`from`) are ignored, as when a stretch is re-sent.
 */
class LogBus implements Bus {
  readonly subs: { pattern: string, fn: (subject: string, data: Uint8Array) => void }[] = []
  private readonly services = new Map<string, RequestHandler>()
  delivered: Promise<void> = Promise.resolve()

  constructor(readonly kind: 'jetstream' | 'core', private readonly input: readonly InboundMessage[]) {}

  async start(handler: InboundHandler): Promise<void> {
    if (this.kind === 'core') {
      this.delivered = new Promise((resolve) => setImmediate(() => {
        for (const m of this.input) void handler(m)
        resolve()
      }))
      return
    }
    this.delivered = (async () => {
      await new Promise((resolve) => setImmediate(resolve))
      for (const m of this.input) await handler(m)
    })()
  }

  publish(subject: string, data: Uint8Array): void {
    for (const s of this.subs) if (subjectMatches(s.pattern, subject)) s.fn(subject, data)
  }

  subscribe(pattern: string, fn: (subject: string, data: Uint8Array) => void): void {
    this.subs.push({ pattern, fn })
  }

  serve(subject: string, handler: RequestHandler): void {
    this.services.set(subject, handler)
  }

  async stopIntake(): Promise<void> {
    await this.delivered
  }

  async close(): Promise<void> {}
}

/** JetStream-like messages: sequence i + 1, partition 0, one fixed timestamp (so a replay arrives as the original did). */
function logged(chunks: readonly Uint8Array[], firstSeq = 1, timestampMs = Date.now()): InboundMessage[] {
  return chunks.map((data, i) => ({ subject: 'idr.evp.0.any', data, partition: 0, seq: firstSeq + i, timestampMs }))
}

const lastOf = (account: string): IdrEvent => events.filter((e) => e.account === account).at(-1)!

describe('one counter record for idr.api.stats and /metrics', () => {
  it('reports every stats field equal to its /metrics series during and after a mixed run', async () => {
    const bus = new InProcessBus()
    const { engine, metrics } = engineWithMetrics({ bus, store: store(tempDb()) })
    serveApi(engine, bus)
    await engine.start()
    const account = events[0]!.account
    const last = lastOf(account)
    for (const m of messages(events, 25)) {
      await bus.send(`idr.ev.${m.account}`, m.data)
      const now = await sample(engine, metrics)
      expectAgree(now.stats, now.text)
    }
    await bus.send(`idr.ev.${account}`, encode(last)) // a duplicate by id
    await bus.send(`idr.ev.${account}`, encode({ ...last, id: 'late-1', ts: last.ts - 3_600_000 })) // an hour behind
    await bus.send(`idr.ev.${account}`, encode({ ...last, id: 'ahead-1', ts: Date.now() + 86_400_000 })) // a day ahead
    await bus.send(`idr.ev.${account}`, new Uint8Array([0xc1])) // BAD_MSGPACK
    // fine: stamped after the newest event of the partition (an account that went quiet is behind its partition's event time)
    const newest = Math.max(...events.map((e) => e.ts))
    await bus.send(`idr.ev.${account}`, encode([{ ...last, id: 'fine-1', ts: newest + 1 }, { v: 1, kind: 'play' }])) // one bad element
    await bus.whenDelivered()
    await engine.runtime.whenIdle()

    const reply = JSON.parse(new TextDecoder().decode(await bus.request('idr.api.stats', json.encode('{}')))) as EngineStats
    const now = await sample(engine, metrics)
    // the reply is the same record read a moment earlier: only the lag, a clock reading, may have moved
    expect({ ...reply, snapshotLagMs: 0 }).toEqual({ ...now.stats, snapshotLagMs: 0 })
    expectAgree(now.stats, now.text)
    expect(now.stats.eventsApplied).toBe(events.length + 1)
    expect(now.stats.duplicatesIgnored).toBe(1)
    expect(now.stats.rejectedByReason).toEqual({ LATE: 1, CLOCK_AHEAD: 1, BAD_MSGPACK: 1, MISSING_FIELD: 1 })
    expect(now.stats.eventsRejected).toBe(4)
    expect(accountedFor(now.stats)).toBe(now.stats.eventsIn)

    await engine.drain()
    const after = await sample(engine, metrics)
    expect(after.stats.checkpoints).toBeGreaterThan(now.stats.checkpoints)
    expectAgree(after.stats, after.text)
  })

  it('excludes late and duplicate events from idr_events_applied_total', async () => {
    const bus = new InProcessBus()
    const { engine, metrics } = engineWithMetrics({ bus, store: store(tempDb()) })
    await engine.start()
    const mine = events.filter((e) => e.account === events[0]!.account).slice(0, 20)
    const last = mine.at(-1)!
    await bus.send(`idr.ev.${last.account}`, encode(mine))
    await bus.send(`idr.ev.${last.account}`, encode([last, { ...last, id: 'late-1', ts: mine[0]!.ts - 3_600_000 }, last]))
    await engine.drain()
    const s = series(await metrics.text())
    expect(s.get('idr_events_applied_total')).toBe(mine.length)
    expect(s.get('idr_duplicates_ignored_total')).toBe(2)
    expect(s.get('idr_events_rejected_total{reason="LATE"}')).toBe(1)
    expect(s.get('idr_events_in_total')).toBe(mine.length + 3)
  })

  it('counts a duplicate once, whether the household knows its event id or its replayed position', async () => {
    const file = tempDb()
    const chunks = messages(events, 20).map((m) => m.data)
    const first = new LogBus('jetstream', logged(chunks))
    const a = engineWithMetrics({ bus: first, store: store(file) })
    await a.engine.start()
    await first.delivered
    await a.engine.drain()
    expect(a.engine.stats().eventsApplied).toBe(events.length)
    expect(a.engine.stats().duplicatesIgnored).toBe(0)

    // a restart on the same file: the whole stretch re-delivered, then one new message repeating an event id
    const again = lastOf(events[0]!.account)
    const second = new LogBus('jetstream', [...logged(chunks), ...logged([encode([again])], chunks.length + 1)])
    const b = engineWithMetrics({ bus: second, store: store(file) })
    await b.engine.start()
    await second.delivered
    await b.engine.runtime.whenIdle()
    const c = b.engine.runtime.counters
    expect(c.duplicatesReplayed).toBe(events.length)
    expect(c.duplicatesById).toBe(1)
    const now = await sample(b.engine, b.metrics)
    expect(now.stats.duplicatesIgnored).toBe(events.length + 1)
    expect(now.stats.eventsApplied).toBe(0)
    expect(series(now.text).get('idr_duplicates_ignored_total')).toBe(events.length + 1)
    expectAgree(now.stats, now.text)
    expect(accountedFor(now.stats)).toBe(now.stats.eventsIn)
    await b.engine.drain()
  })
})

describe('dead-letter records and rejected events', () => {
  it('counts a shed OVERLOADED batch of 100 events as 100 rejected events, in a record with its hash', async () => {
    const fill = encode(events.slice(0, 10))
    const batch = encode(events.slice(10, 110))
    const input: InboundMessage[] = [fill, batch].map((data) => ({ subject: 'idr.ev.any', data, partition: undefined, seq: 0, timestampMs: Date.now() }))
    const bus = new LogBus('core', input)
    const dlq: DlqRecord[] = []
    bus.subscribe('idr.dlq', (_s, data) => dlq.push(decode(data) as DlqRecord))
    // ten queued events fill the mailboxes: the batch behind them is shed
    const { engine, metrics } = engineWithMetrics({ bus, store: store(tempDb()), maxQueued: 10 })
    await engine.start()
    await bus.delivered
    await engine.runtime.whenIdle()
    expect(dlq).toHaveLength(1)
    expect(dlq[0]).toMatchObject({ code: 'OVERLOADED', bytes: batch.byteLength, sha256: sha256(batch) })
    expect(dlq[0]!.eventId).toBeUndefined() // a shed message is not decoded
    const now = await sample(engine, metrics)
    expect(now.stats.eventsRejected).toBe(100)
    expect(now.stats.rejectedByReason).toEqual({ OVERLOADED: 100 })
    expect(now.stats.dlqRecords).toBe(1)
    expect(series(now.text).get('idr_events_rejected_total{reason="OVERLOADED"}')).toBe(100)
    expectAgree(now.stats, now.text)
    await engine.drain()
  })

  it('gives LATE and CLOCK_AHEAD records the hash and length of their message and the event id', async () => {
    const bus = new InProcessBus()
    const dlq: DlqRecord[] = []
    bus.subscribe('idr.dlq', (_s, data) => dlq.push(decode(data) as DlqRecord))
    const { engine } = engineWithMetrics({ bus, store: store(tempDb()) })
    await engine.start()
    const mine = events.filter((e) => e.account === events[0]!.account).slice(0, 20)
    const last = mine.at(-1)!
    await bus.send(`idr.evp.0.${last.account}`, encode(mine))
    const bad = encode([{ ...last, id: 'late-1', ts: mine[0]!.ts - 3_600_000 }, { ...last, id: 'ahead-1', ts: Date.now() + 86_400_000 }])
    const before = sha256Calls()
    await bus.send(`idr.evp.0.${last.account}`, bad)
    await engine.drain()
    const hashes = sha256Calls() - before
    expect(dlq.map((r) => [r.code, r.eventId])).toEqual([['LATE', 'late-1'], ['CLOCK_AHEAD', 'ahead-1']])
    for (const r of dlq) expect(r).toMatchObject({ subject: `idr.evp.0.${last.account}`, bytes: bad.byteLength, sha256: sha256(bad) })
    // two records of one message: its bytes were hashed once
    expect(hashes).toBe(1)
  })

  it('hashes no message whose events are all taken', async () => {
    const bus = new InProcessBus()
    const { engine } = engineWithMetrics({ bus, store: store(tempDb()) })
    await engine.start()
    const before = sha256Calls()
    for (const m of messages(events, 25)) await bus.send(`idr.ev.${m.account}`, m.data)
    await engine.drain()
    expect(engine.stats().eventsApplied).toBe(events.length)
    expect(sha256Calls() - before).toBe(0)
  })
})

describe('the events of a message, counted from its header', () => {
  it('reads a fixarray, array16 and array32 length, and counts a map or anything else as one', () => {
    expect(messageEventCount(encode([]))).toBe(0)
    expect(messageEventCount(encode([{ a: 1 }, { a: 2 }, { a: 3 }]))).toBe(3)
    expect(messageEventCount(encode(Array.from({ length: 100 }, () => ({ a: 1 }))))).toBe(100) // array16
    const array32 = new Uint8Array([0xdd, 0, 1, 0, 0, ...new Uint8Array(65_536).fill(0xc0)]) // 65,536 nils
    expect(messageEventCount(array32)).toBe(65_536)
    expect(messageEventCount(encode({ v: 1 }))).toBe(1)
    expect(messageEventCount(encode('play'))).toBe(1)
    expect(messageEventCount(new Uint8Array([0xc1]))).toBe(1)
    expect(messageEventCount(new Uint8Array())).toBe(1)
  })

  it('never counts more elements than the bytes after the header could hold', () => {
    expect(messageEventCount(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0]))).toBe(2)
    expect(messageEventCount(new Uint8Array([0xdc, 0x01, 0x00]))).toBe(0)
    expect(messageEventCount(new Uint8Array([0x9f, 0xc0]))).toBe(1)
    expect(messageEventCount(new Uint8Array([0xdc, 0x01]))).toBe(1) // header cut off
  })
})
