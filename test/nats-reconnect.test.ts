// `idr serve` across a nats-server restart on the same port, under load: it logs the disconnect, answers
// /readyz 503 while the server is down, logs the reconnect with the downtime, is ready again and counts
// the reconnect in /metrics. On NATS core events sent while it is away may be lost (at most once), but the
// counters stay consistent and it keeps applying; with JetStream every acknowledged event is applied, once.
// A connection nats.js gives up on (the password no longer works) stops the process with exit code 1.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect, StringCodec, type NatsConnection } from 'nats'
import { afterEach, describe, expect, it } from 'vitest'
import type { EngineStats } from '../src/engine/engine.js'
import { NatsBus, type ConnectionEvent } from '../src/transport/nats.js'
import { EngineProcess, type LogLine } from './helpers/engine-process.js'
import { messages, simEvents } from './helpers/engine.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'
import { tempDir } from './helpers/stream.js'

const PARTITIONS = 4
// 60 households × 20 days: 39,705 events in 4,990 per-account messages of up to 8
const MESSAGES = messages(simEvents(60, 20, 5), 8, 'per-account')
const EVENTS_PER_MESSAGE = MESSAGES.map((m) => eventCount(m.data))
/** Messages per tick and ms between ticks: about 8,000 events/s, so publishing lasts ≥ 5 s. */
const TICK_MESSAGES = 10
const TICK_MS = 10
/** How long the server stays down, ms (nats.js retries every 2 s). */
const DOWN_MS = 1_500
/** How long an engine may take to apply what it was sent, ms. */
const CATCH_UP_MS = 60_000

const sc = StringCodec()
const cleanups: (() => Promise<unknown> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A nats-server with the example config's partition mapping (JetStream when asked), stopped after the test. */
async function server(jetstream: boolean): Promise<NatsServerHandle> {
  const s = await startNatsServer({ jetstream, config: `mappings = { "idr.ev.*": "idr.evp.{{partition(${PARTITIONS},1)}}.{{wildcard(1)}}" }\n` })
  cleanups.push(() => s.stop())
  return s
}

/** idr serve with an ephemeral HTTP port; resolves once it serves, with that port. */
async function serve(url: string, extra: string[]): Promise<{ engine: EngineProcess, http: (path: string) => Promise<Response> }> {
  const tmp = tempDir()
  cleanups.push(() => tmp.remove())
  const engine = new EngineProcess([
    '--nats', url, '--db', tmp.db('engine'), '--of', String(PARTITIONS), '--dev-key', '--pool-threads', '0', '--http', '0',
    '--snapshot-interval-ms', '200', '--log-level', 'debug', ...extra,
  ])
  cleanups.push(() => engine.kill())
  const serving = await engine.waitFor((l) => l.msg === 'serving', 30_000)
  const port = serving['http'] as number
  return { engine, http: (path) => fetch(`http://127.0.0.1:${port}${path}`) }
}

/** A plain client that keeps reconnecting (its default gives up after 10 tries). */
async function client(url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 250 })
  cleanups.push(() => nc.close())
  return nc
}

/**
 * The engine's stats. Right after a reconnect a request can be lost while either side's subscriptions are
 * being re-sent (a loaded machine widens that window), so a timed-out one is asked again, three times at most.
 */
async function stats(nc: NatsConnection): Promise<EngineStats> {
  for (let attempt = 1; ; attempt++) {
    try {
      return JSON.parse(sc.decode((await nc.request('idr.api.stats', sc.encode('{}'), { timeout: 5_000 })).data)) as EngineStats
    } catch (e) {
      if (attempt >= 3 || !(e instanceof Error) || !/TIMEOUT|503/.test(String((e as { code?: unknown }).code ?? e.message))) throw e
    }
  }
}

/** The value of an unlabelled metric in Prometheus text. */
function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  if (!line) throw new Error(`${name} not in /metrics`)
  return Number(line.slice(name.length + 1))
}

function eventCount(data: Uint8Array): number {
  // per-account messages of up to 8 events are msgpack arrays: fixarray 0x91..0x98 (one event alone is a map)
  const b = data[0]!
  return b >= 0x90 && b <= 0x9f ? b - 0x90 : 1
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until<T>(what: string, get: () => Promise<T> | T, test: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await get()
    if (test(v)) return v
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(v)}`)
    await sleep(100)
  }
}

/**
 * Stops nats-server while the engine works, checks what the engine says while it is down, starts it again on
 * the same port and checks the engine is back. Returns the reconnect log line.
 */
async function outage(s: NatsServerHandle, engine: EngineProcess, http: (path: string) => Promise<Response>): Promise<LogLine> {
  await s.halt()
  await engine.waitFor((l) => l.msg === 'nats disconnected; reconnecting', 10_000)
  const down = await http('/readyz')
  expect(down.status).toBe(503)
  expect(await down.json()).toEqual({ status: 'not ready', reason: 'nats-disconnected' })
  expect(metric(await (await http('/metrics')).text(), 'idr_nats_connected')).toBe(0)
  expect(metric(await (await http('/metrics')).text(), 'idr_ready')).toBe(0)
  await sleep(DOWN_MS)
  await s.resume()
  const back = await engine.waitFor((l) => l.msg === 'nats reconnected', 15_000)
  expect((await http('/readyz')).status).toBe(200)
  const text = await (await http('/metrics')).text()
  expect(metric(text, 'idr_nats_reconnects_total')).toBeGreaterThanOrEqual(1)
  expect(metric(text, 'idr_nats_disconnects_total')).toBeGreaterThanOrEqual(1)
  expect(metric(text, 'idr_nats_connected')).toBe(1)
  return back
}

describe('idr serve across a nats-server restart', () => {
  it('on NATS core: goes unready while the server is down, reconnects, and keeps applying with consistent counters', async () => {
    const s = await server(false)
    const { engine, http } = await serve(s.url, [])
    const nc = await client(s.url)
    let sent = 0
    const publishing = (async () => {
      for (let i = 0; i < MESSAGES.length; i += TICK_MESSAGES) {
        for (let j = i; j < Math.min(i + TICK_MESSAGES, MESSAGES.length); j++) {
          // published while the server is down, these wait in the client's buffer and may or may not arrive
          nc.publish(`idr.ev.${MESSAGES[j]!.account}`, MESSAGES[j]!.data)
          sent += EVENTS_PER_MESSAGE[j]!
        }
        await sleep(TICK_MS)
      }
      await nc.flush()
    })()
    await until('the engine to apply events', () => stats(nc), (st) => st.eventsApplied > 0, 10_000)
    const back = await outage(s, engine, http)
    expect(back['downMs']).toBeGreaterThanOrEqual(DOWN_MS)
    expect(sent).toBeLessThan(EVENTS_PER_MESSAGE.reduce((a, b) => a + b, 0)) // the outage came under load
    const atReturn = await stats(nc)
    await publishing
    // settled: nothing queued, and the count no longer moves
    let last = -1
    const final = await until('the engine to settle', () => stats(nc), (st) => {
      const settled = st.queued === 0 && st.eventsApplied === last
      last = st.eventsApplied
      return settled
    }, CATCH_UP_MS)
    expect(final.eventsApplied).toBeGreaterThan(atReturn.eventsApplied) // it applied events sent after the return
    expect(final.eventsApplied + final.eventsRejected + final.duplicatesIgnored).toBeLessThanOrEqual(sent)
    expect(final.eventsApplied).toBeGreaterThan(0)
    expect(await engine.terminate()).toBe(0)
  }, 90_000)

  it('on JetStream: goes unready while the server is down, reconnects, and applies every acknowledged event once', async () => {
    const s = await server(true)
    const { engine, http } = await serve(s.url, ['--jetstream'])
    const nc = await client(s.url)
    const js = nc.jetstream({ timeout: 1_000 })
    let acked = 0
    let duplicates = 0
    let retries = 0
    /** Publishes until acknowledged; the message id lets the stream drop a retry of one it already stored. */
    const publishAcked = async (j: number): Promise<void> => {
      const m = MESSAGES[j]!
      for (;;) {
        try {
          const ack = await js.publish(`idr.ev.${m.account}`, m.data, { msgID: `reconnect-${j}` })
          if (ack.duplicate) duplicates++
          acked += EVENTS_PER_MESSAGE[j]!
          return
        } catch {
          retries++
          await sleep(100)
        }
      }
    }
    const publishing = (async () => {
      for (let i = 0; i < MESSAGES.length; i += TICK_MESSAGES) {
        const window: Promise<void>[] = []
        for (let j = i; j < Math.min(i + TICK_MESSAGES, MESSAGES.length); j++) window.push(publishAcked(j))
        await Promise.all(window)
        await sleep(TICK_MS)
      }
    })()
    await until('the engine to apply events', () => stats(nc), (st) => st.eventsApplied > 0, 10_000)
    const back = await outage(s, engine, http)
    expect(back['downMs']).toBeGreaterThanOrEqual(DOWN_MS)
    await publishing
    const total = EVENTS_PER_MESSAGE.reduce((a, b) => a + b, 0)
    expect(acked).toBe(total)
    console.log(`JetStream publisher: ${retries} retries, ${duplicates} duplicate acks across the outage`)
    const final = await until('the engine to apply every acknowledged event', () => stats(nc), (st) => st.eventsApplied >= acked, CATCH_UP_MS)
    await sleep(500)
    const after = await stats(nc)
    expect(after.eventsApplied).toBe(acked)
    expect(after.eventsRejected).toBe(0)
    expect(final.eventsApplied).toBe(after.eventsApplied)
    expect(await engine.terminate()).toBe(0)
  }, 120_000)
})

describe('idr serve when the NATS connection ends for good', () => {
  it('logs it, drains and exits 1 once the server refuses its password on reconnect', async () => {
    const s = await startNatsServer({ config: 'authorization { user: engine, password: "first" }\n' })
    cleanups.push(() => s.stop())
    const { engine, http } = await serve(s.url, ['--nats-user', 'engine', '--nats-password', 'first'])
    expect((await http('/healthz')).status).toBe(200)
    await s.halt()
    const file = join(s.dir, 'nats-server.conf')
    writeFileSync(file, readFileSync(file, 'utf8').replace('"first"', '"second"'))
    await s.resume()
    // nats.js gives up after the same authorization error twice in a row
    const closed = await engine.waitFor((l) => l.msg === 'nats connection closed for good: nothing more can arrive; stopping', 20_000)
    expect(closed.level).toBe(50)
    expect((await engine.exited).code).toBe(1)
    expect(engine.lines.some((l) => l.msg === 'engine drained')).toBe(true)
  }, 30_000)
})

describe('NatsBus connection state', () => {
  it('goes disconnected when the server stops, connected again after it returns, and closed on close()', async () => {
    const s = await server(false)
    const events: ConnectionEvent[] = []
    const bus = await NatsBus.connect({ url: s.url, mode: 'core', partitions: [0], partitionsOf: 1, onConnection: (e) => events.push(e) })
    cleanups.push(() => bus.destroy())
    const hostPort = `127.0.0.1:${s.port}`
    expect(bus.connection).toMatchObject({ state: 'connected', server: hostPort })
    await s.halt()
    await until('the disconnect', () => bus.connection.state, (st) => st === 'disconnected', 5_000)
    await sleep(DOWN_MS)
    await s.resume()
    await until('the reconnect', () => bus.connection.state, (st) => st === 'connected', 10_000)
    await bus.close()
    await until('the close', () => bus.connection.state, (st) => st === 'closed', 5_000)
    const told = events.filter((e) => e.type !== 'reconnecting')
    expect(told.map((e) => e.type)).toEqual(['disconnect', 'reconnect', 'closed'])
    expect(told[0]).toEqual({ type: 'disconnect', server: hostPort })
    expect(told[1]).toMatchObject({ type: 'reconnect', server: hostPort })
    expect((told[1] as { downMs: number }).downMs).toBeGreaterThanOrEqual(DOWN_MS)
    expect(told[2]).toEqual({ type: 'closed', requested: true })
  })
})
