// The landing path (docs/privacy.md, "The landing path"): publishers' raw events wait only in the memory work
// queue IDR_LAND until the relay has written their pseudonymised form into the durable stream IDR_KEYED, which is
// what the engine reads and replays. Under the example nats-server config (least privilege), with canary IPs and
// device ids published under load and the engine SIGKILLed twice mid-stream: every event applied exactly once,
// and afterwards the canaries are in none of nats-server's files, the SQLite files, the logs or the dead letters,
// while the same search finds the pseudonyms in the keyed stream's files; the landing stream is empty.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode, encode } from '@msgpack/msgpack'
import { connect, StringCodec, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IdrEvent } from '../src/model/events.js'
import { Ingress, type DlqRecord } from '../src/ingress/ingress.js'
import { KeyedRelay } from '../src/ingress/relay.js'
import { Pseudonymiser } from '../src/privacy/pseudonymise.js'
import { scanSubject } from '../src/privacy/stream-erase.js'
import { partitionOf } from '../src/contracts/partition.js'
import { subjects } from '../src/contracts/subjects.js'
import { rng } from '../src/sim/random.js'
import { hits, rawNeedles, readRunFiles, readTree, type Artifact } from './helpers/canaries.js'
import { EngineProcess } from './helpers/engine-process.js'
import { simEvents } from './helpers/engine.js'
import { exampleConfig, startNatsServer, type ExampleUser, type NatsServerHandle } from './helpers/nats-server.js'
import { snapshotStats, storedPositions, storedRows } from './helpers/stream.js'

const PARTITIONS = 4
const KEY = 'landing-test-key-0b7e4c2a9f1d3e5c'
const SEED = Number(process.env['IDR_LANDING_SEED'] ?? 20261204)
const passwords: Record<ExampleUser, string> = { publisher: 'pub-pw', engine: 'engine-pw', admin: 'admin-pw' }
const PUBLISHER_INBOX = '_INBOX_publisher'
const sc = StringCodec()
const pseudo = new Pseudonymiser(KEY)
const s = subjects()

// Planted raw values: documentation IP ranges (RFC 5737, RFC 3849) and distinctive device ids.
const IPS = ['198.51.100.91', '203.0.113.204', '2001:db8::c0ff:ee42'] as const
const sim = simEvents(40, 14, 23)
const simDevices = [...new Set(sim.map((e) => e.device))]
const DEVICES = simDevices.map((_, i) => `LANDING-CANARY-DEV-${String(i).padStart(3, '0')}`)
const deviceOf = new Map(simDevices.map((d, i) => [d, DEVICES[i]!]))
const accounts = [...new Set(sim.map((e) => e.account))]
const planted: IdrEvent[] = sim.map((e, i) => ({ ...e, id: `ev-${i}`, device: deviceOf.get(e.device)!, ip: IPS[i % IPS.length]! }))

/** The first half as per-account messages of up to 8 events, the rest as messages of 8 consecutive events of any accounts. */
function batches(events: readonly IdrEvent[]): { account: string, events: IdrEvent[] }[] {
  const half = Math.floor(events.length / 2)
  const mixed: { account: string, events: IdrEvent[] }[] = []
  for (let i = half; i < events.length; i += 8) mixed.push({ account: events[i]!.account, events: events.slice(i, i + 8) })
  return [...perAccount(events.slice(0, half)), ...mixed]
}

/** Per-account messages of up to 8 consecutive events. */
function perAccount(events: readonly IdrEvent[]): { account: string, events: IdrEvent[] }[] {
  const open = new Map<string, IdrEvent[]>()
  const out: { account: string, events: IdrEvent[] }[] = []
  for (const e of events) {
    const b = open.get(e.account) ?? []
    b.push(e)
    if (b.length === 8) {
      out.push({ account: e.account, events: b })
      open.delete(e.account)
    } else {
      open.set(e.account, b)
    }
  }
  for (const [account, b] of open) out.push({ account, events: b })
  return out
}

describe('the relay and the keyed ingress (no server)', () => {
  const ingress = new Ingress({ pseudonymKey: KEY })
  const relay = new KeyedRelay(ingress, PARTITIONS)

  it('splits a mixed batch by partition: one account on its own subject, several on the mixed one; pseudonymised, with a stable Nats-Msg-Id', () => {
    // two accounts of one partition and one of another
    const p0 = accounts.filter((a) => partitionOf(a, PARTITIONS) === partitionOf(accounts[0]!, PARTITIONS)).slice(0, 2)
    const other = accounts.find((a) => partitionOf(a, PARTITIONS) !== partitionOf(accounts[0]!, PARTITIONS))!
    const three = [p0[0]!, other, p0[1]!]
    const batch = three.flatMap((a, i) => planted.filter((e) => e.account === a).slice(0, 2 + i))
    const bad = { ...batch[0]!, id: 'bad-1', kind: 'dance' }
    const r = relay.relay(`idr.ev.${three[0]}`, encode([...batch, bad]), 1)
    expect(r.keyed.map((k) => k.subject)).toEqual([s.keyedMixed(partitionOf(p0[0]!, PARTITIONS)), s.keyedEvents(partitionOf(other, PARTITIONS), other)])
    expect(r.keyed.map((k) => k.events)).toEqual([6, 3])
    const first = decode(r.keyed[0]!.data) as IdrEvent[]
    const inP0 = batch.filter((e) => e.account !== other)
    expect(first.map((e) => e.account)).toEqual(inP0.map((e) => e.account))
    expect(first.map((e) => e.device)).toEqual(inP0.map((e) => pseudo.device(e.device)))
    expect(first.map((e) => e.ip)).toEqual(inP0.map((e) => pseudo.ip(e.ip!)))
    // the refused element is dead-lettered, without its raw device
    expect(r.rejects.map((x) => [x.code, x.index])).toEqual([['BAD_KIND', 9]])
    expect(hits([{ what: 'records', bytes: Buffer.from(JSON.stringify(r.rejects)) }], rawNeedles(DEVICES, IPS))).toEqual([])
    // the same landing message relayed again gives the same ids; other events give other ids
    expect(relay.relay(`idr.ev.${three[0]}`, encode(batch), 2).keyed.map((k) => k.msgId)).toEqual(r.keyed.map((k) => k.msgId))
    expect(new Set(r.keyed.map((k) => k.msgId)).size).toBe(2)
    expect(relay.relay(`idr.ev.${three[0]}`, encode(batch.slice(1)), 3).keyed[0]!.msgId).not.toBe(r.keyed[0]!.msgId)
  })

  it('applies keyed events as they are, and refuses on a keyed subject a raw device or ip, or another account', () => {
    const a = accounts[0]!
    const [k] = relay.relay(`idr.ev.${a}`, encode(planted.filter((e) => e.account === a).slice(0, 3)), 1).keyed
    const again = ingress.decode(k!.subject, k!.data, 1)
    expect(again.rejects).toEqual([])
    expect(again.events).toEqual(decode(k!.data)) // not pseudonymised a second time
    const raw = planted.filter((e) => e.account === a).slice(0, 2)
    const refused = ingress.decode(k!.subject, encode([raw[0], { ...raw[1], device: pseudo.device(raw[1]!.device) }]), 1)
    expect(refused.events).toEqual([])
    expect(refused.rejects.map((x: DlqRecord) => [x.code, x.field])).toEqual([['NOT_PSEUDONYMISED', 'device'], ['NOT_PSEUDONYMISED', 'ip']])
    expect(hits([{ what: 'records', bytes: Buffer.from(JSON.stringify(refused.rejects)) }], rawNeedles(DEVICES, IPS))).toEqual([])
    const other = ingress.decode(k!.subject, encode([{ ...(decode(k!.data) as IdrEvent[])[0], account: accounts[1] }]), 1)
    expect(other.rejects.map((x) => x.code)).toEqual(['ACCOUNT_MISMATCH'])
  })
})

describe('the landing path under the example nats-server config', () => {
  let server: NatsServerHandle
  const dir = mkdtempSync(join(tmpdir(), 'idr-landing-'))
  const db = join(dir, 'idr.db')
  const conns: NatsConnection[] = []
  const engines: EngineProcess[] = []
  beforeAll(async () => { server = await startNatsServer({ config: exampleConfig({ partitions: PARTITIONS, passwords }) }) })
  afterAll(async () => {
    // a failed test leaves no engine behind
    await Promise.all(engines.map((e) => e.kill()))
    await Promise.all(conns.map((nc) => nc.close()))
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  async function as(user: ExampleUser, inboxPrefix?: string): Promise<NatsConnection> {
    const nc = await connect({ servers: server.url, user, pass: passwords[user], ...(inboxPrefix ? { inboxPrefix } : {}) })
    conns.push(nc)
    return nc
  }
  const startEngine = async (): Promise<EngineProcess> => {
    const args = ['--nats', server.url, '--landing', '--of', String(PARTITIONS), '--db', db, '--pool-threads', '1', '--snapshot-interval-ms', '150', '--log-level', 'trace']
    const e = new EngineProcess(args, { IDR_PSEUDONYM_KEY: KEY, IDR_NATS_USER: 'engine', IDR_NATS_PASSWORD: passwords.engine })
    engines.push(e)
    await e.waitFor((l) => l.msg === 'serving', 30_000)
    return e
  }
  it('applies every event exactly once across two SIGKILLs, and leaves no raw value at rest', async () => {
    const admin = await as('admin')
    const dlq: Buffer[] = []
    admin.subscribe('idr.dlq', { callback: (_, m) => dlq.push(Buffer.from(m.data)) })
    await admin.flush()
    const engineNc = await as('engine')
    const jsm = await engineNc.jetstreamManager()

    const r = rng(SEED)
    const first = await startEngine()
    // the publisher: JetStream publishes, each waiting for the landing stream's acknowledgement, in windows
    const publisher = await as('publisher', PUBLISHER_INBOX)
    const js = publisher.jetstream()
    const messages = batches(planted)
    // paced to last about 10 s, so that both kills fall inside it
    const pauseMs = Math.max(5, Math.round(10_000 / (messages.length / 32)))
    let done = false
    const publishing = (async () => {
      for (let i = 0; i < messages.length; i += 32) {
        await Promise.all(messages.slice(i, i + 32).map((m) => js.publish(`idr.ev.${m.account}`, encode(m.events), { msgID: m.events[0]!.id })))
        await new Promise((res) => setTimeout(res, pauseMs))
      }
      // malformed: not msgpack at all (a canary in the bytes), and events the validator refuses
      await js.publish(`idr.ev.${accounts[0]}`, Buffer.from(`\xc1${DEVICES[0]} ${IPS[0]}`))
      await js.publish(`idr.ev.${accounts[1]}`, encode([{ ...planted[0]!, account: accounts[1], id: 'bad-kind', kind: 'dance' }]))
      done = true
    })()
    for (const [i, engine] of [first, undefined].entries()) {
      const e = engine ?? await startEngine()
      await until(() => e.checkpoints >= 2, 30_000, 'two checkpoints')
      await new Promise((res) => setTimeout(res, 200 + Math.floor(r.uniform() * 400)))
      expect(done, `the publisher is still publishing at kill ${i + 1}`).toBe(false)
      await e.kill()
    }
    await publishing
    const last = await startEngine()
    // caught up: the landing stream is empty (redeliveries after the kills come within the ack wait, 15 s) and
    // every partition's stored position has reached the keyed stream's last message
    await until(async () => (await jsm.streams.info('IDR_LAND')).state.messages === 0, 60_000, 'the landing stream to empty')
    const keyedLast = (await jsm.streams.info('IDR_KEYED')).state.last_seq
    await until(() => {
      try {
        const pos = storedPositions(db)
        return Array.from({ length: PARTITIONS }, (_, p) => pos.get(p) ?? 0).every((seq) => seq >= keyedLast)
      } catch {
        return false
      }
    }, 60_000, 'the engine to catch up')

    // erasure reaches the keyed stream: an account's messages on its own subject and the mixed ones holding its events
    const erased = accounts[2]!
    const p = partitionOf(erased, PARTITIONS)
    const count = async (): Promise<{ own: number, mixed: number }> => {
      let own = 0
      let mixed = 0
      for await (const _ of scanSubject(jsm, 'IDR_KEYED', s.keyedEvents(p, erased))) own++
      for await (const m of scanSubject(jsm, 'IDR_KEYED', s.keyedMixed(p))) if (m.events.some((e) => (e as IdrEvent).account === erased)) mixed++
      return { own, mixed }
    }
    const before = await count()
    expect(before.own).toBeGreaterThan(0)
    expect(before.mixed).toBeGreaterThan(0)
    const reply = JSON.parse(sc.decode((await admin.request('idr.api.privacy.erase', sc.encode(JSON.stringify({ account: erased })), { timeout: 20_000 })).data)) as { streamMessages: number }
    expect(reply.streamMessages).toBe(before.own + before.mixed)
    expect(await count()).toEqual({ own: 0, mixed: 0 })
    // a device's erasure by its raw id finds its keyed messages by pseudonym, and leaves the account's others
    const account = accounts[3]!
    const raw = planted.find((e) => e.account === account)!.device
    const pa = partitionOf(account, PARTITIONS)
    const holding = async (): Promise<{ device: number, others: number }> => {
      let device = 0
      let others = 0
      for (const subject of [s.keyedEvents(pa, account), s.keyedMixed(pa)]) {
        for await (const m of scanSubject(jsm, 'IDR_KEYED', subject)) {
          const mine = (m.events as IdrEvent[]).filter((e) => e.account === account)
          if (mine.some((e) => e.device === pseudo.device(raw))) device++
          else if (mine.length > 0) others++
        }
      }
      return { device, others }
    }
    const held = await holding()
    expect(held.device).toBeGreaterThan(0)
    expect(held.others).toBeGreaterThan(0)
    const deviceReply = JSON.parse(sc.decode((await admin.request('idr.api.privacy.erase', sc.encode(JSON.stringify({ account, device: raw })), { timeout: 20_000 })).data)) as { streamMessages: number }
    expect(deviceReply.streamMessages).toBe(held.device)
    expect(await holding()).toEqual({ device: 0, others: held.others })
    expect(await last.terminate()).toBe(0)

    // exactly once: every account's event count is what was published, nothing taken twice
    const rows = storedRows(db)
    expect(rows.map((x) => x.account).sort()).toEqual(accounts.filter((a) => a !== erased).sort())
    for (const row of rows) {
      const st = snapshotStats(row.snapshot)
      expect(st.events, row.account).toBe(planted.filter((e) => e.account === row.account).length)
      expect(st.duplicates, row.account).toBe(0)
    }
    const land = await jsm.streams.info('IDR_LAND')
    expect(land.state.messages).toBe(0)
    expect(land.config.storage).toBe('memory')

    // no raw value at rest: nats-server's whole store, the SQLite files, every log line, the dead letters
    const needles = rawNeedles(DEVICES, IPS)
    const store = readTree(join(server.dir, 'js'))
    expect(hits([{ what: 'nats-server store', bytes: Buffer.concat(store.map((f) => f.bytes)) }], needles)).toEqual([])
    // the search does find what is there: the keyed stream's files hold the device pseudonyms
    const keyedFiles = Buffer.concat(store.filter((f) => f.what.includes('IDR_KEYED')).map((f) => f.bytes))
    expect(DEVICES.filter((d) => keyedFiles.includes(Buffer.from(pseudo.device(d)))).length).toBeGreaterThan(DEVICES.length / 2)
    const files = readRunFiles(dir, 'run')
    expect(files.some((f) => f.what.endsWith('idr.db'))).toBe(true)
    const logs: Artifact[] = engines.map((e, i) => ({ what: `engine ${i} log`, bytes: Buffer.from(JSON.stringify(e.lines) + e.stderr.join('\n')) }))
    // the logs searched are the engines' whole output: each logged its start and its checkpoints (trace level)
    expect(engines.filter((e) => !e.lines.some((l) => l.msg === 'serving') || e.checkpoints < 1).length).toBe(0)
    expect(hits([...files, ...logs, { what: 'dead letters', bytes: Buffer.concat(dlq) }], needles)).toEqual([])

    // the malformed landing messages were dead-lettered (once each) and acknowledged (the landing stream is empty)
    const codes = dlq.map((b) => (decode(b) as DlqRecord).code)
    expect(codes.filter((c) => c === 'BAD_MSGPACK')).toHaveLength(1)
    expect(codes.filter((c) => c === 'BAD_KIND')).toHaveLength(1)
    // the relay logged no failure but those of the kills' aftermath
    const relayed = engines.map((e) => e.lines.find((l) => l.msg === 'landing relay stopped')).filter((l) => l !== undefined)
    console.log(`landing: ${messages.length} messages, ${planted.length} events; the last relay: ${JSON.stringify(relayed.at(-1))}; errors it logged: ${JSON.stringify(last.lines.filter((l) => (l.level ?? 0) >= 50))}`)
  }, 180_000)
})

describe('the landing path when nats-server restarts', () => {
  let server: NatsServerHandle
  const dir = mkdtempSync(join(tmpdir(), 'idr-landing-restart-'))
  const conns: NatsConnection[] = []
  let engine: EngineProcess | undefined
  /** Events the keyed stream holds from the runs before: a new engine with a new database reads them too. */
  let earlier = 0
  beforeAll(async () => { server = await startNatsServer({ config: exampleConfig({ partitions: PARTITIONS, passwords }) }) })
  afterAll(async () => {
    await engine?.kill()
    await Promise.all(conns.map((nc) => nc.close().catch(() => undefined)))
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it.each([['on its thread', true], ['on the event loop', false]])('recreates the memory landing stream and its consumers, and relays what is published afterwards (relay %s)', async (_, thread) => {
    await engine?.kill()
    engine = new EngineProcess(['--nats', server.url, '--landing', `--landing-thread=${thread}`, '--of', String(PARTITIONS), '--db', join(dir, `idr-${thread}.db`), '--pool-threads', '0', '--log-level', 'debug'],
      { IDR_PSEUDONYM_KEY: KEY, IDR_NATS_USER: 'engine', IDR_NATS_PASSWORD: passwords.engine })
    await engine.waitFor((l) => l.msg === 'serving', 30_000)
    const publisher = await connect({ servers: server.url, user: 'publisher', pass: passwords.publisher, inboxPrefix: PUBLISHER_INBOX, maxReconnectAttempts: -1, reconnectTimeWait: 200 })
    const admin = await connect({ servers: server.url, user: 'admin', pass: passwords.admin, maxReconnectAttempts: -1, reconnectTimeWait: 200 })
    conns.push(publisher, admin)
    const js = publisher.jetstream()
    const eventsIn = async (): Promise<number> => {
      try {
        return (JSON.parse(sc.decode((await admin.request('idr.api.stats', sc.encode('{}'), { timeout: 2_000 })).data)) as { eventsIn: number }).eventsIn
      } catch {
        return -1
      }
    }
    // a JetStream publisher retries until the landing stream acknowledges (no responders while it is missing)
    const publishAll = async (events: readonly IdrEvent[]): Promise<void> => {
      for (const m of perAccount(events)) {
        for (let attempt = 0; ; attempt++) {
          try {
            const ack = await js.publish(`idr.ev.${m.account}`, encode(m.events), { msgID: m.events[0]!.id, timeout: 2_000 })
            expect(ack.stream).toBe('IDR_LAND')
            break
          } catch (err) {
            if (attempt > 100) throw err
            await new Promise((r) => setTimeout(r, 200))
          }
        }
      }
    }
    // each run its own accounts: the landing stream is the server's, the engines' databases are their own
    const mine = planted.filter((e) => partitionOf(e.account, 2) === (thread ? 0 : 1))
    const before = mine.slice(0, 2_000)
    const after = mine.slice(2_000, 4_000)
    await publishAll(before)
    await until(async () => (await eventsIn()) === earlier + before.length, 30_000, 'the first events to be applied')

    await server.halt()
    await server.resume()
    await publishAll(after)
    await until(async () => (await eventsIn()) === earlier + before.length + after.length, 60_000, 'the events published after the restart to be applied')
    earlier += before.length + after.length
    // the engine connection saw the restart; the relay made the stream again, in memory
    expect(engine.lines.some((l) => l.msg === 'nats reconnected')).toBe(true)
    await publisher.close()
    await admin.close()
    const asEngine = await connect({ servers: server.url, user: 'engine', pass: passwords.engine })
    conns.push(asEngine)
    const land = await (await asEngine.jetstreamManager()).streams.info('IDR_LAND')
    expect(land.config.storage).toBe('memory')
    expect(land.state.messages).toBe(0)
    expect(await engine.terminate()).toBe(0)
  }, 120_000)
})

async function until(test: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('the landing path refuses to start over raw input', () => {
  let server: NatsServerHandle
  const dir = mkdtempSync(join(tmpdir(), 'idr-landing-refusal-'))
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true, config: `mappings = { "idr.ev.*": "idr.evp.{{partition(${PARTITIONS},1)}}.{{wildcard(1)}}" }\n` })
  })
  afterAll(async () => {
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const serve = (db: string, mode: string): EngineProcess =>
    new EngineProcess(['--nats', server.url, mode, '--of', String(PARTITIONS), '--db', join(dir, db), '--pool-threads', '0', '--snapshot-interval-ms', '100'], { IDR_PSEUDONYM_KEY: KEY })
  async function refused(engine: EngineProcess): Promise<{ code: number | null, logged: unknown }> {
    const exit = await engine.exited
    return { code: exit.code, logged: engine.lines.find((l) => l.msg === 'start-up failed')?.['code'] }
  }

  it('while the raw stream holds the input subjects, and on a database whose positions are the raw stream\'s', async () => {
    // a --jetstream engine takes some events, so its database holds positions in IDR_EV
    const raw = serve('raw.db', '--jetstream')
    await raw.waitFor((l) => l.msg === 'serving', 30_000)
    const nc = await connect({ servers: server.url })
    const js = nc.jetstream()
    for (const m of perAccount(planted.slice(0, 400))) await js.publish(`idr.ev.${m.account}`, encode(m.events))
    await until(() => { try { return storedPositions(join(dir, 'raw.db')).size > 0 } catch { return false } }, 30_000, 'stored positions')
    expect(await raw.terminate()).toBe(0)

    // the landing stream cannot take the subjects IDR_EV holds
    expect(await refused(serve('fresh.db', '--landing'))).toEqual({ code: 1, logged: 'NATS_STREAM_CONFLICT' })
    // with IDR_EV gone, the old database is still refused: its positions are IDR_EV's sequences
    await (await nc.jetstreamManager()).streams.delete('IDR_EV')
    expect(await refused(serve('raw.db', '--landing'))).toEqual({ code: 1, logged: 'STREAM_CHANGED' })
    // a new database starts
    const fresh = serve('fresh.db', '--landing')
    await fresh.waitFor((l) => l.msg === 'serving', 30_000)
    expect(await fresh.terminate()).toBe(0)
    await nc.close()
  }, 90_000)
})
