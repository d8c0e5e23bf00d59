// Event-time timers (src/runtime/event-time.ts): a quiet account's sessions close once the rest of its partition
// has moved event time a session gap past its last event — not before, identically after a crash and replay
// from a real SQLite file, without cutting a backfilled account's sessions, and on buses without replay also
// when the whole partition goes quiet (the idle-partition policy).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode, encode } from '@msgpack/msgpack'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { Engine, type EngineOptions, type EngineStats } from '../src/engine/engine.js'
import type { IdrEvent } from '../src/model/events.js'
import type { Assignment } from '../src/model/household.js'
import { DEFAULT_ALLOWED_LATENESS_MS, DEFAULT_SESSION_GAP_MS } from '../src/model/sessionizer.js'
import type { Bus, InboundHandler, InboundMessage, RequestHandler } from '../src/runtime/bus.js'
import { openStore } from '../src/store/sqlite-store.js'
import { InProcessBus } from '../src/transport/in-process.js'
import { TEST_KEY, messages, simEvents } from './helpers/engine.js'

const MIN = 60_000
const T0 = Date.UTC(2026, 10, 2, 18, 0)
const dir = mkdtempSync(join(tmpdir(), 'idr-event-time-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
const play = (account: string, device: string, ts: number, kind: IdrEvent['kind'] = 'heartbeat'): IdrEvent => ({
  v: 1, id: `e-${n++}`, account, device, deviceType: 'tv', screenIn: 55, ts, kind, content: 'title-1', genres: ['drama'], durationSec: 60, ip: '203.0.113.9',
})

async function inProcess(options: Partial<EngineOptions> = {}) {
  const bus = new InProcessBus()
  const engine = new Engine({ bus, store: openStore(join(dir, `ip-${n++}.db`)), pseudonymKey: TEST_KEY, snapshotIntervalMs: 60_000, ...options })
  const closes: Assignment[] = []
  bus.subscribe('idr.out.assign.>', (_s, data) => {
    const a = decode(data) as Assignment
    if (a.stage === 'close') closes.push(a)
  })
  await engine.start()
  const send = async (e: IdrEvent): Promise<void> => {
    await bus.send(`idr.ev.${e.account}`, encode(e))
    await engine.runtime.whenIdle()
  }
  return { engine, closes, send }
}

describe('event-time timers', () => {
  it('closes a quiet account once its partition has moved event time past its gap, not before', async () => {
    const { engine, closes, send } = await inProcess()
    for (let m = 0; m < 5; m++) await send(play('quiet', 'tv-1', T0 + m * MIN, m === 0 ? 'play' : 'heartbeat'))
    const lastQuiet = T0 + 4 * MIN
    // another account of the same (only) partition goes on watching, one event a minute
    const due = lastQuiet + DEFAULT_SESSION_GAP_MS + DEFAULT_ALLOWED_LATENESS_MS
    let ts = T0 + 5 * MIN
    for (; ts <= due; ts += MIN) await send(play('busy', 'tv-2', ts, ts === T0 + 5 * MIN ? 'play' : 'heartbeat'))
    expect(closes.filter((a) => a.account === 'quiet')).toEqual([]) // the watermark is at the deadline, not past it
    await send(play('busy', 'tv-2', ts))
    const final = closes.filter((a) => a.account === 'quiet')
    expect(final.map((a) => a.session)).toEqual(['quiet#1'])
    expect(engine.stats().timersFired).toBe(1)
    // busy itself was never quiet: its session is still open
    expect(closes.filter((a) => a.account === 'busy')).toEqual([])
    // the quiet account's next event is not late: its own event time moved only as far as closing needed
    await send(play('quiet', 'tv-1', lastQuiet + DEFAULT_SESSION_GAP_MS + 2 * MIN, 'play'))
    expect(engine.stats().rejectedByReason).toEqual({})
    await engine.drain()
  })

  it('measures a backfilled account\'s silence in its partition\'s time: its sessions are not cut at every message', async () => {
    const { engine, closes, send } = await inProcess()
    // one account is live now; another's history of a week ago arrives afterwards, one event a minute in its own time
    for (let m = 0; m < 3; m++) await send(play('live', 'tv-1', T0 + m * MIN, m === 0 ? 'play' : 'heartbeat'))
    const weekAgo = T0 - 7 * 24 * 60 * MIN
    for (let m = 0; m < 20; m++) await send(play('backfill', 'tv-2', weekAgo + m * MIN, m === 0 ? 'play' : 'heartbeat'))
    await send(play('backfill', 'tv-2', weekAgo + 120 * MIN, 'play')) // a second session, after a 100-minute gap
    const s = engine.stats()
    expect(s.rejectedByReason).toEqual({}) // nothing of the backfill was late
    expect(closes.filter((a) => a.account === 'backfill').map((a) => a.session)).toEqual(['backfill#1']) // closed by its own gap
    expect(s.timersFired).toBe(0)
    await engine.drain()
  })

  it('on a bus without replay, moves a silent partition\'s event time on with the clock (idle policy)', async () => {
    const gapMs = 300
    const { engine, closes, send } = await inProcess({ idlePartitionMs: 100, household: { sessionizer: { gapMs, allowedLatenessMs: 50 } } })
    const now = Date.now()
    await send(play('alone', 'tv-1', now, 'play'))
    await send(play('alone', 'tv-1', now + 10))
    // nothing else arrives: after idle 100 ms the partition's time runs on; gap 300 + lateness 50 later it is due
    const start = Date.now()
    while (closes.length === 0 && Date.now() - start < 5_000) await new Promise((r) => setTimeout(r, 20))
    expect(closes.map((a) => a.session)).toEqual(['alone#1'])
    expect(Date.now() - start).toBeGreaterThanOrEqual(100 + gapMs + 50 - 100) // not at once (the events' own times count)
    await engine.drain()
  })
})

/** JetStream as the engine sees it: sequences, one stored timestamp each, resume after the stored positions. */
class LogBus implements Bus {
  readonly kind = 'jetstream' as const
  delivered: Promise<void> = Promise.resolve()
  constructor(private readonly log: readonly InboundMessage[], private readonly upTo: number) {}
  async start(handler: InboundHandler, from: ReadonlyMap<number, number>): Promise<void> {
    const after = from.get(0) ?? 0
    this.delivered = (async () => {
      for (const m of this.log) if (m.seq > after && m.seq <= this.upTo) await handler(m)
    })()
  }
  publish(): void {}
  serve(_subject: string, _handler: RequestHandler): void {}
  async stopIntake(): Promise<void> {
    await this.delivered
  }
  async close(): Promise<void> {}
}

function rows(file: string): { account: string, seq: number, snapshot: Buffer, timer_at: number | null }[] {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare('SELECT account, seq, snapshot, timer_at FROM households ORDER BY account').all() as never
  } finally {
    db.close()
  }
}

describe('event-time timers across a crash', () => {
  // A quarter of the accounts go quiet for good just before a checkpoint: their last sessions close only by timers
  // that the restart must restore from the store (the other accounts' next events would close theirs anyway).
  // A gap of 6 h (2.5 % of the log) makes the checkpoints fall between their last event and their timer.
  const household = { sessionizer: { gapMs: 6 * 60 * MIN } }
  const all = simEvents(40, 10, 11)
  const accounts = [...new Set(all.map((e) => e.account))]
  const quietFrom = new Map(accounts.filter((_, i) => i % 4 === 0).map((a, i) => [a, all[Math.floor(all.length * [0.19, 0.44, 0.69][i % 3]!)]!.ts]))
  const events = all.filter((e) => !(e.ts >= (quietFrom.get(e.account) ?? Infinity)))
  const at = Date.now()
  const log: InboundMessage[] = messages(events, 1, 'per-account').map((m, i) => ({ subject: `idr.evp.0.${m.account}`, data: m.data, partition: 0, seq: i + 1, timestampMs: at }))

  /** An engine over the log up to `upTo`; 'crash': it checkpoints or not, then its store is closed under it (nothing more is written). */
  async function run(file: string, upTo: number, end: 'drain' | 'checkpoint-crash' | 'crash'): Promise<EngineStats> {
    const bus = new LogBus(log, upTo)
    const store = openStore(file)
    const engine = new Engine({ bus, store, pseudonymKey: TEST_KEY, snapshotIntervalMs: 60_000, household })
    await engine.start()
    await bus.delivered
    await engine.runtime.whenIdle()
    if (end === 'drain') await engine.drain()
    else if (end === 'checkpoint-crash') engine.runtime.checkpoint()
    const stats = engine.stats()
    store.close() // a crashed run's periodic checkpoints now fail (logged): as a killed process, it writes nothing more
    return stats
  }

  it('fires the same timers at the same positions after a restart: snapshots and stored timers byte-identical', async () => {
    const reference = join(dir, 'reference.db')
    const ref = await run(reference, log.length, 'drain')
    expect(ref.timersFired).toBeGreaterThan(200)

    const crashed = join(dir, 'crashed.db')
    // three crashes: a run checkpoints part-way through the log and dies; the next takes more input and dies unsaved
    for (const [cut, more] of [[0.2, 0.3], [0.45, 0.6], [0.7, 0.8]] as const) {
      await run(crashed, Math.floor(log.length * cut), 'checkpoint-crash')
      await run(crashed, Math.floor(log.length * more), 'crash')
    }
    await run(crashed, log.length, 'drain')
    const a = rows(crashed)
    const b = rows(reference)
    expect(a.map((r) => r.account)).toEqual(b.map((r) => r.account))
    expect(a.filter((r, i) => !r.snapshot.equals(b[i]!.snapshot) || r.seq !== b[i]!.seq || r.timer_at !== b[i]!.timer_at).map((r) => r.account)).toEqual([])
    expect(b.filter((r) => r.timer_at !== null).length).toBeGreaterThan(0) // some accounts end armed (still open)
  })
})
