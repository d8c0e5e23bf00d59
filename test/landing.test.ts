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

/** Per-account messages of up to 8 consecutive events. */
function batches(events: readonly IdrEvent[]): { account: string, events: IdrEvent[] }[] {
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

  it('splits a mixed batch into one keyed message per account, pseudonymised, with a stable Nats-Msg-Id', () => {
    const three = accounts.slice(0, 3)
    const batch = three.flatMap((a, i) => planted.filter((e) => e.account === a).slice(0, 2 + i))
    const bad = { ...batch[0]!, id: 'bad-1', kind: 'dance' }
    const r = relay.relay(`idr.ev.${three[0]}`, encode([...batch, bad]), 1)
    expect(r.keyed.map((k) => k.subject)).toEqual(three.map((a) => s.keyedEvents(partitionOf(a, PARTITIONS), a)))
    expect(r.keyed.map((k) => k.events)).toEqual([2, 3, 4])
    const first = decode(r.keyed[0]!.data) as IdrEvent[]
    expect(first.map((e) => e.device)).toEqual(batch.slice(0, 2).map((e) => pseudo.device(e.device)))
    expect(first.map((e) => e.ip)).toEqual(batch.slice(0, 2).map((e) => pseudo.ip(e.ip!)))
    // the refused element is dead-lettered, without its raw device
    expect(r.rejects.map((x) => [x.code, x.index])).toEqual([['BAD_KIND', 9]])
    expect(hits([{ what: 'records', bytes: Buffer.from(JSON.stringify(r.rejects)) }], rawNeedles(DEVICES, IPS))).toEqual([])
    // the same landing message relayed again gives the same ids; other events give other ids
    expect(relay.relay(`idr.ev.${three[0]}`, encode(batch), 2).keyed.map((k) => k.msgId)).toEqual(r.keyed.map((k) => k.msgId))
    expect(new Set(r.keyed.map((k) => k.msgId)).size).toBe(3)
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
  beforeAll(async () => { server = await startNatsServer({ config: exampleConfig({ partitions: PARTITIONS, passwords }) }) })
  afterAll(async () => {
    await Promise.all(conns.map((nc) => nc.close()))
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  async function as(user: ExampleUser, inboxPrefix?: string): Promise<NatsConnection> {
    const nc = await connect({ servers: server.url, user, pass: passwords[user], ...(inboxPrefix ? { inboxPrefix } : {}) })
    conns.push(nc)
    return nc
  }
  const engines: EngineProcess[] = []
  const startEngine = async (): Promise<EngineProcess> => {
    const args = ['--nats', server.url, '--landing', '--of', String(PARTITIONS), '--db', db, '--pool-threads', '1', '--snapshot-interval-ms', '150', '--log-level', 'trace']
    const e = new EngineProcess(args, { IDR_PSEUDONYM_KEY: KEY, IDR_NATS_USER: 'engine', IDR_NATS_PASSWORD: passwords.engine })
    engines.push(e)
    await e.waitFor((l) => l.msg === 'serving', 30_000)
    return e
  }
  async function until(test: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs
    while (!(await test())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 100))
    }
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

    // erasure reaches the keyed stream: every message of an account is on its own subject, one account each
    const erased = accounts[2]!
    const keyedSubject = s.keyedEvents(partitionOf(erased, PARTITIONS), erased)
    const count = async (): Promise<number> => { let n = 0; for await (const _ of scanSubject(jsm, 'IDR_KEYED', keyedSubject)) n++; return n }
    expect(await count()).toBeGreaterThan(0)
    const reply = JSON.parse(sc.decode((await admin.request('idr.api.privacy.erase', sc.encode(JSON.stringify({ account: erased })), { timeout: 20_000 })).data)) as { streamMessages: number }
    expect(reply.streamMessages).toBeGreaterThan(0)
    expect(await count()).toBe(0)
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
    expect(engines.every((e) => e.lines.length > 10)).toBe(true)
    expect(hits([...files, ...logs, { what: 'dead letters', bytes: Buffer.concat(dlq) }], needles)).toEqual([])

    // the malformed landing messages were dead-lettered (once each) and acknowledged (the landing stream is empty)
    const codes = dlq.map((b) => (decode(b) as DlqRecord).code)
    expect(codes.filter((c) => c === 'BAD_MSGPACK')).toHaveLength(1)
    expect(codes.filter((c) => c === 'BAD_KIND')).toHaveLength(1)
    // the relay logged no failure but those of the kills' aftermath
    console.log(`landing: ${messages.length} messages, ${planted.length} events; errors logged by the last engine: ${JSON.stringify(last.lines.filter((l) => (l.level ?? 0) >= 50))}`)
  }, 180_000)
})
