// Journeys kept live: the ledger's rules (order, window, expiry, bounds, erasure), journeys across snapshots,
// time decay by real time, and idr.api.attribution.report on an engine over a real nats-server and a real
// SQLite file, restarted half-way, against households run in-process over the same events.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode } from '@msgpack/msgpack'
import { connect } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serveApi } from '../src/api/service.js'
import { JourneyLedger, pathOf, selects, type JourneyRecord } from '../src/attribution/ledger.js'
import { attributionReport, checkReportRequest, type AttributionReport } from '../src/attribution/report.js'
import { DAY_MS, TimedJourneys } from '../src/attribution/timed.js'
import { Engine } from '../src/engine/engine.js'
import { validateEvent, type IdrEvent } from '../src/model/events.js'
import { Account } from '../src/account/account.js'
import { builtFile, projectRoot } from '../src/paths.js'
import { openStore } from '../src/store/sqlite-store.js'
import { NatsBus } from '../src/transport/nats.js'
import { expectClose } from './helpers/close.js'
import { TEST_KEY, chunks, directReplay, messages, simEvents } from './helpers/engine.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'

const run_ = promisify(execFile)
const T0 = Date.UTC(2026, 2, 2)
const HOUR = 3_600_000
let n = 0
const touch = (ts: number, channel: string, device = 'd1'): IdrEvent => validateEvent({ v: 1, id: `t${n++}`, account: 'a', device, ts, kind: 'touch', channel })
const convert = (ts: number, value: number, device = 'd1'): IdrEvent => validateEvent({ v: 1, id: `c${n++}`, account: 'a', device, ts, kind: 'convert', value })
const path = (r: JourneyRecord): string => r.touches.map((t) => ['email', 'social', 'search'][t.channel] ?? t.channel).join(' > ')

describe('the journey ledger', () => {
  it('ends a journey at a conversion, splits it over persons with a touch in the window, and keeps touches stamped after it pending', () => {
    const l = new JourneyLedger()
    l.touch(touch(T0, 'email'), 'p1')
    l.touch(touch(T0 + HOUR, 'social'), 'p2')
    l.touch(touch(T0 + 5 * HOUR, 'search'), 'p1') // arrives before the conversion it follows
    l.convert(convert(T0 + 2 * HOUR, 10), [{ person: 'p1', p: 0.6 }, { person: 'p2', p: 0.3 }, { person: 'p3', p: 0.1 }])
    const done = l.take()
    expect(done.map((r) => [r.level, r.person, path(r), r.conversions, r.value, r.nulls, r.endTs])).toEqual([
      ['account', '', 'email > social', 1, 10, 0, T0 + 2 * HOUR],
      // p3 has no touch in the window: the shares are renormalised over p1 and p2
      ['person', 'p1', 'email', 0.6 / (0.6 + 0.3), (0.6 / (0.6 + 0.3)) * 10, 0, T0 + 2 * HOUR],
      ['person', 'p2', 'social', 0.3 / (0.6 + 0.3), (0.3 / (0.6 + 0.3)) * 10, 0, T0 + 2 * HOUR],
    ])
    expect(l.pendingTouches().map((t) => t.ts)).toEqual([T0 + 5 * HOUR])
    expect(l.take()).toEqual([])
  })

  it('ends silent keys as null journeys once the lookback has passed, not a millisecond before', () => {
    const l = new JourneyLedger({ lookbackMs: 30 * DAY_MS })
    l.touch(touch(T0, 'email'), 'p1')
    l.advance(T0 + 30 * DAY_MS)
    expect(l.take()).toEqual([])
    l.advance(T0 + 30 * DAY_MS + 1)
    const [r] = l.take()
    expect([r!.level, path(r!), r!.nulls, r!.conversions, r!.endTs]).toEqual(['account', 'email', 1, 0, T0])
    expect(l.empty).toBe(true)
    // a conversion 30 days after a touch still has it on its path; one millisecond later it does not
    const m = new JourneyLedger({ lookbackMs: 30 * DAY_MS })
    m.touch(touch(T0, 'email'), 'p1')
    m.convert(convert(T0 + 30 * DAY_MS, 1), [{ person: 'p1', p: 1 }])
    expect(m.take().map((x) => x.conversions)).toEqual([1, 1])
    const o = new JourneyLedger({ lookbackMs: 30 * DAY_MS })
    o.touch(touch(T0, 'email'), 'p1')
    o.convert(convert(T0 + 30 * DAY_MS + 1, 1), [{ person: 'p1', p: 1 }])
    expect(o.take().map((x) => [x.conversions, x.nulls])).toEqual([[0, 1], [0, 1]])
    expect(o.stats.unattributed).toEqual({ account: 1, person: 1 })
  })

  it('bounds a key to maxPathTouches, dropping the oldest and counting them', () => {
    const l = new JourneyLedger({ maxPathTouches: 3 })
    for (let i = 0; i < 5; i++) l.touch(touch(T0 + i * HOUR, ['email', 'social', 'search'][i % 3]!), 'p1')
    l.convert(convert(T0 + 6 * HOUR, 1), [{ person: 'p1', p: 1 }])
    expect(l.take().map(path)).toEqual(['search > email > social', 'search > email > social'])
    expect(l.stats.touchesDropped).toBe(4) // two per level
  })

  it('erases a person or a device from pending touches and unstored journeys, and purges before a cutoff', () => {
    const setup = (): JourneyLedger => {
      const l = new JourneyLedger()
      l.touch(touch(T0, 'email', 'phone'), 'p1')
      l.touch(touch(T0 + HOUR, 'social', 'tv'), 'p2')
      l.convert(convert(T0 + 2 * HOUR, 5, 'tv'), [{ person: 'p2', p: 1 }])
      l.touch(touch(T0 + 3 * HOUR, 'search', 'phone'), 'p1')
      return l
    }
    const a = setup()
    expect(a.erasePerson('p1')).toBe(1 + 1) // the pending search touch, and the account journey holding p1's email touch
    expect(a.unstored.map((r) => [r.level, r.person, path(r)])).toEqual([['person', 'p2', 'social']])
    expect(a.pendingTouches()).toEqual([])
    const b = setup()
    b.eraseDevices(new Set(['tv']))
    // the account journey had a tv touch and converted on the tv; p2's journey too
    expect(b.unstored).toEqual([])
    expect(b.pendingTouches().map((t) => t.device)).toEqual(['phone'])
    const c = setup()
    c.purgeBefore(T0 + 2.5 * HOUR)
    expect(c.unstored).toEqual([])
    expect(c.pendingTouches().map((t) => t.ts)).toEqual([T0 + 3 * HOUR])
  })
})

describe('time decay by real time', () => {
  it('halves a touch per half-life of age before the conversion', () => {
    const l = new JourneyLedger()
    l.touch(touch(T0, 'email'), 'p1')
    l.touch(touch(T0 + 2 * DAY_MS, 'social'), 'p1')
    l.convert(convert(T0 + 2 * DAY_MS, 30), [{ person: 'p1', p: 1 }])
    const t = new TimedJourneys()
    for (const r of l.take()) if (r.level === 'account') t.add(r)
    const table = t.table()
    const d = t.decay(2 * DAY_MS, table)
    expect(d.channels.map((c) => c.channel)).toEqual(['email', 'social'])
    expectClose(d.channels[0]!.conversions, 1 / 3)
    expectClose(d.channels[1]!.conversions, 2 / 3)
    expectClose(d.channels[1]!.value, 20)
    // one day apart with a one-day half-life is the same split
    expect(t.decay(DAY_MS, table).channels[0]!.conversions).toBeCloseTo(1 / 5, 12)
  })
})

describe('journeys across snapshots', () => {
  it('a household restored mid-stream completes exactly the journeys of the uninterrupted one', () => {
    const events = simEvents(6, 40, 3)
    const accounts = [...new Set(events.map((e) => e.account))]
    for (const account of accounts) {
      const mine = events.filter((e) => e.account === account)
      const whole = new Account(account)
      const a: JourneyRecord[] = []
      for (const e of mine) { whole.push(e); a.push(...whole.journeys!.take()) }
      const half = Math.floor(mine.length / 2)
      let h = new Account(account)
      const b: JourneyRecord[] = []
      mine.forEach((e, i) => {
        if (i === half) h = Account.fromSnapshot(account, h.toSnapshot())
        h.push(e)
        b.push(...h.journeys!.take())
      })
      expect(b).toEqual(a)
    }
    expect(events.filter((e) => e.kind === 'convert').length).toBeGreaterThan(0)
  })
})

describe('idr.api.attribution.report on a running engine', () => {
  let server: NatsServerHandle
  const dir = mkdtempSync(join(tmpdir(), 'idr-attr-live-'))
  beforeAll(async () => { server = await startNatsServer() })
  afterAll(async () => {
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('reports what households run in-process report, across a restart, by level, time range and person', async () => {
    const events = simEvents(40, 45, 11)
    const file = join(dir, 'idr.db')
    const client = await connect({ servers: server.url })
    const ask = async (req: object): Promise<AttributionReport & { error?: { code: string } }> => {
      const m = await client.request('idr.api.attribution.report', new TextEncoder().encode(JSON.stringify(req)), { timeout: 10_000 })
      return JSON.parse(new TextDecoder().decode(m.data)) as AttributionReport & { error?: { code: string } }
    }
    const run = async (part: readonly IdrEvent[]): Promise<{ engine: Engine, stop: () => Promise<void> }> => {
      const store = openStore(file)
      const bus = await NatsBus.connect({ url: server.url, mode: 'core', mapped: false, partitions: [0], partitionsOf: 1 })
      const engine = new Engine({ bus, store, pseudonymKey: TEST_KEY, snapshotIntervalMs: 50 })
      serveApi(engine, bus)
      await engine.start()
      current = engine
      // NATS core sheds what the engine has no room for: publish in windows the engine keeps up with
      const pub = await connect({ servers: server.url })
      const base = engine.stats().eventsIn
      let sent = 0
      for (const m of messages(part, 20)) {
        pub.publish(`idr.ev.${m.account}`, m.data)
        sent += Array.isArray(decode(m.data)) ? (decode(m.data) as unknown[]).length : 1
        if (sent % 2_000 < 20) {
          await pub.flush()
          await until(() => engine.stats().eventsIn - base >= sent)
          await engine.runtime.whenIdle()
        }
      }
      await pub.flush()
      await until(() => engine.stats().eventsIn - base >= part.length)
      await engine.runtime.whenIdle()
      expect(engine.stats().dlqRecords).toBe(0)
      await pub.close()
      return { engine, stop: async () => { await engine.drain(); store.close() } }
    }
    let current: Engine | undefined
    const until = async (test: () => boolean): Promise<void> => {
      const end = Date.now() + 30_000
      while (!test()) {
        if (Date.now() > end) throw new Error(`the engine did not take in what was published: ${JSON.stringify(current?.stats())}`)
        await new Promise((r) => setTimeout(r, 10))
      }
    }
    const half = Math.floor(events.length / 2)
    const first = await run(events.slice(0, half))
    await first.stop()
    const second = await run(events.slice(half))

    // the reference: the same households in-process, their journeys in memory
    // (with the engine's event-time timers, in the messages of 20 that each run published)
    const ref: { r: JourneyRecord, account: string }[] = []
    directReplay([...chunks(events.slice(0, half), 20), ...chunks(events.slice(half), 20)], (account, _out, h) => {
      for (const r of h.journeys!.take()) ref.push({ r, account })
    })
    const local = (req: Record<string, unknown>): AttributionReport => attributionReport((q, each) => {
      for (const { r, account } of ref) if (selects(q, r, account)) each(pathOf(r))
    }, checkReportRequest(req))
    const same = (got: AttributionReport, want: AttributionReport): void => {
      expect(got.journeys).toBe(want.journeys)
      expectClose(got.conversions, want.conversions)
      expect(got.models.map((m) => m.model)).toEqual(want.models.map((m) => m.model))
      got.models.forEach((m, i) => {
        expect(m.channels.map((c) => c.channel)).toEqual(want.models[i]!.channels.map((c) => c.channel))
        m.channels.forEach((c, k) => {
          expectClose(c.conversions, want.models[i]!.channels[k]!.conversions)
          expectClose(c.value, want.models[i]!.channels[k]!.value)
        })
      })
    }

    const span = [events[0]!.ts, events.at(-1)!.ts]
    const cut = Math.round((span[0]! + span[1]!) / 2)
    for (const req of [
      { level: 'account' }, { level: 'person' }, { level: 'person', model: 'markov', order: 2 },
      { level: 'account', model: 'decay', halfLifeDays: 3 }, { level: 'person', from: cut }, { level: 'account', to: new Date(cut).toISOString() },
    ]) {
      const got = await ask(req)
      expect(got.error).toBeUndefined()
      same(got, local(req))
    }
    const all = await ask({ level: 'person' })
    expect(all.conversions).toBeGreaterThan(20)
    expect(all.models.find((m) => m.model === 'markov')!.channels.length).toBeGreaterThan(3)
    const early = await ask({ level: 'person', to: cut })
    const late = await ask({ level: 'person', from: cut })
    expect(early.journeys + late.journeys).toBe(all.journeys)
    // one person of one account
    const one = ref.find((x) => x.r.level === 'person' && x.r.conversions > 0)!
    same(await ask({ level: 'person', account: one.account, person: one.r.person }), local({ level: 'person', account: one.account, person: one.r.person }))
    // idr attribute --nats prints the engine's report, the --json contract per model
    // (a child process run asynchronously: this process is the engine that answers it)
    const cli = await run_(process.execPath, [builtFile('src/cli/main.js'), 'attribute', '--nats', server.url, '--level', 'account', '--model', 'shapley', '--to', String(cut), '--json'], { encoding: 'utf8', cwd: projectRoot })
    expect(cli.stderr).toBe('')
    expect(JSON.parse(cli.stdout)).toEqual((await ask({ level: 'account', model: 'shapley', to: cut })).models[0])
    expect((await ask({ level: 'team' })).error?.code).toBe('BAD_OPTION')
    expect((await ask({ level: 'person', person: 'p1' })).error?.code).toBe('BAD_OPTION')
    await second.stop()
    await client.close()
  }, 120_000)
})
