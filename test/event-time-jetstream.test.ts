// The idle-partition policy on JetStream, on a real nats-server: a silent partition's event time moves on
// through watermark records the engine writes into the stream, so a quiet session closes; a replay of the
// stream into an empty store applies the same records at the same positions and ends with the same bytes.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode, encode } from '@msgpack/msgpack'
import { connect, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../src/engine/engine.js'
import type { IdrEvent } from '../src/model/events.js'
import type { Assignment } from '../src/model/household.js'
import { openStore, type SqliteStore } from '../src/store/sqlite-store.js'
import { NatsBus } from '../src/transport/nats.js'
import { TEST_KEY } from './helpers/engine.js'
import type { NatsServerHandle } from './helpers/nats-server.js'
import { STREAM, streamServer } from './helpers/stream.js'

const PARTITIONS = 2
const household = { sessionizer: { gapMs: 400, allowedLatenessMs: 100 } }
let server: NatsServerHandle
let client: NatsConnection
const dir = mkdtempSync(join(tmpdir(), 'idr-event-time-js-'))

beforeAll(async () => {
  server = await streamServer(PARTITIONS)
  client = await connect({ servers: server.url })
})
afterAll(async () => {
  await client?.close()
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function until(test: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function engineOn(file: string, idlePartitionMs: number): Promise<{ engine: Engine, store: SqliteStore }> {
  const store = openStore(file)
  const bus = await NatsBus.connect({ url: server.url, mode: 'jetstream', stream: STREAM, partitions: [0, 1], partitionsOf: PARTITIONS })
  const engine = new Engine({ bus, store, pseudonymKey: TEST_KEY, partitionsOf: PARTITIONS, household, idlePartitionMs, snapshotIntervalMs: 100 })
  await engine.start()
  return { engine, store }
}

async function lastSeq(): Promise<number> {
  return (await (await client.jetstreamManager()).streams.info(STREAM)).state.last_seq
}

describe('event time on JetStream', () => {
  it('closes a quiet session through watermark records in the stream, and a replay applies them identically', async () => {
    const closes: string[] = []
    const sub = client.subscribe('idr.out.assign.>', {
      callback: (_e, m) => {
        const a = decode(m.data) as Assignment
        if (a.stage === 'close') closes.push(a.session)
      },
    })
    const live = await engineOn(join(dir, 'live.db'), 200)
    const js = client.jetstream()
    const t0 = Date.now() - 1_000
    const e = (i: number): IdrEvent => ({
      v: 1, id: `q-${i}`, account: 'quiet', device: 'tv-1', deviceType: 'tv', screenIn: 55, ts: t0 + i * 50,
      kind: i === 0 ? 'play' : 'heartbeat', content: 'title-1', genres: ['drama'], durationSec: 1, ip: '203.0.113.9',
    })
    for (let i = 0; i < 3; i++) await js.publish('idr.ev.quiet', encode(e(i)))
    // nothing else is published: only the idle policy can move this partition's event time past the gap
    await until(() => closes.includes('quiet#1'), 'the quiet session to close')
    const info = await (await client.jetstreamManager()).streams.info(STREAM, { subjects_filter: 'idr.evp.*' })
    const records = Object.entries(info.state.subjects ?? {})
    expect(records.length).toBe(1) // one partition's watermark subject, idr.evp.<p>
    expect(records[0]![1]).toBeGreaterThanOrEqual(1)
    const end = await lastSeq()
    await until(() => Math.min(...live.engine.runtime.positions().values()) >= end, 'the live engine to cover the stream')
    await live.engine.drain()
    const want = live.store.load('quiet')!
    const liveTimers = live.engine.stats().timersFired
    expect(liveTimers).toBeGreaterThanOrEqual(1)
    live.store.close()

    // the replay: an empty store, the same stream, and an idle policy that never fires on its own
    const replay = await engineOn(join(dir, 'replay.db'), 3_600_000)
    await until(() => replay.engine.stats().messagesIn >= end, 'the replay to read the stream')
    await replay.engine.runtime.whenIdle()
    await replay.engine.drain()
    const got = replay.store.load('quiet')!
    expect(Buffer.from(got.snapshot).equals(Buffer.from(want.snapshot))).toBe(true)
    expect(got.seq).toBe(want.seq)
    expect(got.timerAt).toBe(want.timerAt)
    expect(replay.engine.stats().timersFired).toBe(liveTimers)
    replay.store.close()
    sub.unsubscribe()
  })

  it('dead-letters a malformed watermark record and applies nothing from it', async () => {
    const dlq: string[] = []
    const sub = client.subscribe('idr.dlq', { callback: (_e, m) => dlq.push((decode(m.data) as { code: string }).code) })
    const { engine, store } = await engineOn(join(dir, 'bad.db'), 3_600_000)
    const before = await lastSeq()
    await until(() => engine.stats().messagesIn >= before, 'the engine to read what the stream holds')
    await engine.runtime.whenIdle()
    const fired = engine.stats().timersFired
    for (const body of [encode({ v: 1, eventTime: 'soon' }), encode({ v: 2, eventTime: Date.now() }), new Uint8Array([0xc1])]) {
      await client.jetstream().publish('idr.evp.1', body)
    }
    await until(() => dlq.length >= 3, 'the records to be dead-lettered')
    expect(dlq).toEqual(['BAD_WATERMARK', 'BAD_WATERMARK', 'BAD_WATERMARK'])
    expect(engine.stats().timersFired).toBe(fired)
    await engine.drain()
    store.close()
    sub.unsubscribe()
  })
})
