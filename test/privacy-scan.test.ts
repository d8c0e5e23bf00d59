// No raw personal data at rest: distinctive raw IPs and device ids are planted in events, `idr serve` runs on
// a real nats-server (core, then JetStream with a SIGKILL mid-run and a restart), and the raw bytes of the
// SQLite file, its -wal and -shm, the engine's log and its outputs / dead letters are searched for them, for
// unkeyed hashes of them and for the key. Each search is shown able to find: the canaries are in what was
// published and in the stream's own files (the stream keeps raw input by design, docs/privacy.md), and the
// keyed pseudonyms are in the database.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, createHmac } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, ErrorCode, StringCodec, type NatsConnection } from 'nats'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { IdrEvent } from '../src/model/events.js'
import { Pseudonymiser } from '../src/privacy/pseudonymise.js'
import { partitionOf } from '../src/contracts/partition.js'
import { messages, simEvents } from './helpers/engine.js'
import { exampleConfig, startNatsServer, type ExampleUser, type NatsServerHandle } from './helpers/nats-server.js'
import { caughtUp, Published, STREAM, streamServer } from './helpers/stream.js'
import { refusals } from './helpers/refusals.js'
import { hits, ipBytes, rawNeedles, readRunFiles, readTree, type Artifact, type Needle } from './helpers/canaries.js'

const MAIN = join(import.meta.dirname, '..', 'build', 'src', 'cli', 'main.js')
const PARTITIONS = 4
/** Given to the engine through IDR_PSEUDONYM_KEY only; it must never reach the database or the log. */
const KEY = 'privacy-scan-key-5e0c9b71d2a84f36a1e7c0d9'
const sc = StringCodec()

// Planted raw values: IPv4 from the documentation ranges (RFC 5737), IPv6 from 2001:db8::/32 (RFC 3849).
const IPS = ['198.51.100.173', '203.0.113.58', '192.0.2.219', '2001:db8::dead:beef', '2001:db8:85a3::8a2e:370:7334'] as const
const DEVICE_PREFIX = 'CANARY-DEV-91be-'

// 8 households × 10 days: ~1,500 events, enough for sessions to close and households to refit (≥ 3 closed sessions)
const sim = simEvents(8, 10, 11)
const simDevices = [...new Set(sim.map((e) => e.device))]
const DEVICES = simDevices.map((_, i) => `${DEVICE_PREFIX}${String(i).padStart(2, '0')}`)
const deviceOf = new Map(simDevices.map((d, i) => [d, DEVICES[i]!]))
const accounts = [...new Set(sim.map((e) => e.account))]
const ipOf = new Map(accounts.map((a, i) => [a, IPS[i % IPS.length]!]))

/** Every simulated event with its device renamed to a canary and its account's canary IP, then malformed ones. */
function plantedEvents(): IdrEvent[] {
  const good = sim.map((e) => ({ ...e, device: deviceOf.get(e.device)!, ip: ipOf.get(e.account)! }))
  // Rejected events whose error messages would echo the raw values if the ingress did not blank them.
  const bad = accounts.flatMap((account, i) => {
    const device = DEVICES[i]!
    const ip = ipOf.get(account)!
    const base = { v: 1, ts: sim[0]!.ts, account, device, ip, content: 'x' }
    return [
      { ...base, id: `bad-kind-${i}`, kind: device },
      { ...base, id: `bad-type-${i}`, kind: 'play', deviceType: `tv ${ip}` },
      { ...base, id: `bad-long-${i}`, kind: 'play', deviceType: 'tv', ip: ip.padEnd(80, '0') },
    ]
  }) as unknown as IdrEvent[]
  return [...good, ...bad]
}
const planted = plantedEvents()
const published = messages(planted, 16, 'per-account')
const pseudo = new Pseudonymiser(KEY)

// ---------------------------------------------------------------------------------------------------------
// Needles: what must not be found (raw values, their unkeyed hashes, the key) and what must (pseudonyms).

/** The needles that are a planted value's text as published (not a binary or expanded form). */
const isText = (n: Needle): boolean => !n.what.includes('(')

/** A digest as raw bytes, hex (both cases), base64 and base64url (unpadded, so padded text matches too). */
function digestForms(what: string, d: Buffer): Needle[] {
  const b64 = d.toString('base64').replace(/=+$/, '')
  return [
    { what: `${what} raw`, bytes: d },
    { what: `${what} hex`, bytes: Buffer.from(d.toString('hex')) },
    { what: `${what} HEX`, bytes: Buffer.from(d.toString('hex').toUpperCase()) },
    { what: `${what} base64`, bytes: Buffer.from(b64) },
    { what: `${what} base64url`, bytes: Buffer.from(d.toString('base64url')) },
  ]
}

/** SHA-256 (whole and first 16 bytes), SHA-1 and MD5 of each planted value, as text and (IPs) as binary. */
function unkeyedHashNeedles(): Needle[] {
  const inputs: { what: string, bytes: Buffer }[] = [
    ...DEVICES.map((d) => ({ what: d, bytes: Buffer.from(d) })),
    ...IPS.flatMap((ip) => [{ what: ip, bytes: Buffer.from(ip) }, { what: `${ip} (binary)`, bytes: ipBytes(ip) }]),
  ]
  return inputs.flatMap(({ what, bytes }) => {
    const sha256 = createHash('sha256').update(bytes).digest()
    return [
      ...digestForms(`sha256(${what})`, sha256),
      ...digestForms(`sha256(${what})[0..16]`, sha256.subarray(0, 16)),
      ...digestForms(`sha1(${what})`, createHash('sha1').update(bytes).digest()),
      ...digestForms(`md5(${what})`, createHash('md5').update(bytes).digest()),
    ]
  })
}

/** The key as given, in hex and base64, and the per-domain subkeys derived from it (keys as well). */
function keyNeedles(): Needle[] {
  const key = Buffer.from(KEY)
  const out: Needle[] = [{ what: 'key', bytes: key }, ...digestForms('key bytes', key).slice(1)]
  for (const d of ['device', 'ip', 'account']) out.push(...digestForms(`${d} subkey`, createHmac('sha256', key).update(`idr/pseudonym/v1/${d}`).digest()))
  return out
}

/** The keyed pseudonyms (d_…) of the planted devices, under the key the engine runs with: what the store must hold. */
function devicePseudonyms(): string[] {
  return DEVICES.map((d) => pseudo.device(d))
}

// ---------------------------------------------------------------------------------------------------------
// The engine as a child process whose stdout and stderr go straight into a log file (the bytes it wrote).

class LoggedEngine {
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  private readonly proc: ChildProcess

  constructor(args: readonly string[], readonly logFile: string) {
    const fd = openSync(logFile, 'a')
    try {
      this.proc = spawn(process.execPath, [MAIN, 'serve', ...args], { env: { ...process.env, IDR_PSEUDONYM_KEY: KEY }, stdio: ['ignore', fd, fd] })
    } finally {
      closeSync(fd)
    }
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })))
    running.add(this)
    void this.exited.then(() => running.delete(this))
  }

  /** The JSON lines logged so far (other lines as { msg }). */
  lines(): { msg?: string, [k: string]: unknown }[] {
    return readFileSync(this.logFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => {
      try {
        return JSON.parse(l) as { msg?: string }
      } catch {
        return { msg: l }
      }
    })
  }

  /** Checkpoints that wrote at least one household. */
  get checkpoints(): number {
    return this.lines().filter((l) => l.msg === 'checkpoint' && Number(l['households']) > 0).length
  }

  async waitForLog(msg: string, timeoutMs = 20_000): Promise<void> {
    let done = false
    void this.exited.then(() => { done = true })
    await until(() => {
      if (this.lines().some((l) => l.msg === msg)) return true
      if (done) throw new Error(`engine exited before logging "${msg}":\n${readFileSync(this.logFile, 'utf8')}`)
      return false
    }, timeoutMs, `log line "${msg}"`)
  }

  async kill(): Promise<void> {
    this.proc.kill('SIGKILL')
    await this.exited
  }

  async terminate(): Promise<number | null> {
    this.proc.kill('SIGTERM')
    return (await this.exited).code
  }
}

const running = new Set<LoggedEngine>()
const dirs: string[] = []
const connections: NatsConnection[] = []
afterEach(async () => {
  await Promise.all([...running].map((e) => e.kill()))
  await Promise.all(connections.splice(0).map((nc) => nc.close()))
})
afterAll(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

function runDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `idr-privacy-${label}-`))
  dirs.push(dir)
  return dir
}

async function until(test: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

function engineArgs(url: string, db: string, jetstream: boolean): string[] {
  return [
    '--nats', url, '--db', db, '--of', String(PARTITIONS), ...(jetstream ? ['--jetstream', '--stream', STREAM] : []),
    '--pool-threads', '1', '--snapshot-interval-ms', '100', '--log-level', 'trace',
  ]
}

/** Subscribes to the engine's outputs and dead letters; their payloads are scanned too. */
async function followOutputs(url: string): Promise<{ out: Buffer[], dlq: Buffer[] }> {
  const nc = await connect({ servers: url })
  connections.push(nc)
  const got = { out: [] as Buffer[], dlq: [] as Buffer[] }
  nc.subscribe('idr.out.>', { callback: (_, m) => got.out.push(Buffer.from(m.data)) })
  nc.subscribe('idr.dlq', { callback: (_, m) => got.dlq.push(Buffer.from(m.data)) })
  await nc.flush()
  return got
}

/** Core publishes of every planted message (flushed in rounds so that none is dropped on the way). */
async function publishCore(url: string): Promise<void> {
  const nc = await connect({ servers: url })
  for (let i = 0; i < published.length; i++) {
    nc.publish(`idr.ev.${published[i]!.account}`, published[i]!.data)
    if (i % 64 === 63) await nc.flush()
  }
  await nc.drain()
}

/** JetStream publishes of every planted message, acknowledged; the last sequence per partition goes into `into`. */
async function publishJetStream(url: string, into: Published): Promise<void> {
  const nc = await connect({ servers: url })
  const js = nc.jetstream()
  for (let i = 0; i < published.length; i += 128) {
    await Promise.all(published.slice(i, i + 128).map(async ({ account, data }) => {
      const ack = await js.publish(`idr.ev.${account}`, data)
      const p = partitionOf(account, PARTITIONS)
      into.lastSeq.set(p, Math.max(into.lastSeq.get(p) ?? 0, ack.seq))
    }))
  }
  await nc.drain()
}

/** Everything scanned in the engine runs, for the hash and key checks. */
const scanned: Artifact[] = []

/** Raw values found in the artifacts must be none; records them for the later checks. */
function expectNoRawValues(artifacts: readonly Artifact[]): void {
  expect(artifacts.length).toBeGreaterThan(0)
  expect(hits(artifacts, rawNeedles(DEVICES, IPS))).toEqual([])
  scanned.push(...artifacts)
}

/** The bytes of the database, its -wal and -shm together (a row may sit in either file). */
function storeBytes(artifacts: readonly Artifact[]): Buffer {
  return Buffer.concat(artifacts.filter((a) => !a.what.endsWith('.log')).map((a) => a.bytes))
}

/** The database (with its WAL when there is one) holds the keyed pseudonym of every planted device. */
function expectDevicePseudonyms(artifacts: readonly Artifact[]): void {
  const store = storeBytes(artifacts)
  expect(devicePseudonyms().filter((p) => !store.includes(Buffer.from(p)))).toEqual([])
}

const MAPPING = `mappings = { "idr.ev.*": "idr.evp.{{partition(${PARTITIONS},1)}}.{{wildcard(1)}}" }\n`

describe('no raw IP or device id at rest', () => {
  it('the search finds a value as UTF-8, and an IP in its binary form, anywhere in a buffer', () => {
    expect(ipBytes('198.51.100.173').toString('hex')).toBe('c63364ad')
    expect(ipBytes('2001:db8::dead:beef').toString('hex')).toBe('20010db80000000000000000deadbeef')
    expect(ipBytes('2001:db8:85a3::8a2e:370:7334').toString('hex')).toBe('20010db885a3000000008a2e03707334')
    for (const n of rawNeedles(DEVICES, IPS)) {
      for (const at of [0, 100, 200 - n.bytes.length]) {
        const hay = Buffer.alloc(200)
        n.bytes.copy(hay, at)
        expect(hits([{ what: 'hay', bytes: hay }], [n])).toEqual([`hay: ${n.what}`])
      }
    }
    // what is published does hold every canary, as text
    const sent = Buffer.concat(published.map((m) => m.data))
    expect(hits([{ what: 'published', bytes: sent }], rawNeedles(DEVICES, IPS).filter(isText))).toHaveLength(DEVICES.length + IPS.length)
  })

  describe('core NATS', () => {
    let server: NatsServerHandle
    beforeAll(async () => { server = await startNatsServer({ config: MAPPING }) })
    afterAll(async () => { await server?.stop() })

    it('drained on SIGTERM: the database, its WAL and the trace log hold pseudonyms only', async () => {
      const dir = runDir('core')
      const db = join(dir, 'idr.db')
      const outputs = await followOutputs(server.url)
      const engine = new LoggedEngine(engineArgs(server.url, db, false), join(dir, 'engine.log'))
      await engine.waitForLog('serving')
      await publishCore(server.url)
      const admin = await connect({ servers: server.url })
      connections.push(admin)
      const stats = async (): Promise<{ messagesIn: number, queued: number, refitsInFlight: number }> =>
        JSON.parse(sc.decode((await admin.request('idr.api.stats', sc.encode('{}'), { timeout: 5_000 })).data)) as never
      await until(async () => {
        const s = await stats()
        return s.messagesIn === published.length && s.queued === 0 && s.refitsInFlight === 0
      }, 30_000, 'the engine to take every message')
      await until(() => engine.checkpoints >= 1, 10_000, 'a checkpoint')

      // the API answers with pseudonyms: each account's profile names its devices by d_…; sessions closed and refits ran
      const versions: number[] = []
      for (const account of accounts) {
        const reply = sc.decode((await admin.request('idr.api.household.get', sc.encode(JSON.stringify({ account })), { timeout: 5_000 })).data)
        const own = sim.filter((e) => e.account === account).map((e) => deviceOf.get(e.device)!)
        expect(own.some((d) => reply.includes(pseudo.device(d))), reply).toBe(true)
        expect(hits([{ what: `household.get ${account}`, bytes: Buffer.from(reply) }], rawNeedles(DEVICES, IPS))).toEqual([])
        versions.push((JSON.parse(reply) as { modelVersion: number }).modelVersion)
      }
      expect(versions.filter((v) => v >= 2).length).toBeGreaterThanOrEqual(accounts.length / 2)

      expect(await engine.terminate()).toBe(0)
      const files = readRunFiles(dir, 'core')
      expect(files.map((f) => f.what)).toContain('core engine.log')
      const log = readFileSync(join(dir, 'engine.log'), 'utf8')
      expect(log).toContain('"msg":"engine drained"')
      expect(log).toContain('"msg":"checkpoint"') // the trace level did log the debug lines
      expectNoRawValues(files)
      expectDevicePseudonyms(files)

      // outputs and dead letters: pseudonyms in assignments, every malformed event rejected, nothing raw
      expect(outputs.dlq.length).toBeGreaterThanOrEqual(3 * accounts.length)
      expect(outputs.out.length).toBeGreaterThan(0)
      const out = [{ what: 'core outputs', bytes: Buffer.concat(outputs.out) }, { what: 'core dead letters', bytes: Buffer.concat(outputs.dlq) }]
      expect(devicePseudonyms().some((p) => out[0]!.bytes.includes(Buffer.from(p)))).toBe(true)
      expectNoRawValues(out)
    }, 45_000)
  })

  describe('JetStream', () => {
    let server: NatsServerHandle
    beforeAll(async () => { server = await streamServer(PARTITIONS) })
    afterAll(async () => { await server?.stop() })

    it('killed mid-run and restarted: the database, the WAL left behind and the logs hold pseudonyms only; the stream keeps the raw input', async () => {
      const dir = runDir('js')
      const db = join(dir, 'idr.db')
      const outputs = await followOutputs(server.url)
      const into = new Published()
      const first = new LoggedEngine(engineArgs(server.url, db, true), join(dir, 'engine-killed.log'))
      await first.waitForLog('serving')
      await publishJetStream(server.url, into)
      await until(() => first.checkpoints >= 2, 20_000, 'two checkpoints')
      const behind = !caughtUp(db, into)
      await first.kill()
      console.log(`privacy scan: SIGKILL with the engine ${behind ? 'behind' : 'caught up'}`)

      // the stream's own files keep the raw input: the same search finds every canary there
      const stream = readTree(join(server.dir, 'js'))
      const inStream = hits([{ what: 'stream', bytes: Buffer.concat(stream.map((f) => f.bytes)) }], rawNeedles(DEVICES, IPS).filter(isText))
      expect(inStream).toHaveLength(DEVICES.length + IPS.length)

      const killed = readRunFiles(dir, 'js killed')
      const wal = killed.find((f) => f.what.endsWith('idr.db-wal'))
      expect(wal?.bytes.length ?? 0).toBeGreaterThan(0) // SIGKILL left a WAL with content behind
      expectNoRawValues(killed)
      // killed early, the store covers some households: some of the device pseudonyms
      expect(devicePseudonyms().filter((p) => storeBytes(killed).includes(Buffer.from(p))).length).toBeGreaterThan(0)

      const second = new LoggedEngine(engineArgs(server.url, db, true), join(dir, 'engine-restarted.log'))
      await second.waitForLog('serving')
      await until(() => caughtUp(db, into), 30_000, 'the restarted engine to catch up')
      expect(await second.terminate()).toBe(0)
      const drained = readRunFiles(dir, 'js drained')
      expect(readFileSync(join(dir, 'engine-restarted.log'), 'utf8')).toContain('"msg":"engine drained"')
      expectNoRawValues(drained)
      expectDevicePseudonyms(drained)

      expect(outputs.dlq.length).toBeGreaterThanOrEqual(3 * accounts.length)
      expectNoRawValues([{ what: 'js outputs', bytes: Buffer.concat(outputs.out) }, { what: 'js dead letters', bytes: Buffer.concat(outputs.dlq) }])
    }, 60_000)
  })

  it('no stored or logged value is an unkeyed hash of a planted IP or device, nor the key', () => {
    expect(scanned.length).toBeGreaterThan(0) // the runs above ran
    expect(hits(scanned, unkeyedHashNeedles())).toEqual([])
    expect(hits(scanned, keyNeedles())).toEqual([])
    // the same search does find the keyed digests in the same bytes: base64url of 16 HMAC bytes is the pseudonym body
    const keyed = DEVICES.flatMap((d) => digestForms(d, Buffer.from(pseudo.device(d).slice(2), 'base64url')).filter((n) => n.what.endsWith('base64url')))
    expect(hits(scanned, keyed).length).toBeGreaterThan(0)
  })
})

// ---------------------------------------------------------------------------------------------------------
// Who may ask for an erasure: the example server config lets only admin publish on idr.api.>.

describe('idr.api.privacy.erase under the example nats-server config', () => {
  const passwords: Record<ExampleUser, string> = { publisher: 'pub-pw', engine: 'engine-pw', admin: 'admin-pw' }
  let server: NatsServerHandle
  beforeAll(async () => { server = await startNatsServer({ config: exampleConfig({ partitions: 8, passwords }) }) })
  afterAll(async () => { await server?.stop() })

  async function as(user: ExampleUser): Promise<NatsConnection> {
    const nc = await connect({ servers: server.url, user, pass: passwords[user], name: user })
    connections.push(nc)
    return nc
  }

  it('refuses a publisher\'s erase request and delivers an admin\'s', async () => {
    const engine = await as('engine')
    const received: string[] = []
    engine.subscribe('idr.api.privacy.erase', { callback: (_, m) => received.push(sc.decode(m.data)) })
    await engine.flush()

    const publisher = await as('publisher')
    const refused = refusals(publisher)
    publisher.publish('idr.api.privacy.erase', sc.encode('{"account":"from-publisher"}'))
    expect(await refused.settled()).toEqual([{ operation: 'publish', subject: 'idr.api.privacy.erase' }])
    await expect(publisher.request('idr.api.privacy.erase', sc.encode('{"account":"from-publisher"}'), { timeout: 5_000 }))
      .rejects.toMatchObject({ code: ErrorCode.PermissionsViolation })

    const admin = await as('admin')
    const adminRefused = refusals(admin)
    admin.publish('idr.api.privacy.erase', sc.encode('{"account":"from-admin"}'))
    expect(await adminRefused.settled()).toEqual([])
    await until(() => received.length > 0, 5_000, 'the admin\'s message to arrive')
    await engine.flush()
    expect(received).toEqual(['{"account":"from-admin"}'])
  })

  it('lets an admin\'s erase request through to no responder when no engine runs', async () => {
    const admin = await as('admin')
    const refused = refusals(admin)
    // nats.js rejects with 503 (no responders) only after the server accepted the publish and found no subscriber
    await expect(admin.request('idr.api.privacy.erase', sc.encode('{"account":"a"}'), { timeout: 5_000 }))
      .rejects.toMatchObject({ code: ErrorCode.NoResponders })
    expect(await refused.settled()).toEqual([])
  })
})
