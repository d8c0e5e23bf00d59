// Retention with simulated time, on a real SQLite file: 120 days of simulated households, then a pass at the
// end with the default 90 days; sessions, the devices seen only in them and households left with nothing go
// from memory, the snapshots and the file; each pass that purges is audited. Raw events: the JetStream
// stream's max_age is the retention period, set at creation and updated on an existing stream.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, nanos } from 'nats'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { IdrEvent } from '../src/model/events.js'
import { Account } from '../src/account/account.js'
import { KeyRing } from '../src/privacy/keyring.js'
import { DEFAULT_RETENTION_MS, RetentionJob, startRetention, type PassResult } from '../src/privacy/retention.js'
import { accountRuntime, type AccountRuntime } from '../src/engine/account-handler.js'
import { POSITION_STRIDE } from '../src/ports/store.js'
import { openStore, type SqliteStore } from '../src/store/sqlite-store.js'
import { NatsBus } from '../src/transport/nats.js'
import { errorCode } from './helpers/errors.js'
import { simEvents, TEST_KEY } from './helpers/engine.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'
import { OptionError } from '../src/options/check.js'

const DAY_MS = 86_400_000
const keys = new KeyRing([{ epoch: 1, key: TEST_KEY }])
/** Active only in the first 20 days: every session of it is older than 90 days at the end. */
const DORMANT = 'acct-000004'
/** acct-000001's device dev-000001-1 is renamed this in its first 20 days, and is never seen after. */
const OLD_DEVICE = keys.current.device('tv-retired-0001')

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'idr-retention-'))
  file = join(dir, 'idr.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** 120 days of four simulated households (devices pseudonymised as the ingress does), and the last event time. */
function input(): { events: IdrEvent[], end: number } {
  const raw = simEvents(4, 120, 7)
  const start = Math.min(...raw.map((e) => e.ts))
  const early = (e: IdrEvent) => e.ts < start + 20 * DAY_MS
  const events = raw
    .filter((e) => e.account !== DORMANT || early(e))
    .map((e) => ({ ...e, device: e.account === 'acct-000001' && e.device === 'dev-000001-1' && early(e) ? OLD_DEVICE : keys.current.device(e.device) }))
  return { events, end: Math.max(...events.map((e) => e.ts)) }
}

/** A runtime on the store, fed the events as stream messages 1, 2, …; resolves once all are applied and stored. */
async function fed(store: SqliteStore, events: readonly IdrEvent[]): Promise<AccountRuntime> {
  const runtime = accountRuntime({ store, sink: { output() {} } })
  events.forEach((event, i) => runtime.enqueue(0, { event, pos: (i + 1) * POSITION_STRIDE, arrivalMs: event.ts, receivedAt: 0 }))
  events.forEach((_, i) => runtime.markDelivered(0, i + 1))
  await runtime.whenIdle()
  runtime.checkpoint()
  return runtime
}

const stored = (store: SqliteStore, account: string): Account => Account.fromSnapshot(account, store.load(account)!.snapshot)
const fileBytes = (): Buffer => Buffer.concat([file, `${file}-wal`].map((f) => { try { return readFileSync(f) } catch { return Buffer.alloc(0) } }))

/** Every stored household holds nothing older than the cutoff. */
function expectNothingBefore(store: SqliteStore, cutoffMs: number): void {
  for (const account of store.accounts()) {
    const a = stored(store, account)
    const h = a.household
    for (const row of h.historyRows()) expect(row.observation.startSec * 1000).toBeGreaterThanOrEqual(cutoffMs)
    for (const s of h.sessionizer.openSessions) expect(s.lastTs).toBeGreaterThanOrEqual(cutoffMs)
    for (const t of a.journeys!.pendingTouches()) expect(t.ts).toBeGreaterThanOrEqual(cutoffMs)
  }
  // stored journeys: none ended before the cutoff
  let early = 0
  store.journeys({ toMs: cutoffMs }, () => { early++ })
  expect(early).toBe(0)
}

describe('retention', () => {
  it('purges sessions older than 90 days through the live runtime, forgets their devices, deletes emptied households and audits the pass', async () => {
    const store = openStore(file)
    const { events, end } = input()
    const runtime = await fed(store, events)
    const cutoff = end - DEFAULT_RETENTION_MS
    expect(stored(store, 'acct-000002').household.historyRows().some((r) => r.observation.startSec * 1000 < cutoff)).toBe(true)
    let earlyJourneys = 0
    store.journeys({ toMs: cutoff }, () => { earlyJourneys++ })
    expect(earlyJourneys).toBeGreaterThan(0)
    expect(stored(store, 'acct-000001').household.deviceIds).toContain(OLD_DEVICE)
    expect(store.load(DORMANT)).toBeDefined()

    const r = await new RetentionJob({ store, runtime, now: () => end }).run()
    expect(r).toMatchObject({ cutoffMs: cutoff, scanned: 4, households: 4, dropped: 1, complete: true })
    expect(r.sessions).toBeGreaterThan(0)
    expect(r.devices).toBeGreaterThanOrEqual(1)
    expect(r.journeys).toBeGreaterThanOrEqual(earlyJourneys)
    expectNothingBefore(store, cutoff)
    expect(store.load(DORMANT)).toBeUndefined()
    expect(runtime.peek(DORMANT)?.empty ?? true).toBe(true)
    // the device seen only in purged sessions is gone from the snapshot, the file and the WAL
    expect(stored(store, 'acct-000001').household.deviceIds).not.toContain(OLD_DEVICE)
    expect(fileBytes().includes(OLD_DEVICE)).toBe(false)
    // the resident households are what was stored, and a checkpoint does not bring the dropped one back
    for (const a of store.accounts()) expect(Buffer.from(runtime.peek(a)!.toSnapshot()).equals(Buffer.from(store.load(a)!.snapshot))).toBe(true)
    runtime.checkpoint()
    expect(store.load(DORMANT)).toBeUndefined()

    const audit = store.auditLog()
    expect(audit.verify().ok).toBe(true)
    expect(audit.records()).toEqual([{
      seq: r.auditSeq, op: 'retention-purge', at: end,
      counts: { households: 4, sessions: r.sessions, openSessions: r.openSessions, devices: r.devices, dropped: 1, journeys: r.journeys },
    }])

    const again = await new RetentionJob({ store, runtime, now: () => end }).run()
    // the dormant household's actor is still resident, empty, until it is passivated
    expect(again).toMatchObject({ scanned: 4, households: 0, sessions: 0, devices: 0, dropped: 0, journeys: 0, auditSeq: undefined })
    expect(audit.records()).toHaveLength(1)
    store.close()
  })

  it('purges a stopped engine\'s file to the same snapshots as the live runtime', async () => {
    const { events, end } = input()
    const live = openStore(join(dir, 'live.db'))
    await new RetentionJob({ store: live, runtime: await fed(live, events), now: () => end }).run()
    let store = openStore(file)
    await fed(store, events)
    store.close()
    store = openStore(file)
    const r = await new RetentionJob({ store, now: () => end }).run()
    expect(r).toMatchObject({ scanned: 4, households: 4, dropped: 1 })
    expect([...store.accounts()]).toEqual([...live.accounts()])
    for (const a of store.accounts()) expect(Buffer.from(store.load(a)!.snapshot).equals(Buffer.from(live.load(a)!.snapshot))).toBe(true)
    live.close()
    store.close()
  })

  it('purges nothing while everything is younger than the retention period', async () => {
    const store = openStore(file)
    const { events, end } = input()
    await fed(store, events)
    const r = await new RetentionJob({ store, now: () => end, retentionMs: 200 * DAY_MS }).run()
    expect(r).toMatchObject({ scanned: 4, households: 0, dropped: 0, auditSeq: undefined })
    expect(store.auditLog().records()).toEqual([])
    store.close()
  })

  it('yields to the event loop between slices of a pass', async () => {
    const store = openStore(file)
    const { events, end } = input()
    await fed(store, events)
    const snapshot = store.load('acct-000002')!.snapshot
    store.commit({ households: Array.from({ length: 300 }, (_, i) => ({ account: `copy-${i}`, partition: 0, seq: 1, snapshot })), positions: new Map() })
    let turns = 0
    let ticking = true
    const tick = (): void => { turns++; if (ticking) setImmediate(tick) }
    setImmediate(tick)
    const r = await new RetentionJob({ store, now: () => end, sliceMs: 1 }).run()
    ticking = false
    expect(r).toMatchObject({ scanned: 304, households: 304 })
    expect(turns).toBeGreaterThan(3)
    store.close()
  })

  it('runs on a schedule: a pass at start, runNow on demand, nothing after stop', async () => {
    const store = openStore(file)
    const { events, end } = input()
    await fed(store, events)
    let now = end - 60 * DAY_MS // everything is younger than 90 days at first
    const passes: PassResult[] = []
    let first!: () => void
    const started = new Promise<void>((resolve) => { first = resolve })
    const schedule = startRetention({ store, now: () => now, intervalMs: 3_600_000, onPass: (p) => { passes.push(p); first() } })
    await started
    expect(passes).toMatchObject([{ households: 0 }])
    now = end
    expect(await schedule.runNow()).toMatchObject({ dropped: 1, complete: true })
    await schedule.stop()
    await expect(schedule.runNow()).rejects.toMatchObject({ code: 'STOPPED' })
    expect(passes).toHaveLength(1)
    expect(store.auditLog().records()).toHaveLength(1)
    store.close()
  })

  it('refuses bad options by name', () => {
    const store = openStore(file)
    expect(errorCode(() => new RetentionJob({ store, retentionMs: 0 }), OptionError)).toBe('BAD_OPTION')
    expect(errorCode(() => new RetentionJob({ store, retentionMs: 1.5 }), OptionError)).toBe('BAD_OPTION')
    expect(errorCode(() => startRetention({ store, intervalMs: -1 }), OptionError)).toBe('BAD_OPTION')
    expect(errorCode(() => new RetentionJob({ store, retentionDays: 90 } as never))).toBe('BAD_OPTION')
    store.close()
  })
})

describe('retention of raw events in JetStream', () => {
  let server: NatsServerHandle
  beforeAll(async () => { server = await startNatsServer({ jetstream: true }) })
  afterAll(async () => { await server?.stop() })

  /** A JetStream bus over its own stream and prefix. */
  const bus = (stream: string, retentionMs: number | undefined): Promise<NatsBus> =>
    NatsBus.connect({ url: server.url, mode: 'jetstream', stream, prefix: stream.toLowerCase(), partitions: [0], partitionsOf: 1, retentionMs })

  it('creates the stream with max_age = the retention period', async () => {
    const b = await bus('RET1', 90 * DAY_MS)
    expect(await b.ensureStream()).toEqual({ action: 'created', maxAgeMs: 90 * DAY_MS })
    const jsm = await b.nc.jetstreamManager()
    expect((await jsm.streams.info('RET1')).config.max_age).toBe(nanos(90 * DAY_MS))
    expect(await b.ensureStream()).toEqual({ action: 'unchanged', maxAgeMs: 90 * DAY_MS })
    await b.close()
  })

  it('updates an existing stream whose max_age differs, and says so', async () => {
    const nc = await connect({ servers: server.url })
    const jsm = await nc.jetstreamManager()
    await jsm.streams.add({ name: 'RET2', subjects: ['ret2.evp.>'], max_age: nanos(30 * DAY_MS) })
    const b = await bus('RET2', 7 * DAY_MS)
    expect(await b.ensureStream()).toEqual({ action: 'updated', maxAgeMs: 7 * DAY_MS, previousMaxAgeMs: 30 * DAY_MS })
    const info = await jsm.streams.info('RET2')
    expect(info.config.max_age).toBe(nanos(7 * DAY_MS))
    expect(info.config.subjects).toEqual(['ret2.evp.>'])
    await b.close()
    // without a retention period an existing stream is left as it is
    const untouched = await bus('RET2', undefined)
    expect(await untouched.ensureStream()).toEqual({ action: 'unchanged', maxAgeMs: 7 * DAY_MS })
    await untouched.close()
    await nc.close()
  })

  it('expires raw events once they are older than the retention period', async () => {
    const b = await bus('RET3', 1_000)
    await b.ensureStream()
    const js = b.jetstream()
    const jsm = await b.nc.jetstreamManager()
    const published = Date.now()
    for (let i = 0; i < 3; i++) await js.publish('ret3.evp.0.acct', new Uint8Array([i]))
    expect((await jsm.streams.info('RET3')).state.messages).toBe(3)
    while ((await jsm.streams.info('RET3')).state.messages > 0) {
      if (Date.now() - published > 10_000) throw new Error('messages did not expire within 10 s')
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(Date.now() - published).toBeGreaterThanOrEqual(900)
    await b.close()
  })

  it('refuses a retention period that is not a positive integer', async () => {
    await expect(bus('RET4', 0)).rejects.toMatchObject({ code: 'BAD_OPTION' })
  })
})
