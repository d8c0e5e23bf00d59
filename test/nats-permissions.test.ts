// docs/examples/nats-server.conf, run as is (placeholders filled in): each user can do its job and nothing
// outside it. nats-server answers a refused PUB or SUB with -ERR 'Permissions Violation ...'; nats.js v2
// surfaces it as a status event { type: 'error', data: 'PERMISSIONS_VIOLATION', permissionContext }, ends a
// refused subscription's iterator with that error, and rejects a request whose publish or inbox was refused.
import { encode } from '@msgpack/msgpack'
import {
  AckPolicy, connect, ErrorCode, nanos, StringCodec, type JetStreamManager, type NatsConnection, type Subscription,
} from 'nats'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { deleteMessages, eraseSubject, scanSubject, type StoredEvents } from '../src/privacy/stream-erase.js'
import { partitionOf } from '../src/contracts/partition.js'
import { DEFAULT_STREAM, NatsBus } from '../src/transport/nats.js'
import { exampleConfig, startNatsServer, type ExampleUser, type NatsServerHandle } from './helpers/nats-server.js'
import { refusals } from './helpers/refusals.js'

const sc = StringCodec()
const passwords: Record<ExampleUser, string> = { publisher: 'pub-pw', engine: 'engine-pw', admin: 'admin-pw' }
const PARTITIONS = 8
/** The stream the example config lets the engine manage: the engine's default. */
const STREAM = DEFAULT_STREAM
/** The inbox prefix the example config lets the publisher subscribe to, for JetStream acknowledgements. */
const PUBLISHER_INBOX = '_INBOX_publisher'

let server: NatsServerHandle
beforeAll(async () => { server = await startNatsServer({ config: exampleConfig({ partitions: PARTITIONS, passwords }) }) })
afterAll(async () => { await server?.stop() })

const connections: NatsConnection[] = []
afterEach(async () => { await Promise.all(connections.splice(0).map((nc) => nc.close())) })

/** A connection as one of the example's users, closed after the test. */
async function as(user: ExampleUser, options: { inboxPrefix?: string } = {}): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url, user, pass: passwords[user], name: user, ...options })
  connections.push(nc)
  return nc
}

/** Messages a subscription collects, and how its iterator ended (a permission error, say). */
function collect(sub: Subscription): { subjects: string[], ended: Promise<unknown> } {
  const subjects: string[] = []
  const ended = (async () => {
    for await (const m of sub) subjects.push(m.subject)
  })().then(() => undefined, (e: unknown) => e)
  return { subjects, ended }
}

/** The subject the server maps idr.ev.<account> to. */
function mapped(account: string): string {
  return `idr.evp.${partitionOf(account, PARTITIONS)}.${account}`
}

/** Every message scanSubject finds on an account's mapped subject. */
async function scan(jsm: JetStreamManager, account: string): Promise<StoredEvents[]> {
  const found: StoredEvents[] = []
  for await (const m of scanSubject(jsm, STREAM, mapped(account))) found.push(m)
  return found
}

/**
 * The three erasure calls made as user against an account's event in IDR_EV (the engine creates the stream
 * and checks afterwards): how each failed, and what the engine still finds.
 */
async function erasureAs(user: ExampleUser, account: string): Promise<{ failures: unknown[], left: number }> {
  const engine = await (await as('engine')).jetstreamManager()
  await engine.streams.add({ name: STREAM, subjects: ['idr.ev.>', 'idr.evp.>'] })
  const publisher = await as('publisher')
  publisher.publish(`idr.ev.${account}`, encode({ device: 'tv-1' }))
  await publisher.flush()
  await until(async () => (await scan(engine, account)).length === 1)
  const jsm = await (await as(user)).jetstreamManager({ checkAPI: false }) // $JS.API.INFO is refused too
  const [{ seq }] = await scan(engine, account) as [StoredEvents]
  const failures: unknown[] = []
  const attempts = [() => scan(jsm, account), () => deleteMessages(jsm, STREAM, [seq]), () => eraseSubject(jsm, STREAM, mapped(account))]
  for (const attempt of attempts) failures.push(await attempt().then(() => undefined, (e: unknown) => e))
  return { failures, left: (await scan(engine, account)).length }
}

/** How an erasure call fails when the server refuses its JetStream API request. */
const refusedErasure = expect.objectContaining({
  code: 'STREAM_ERASE', cause: expect.objectContaining({ code: ErrorCode.PermissionsViolation }),
})

/** An account whose events go to partition p. */
function accountIn(p: number): string {
  for (let i = 0; ; i++) if (partitionOf(`acct-${i}`, PARTITIONS) === p) return `acct-${i}`
}

describe('the example nats-server config: publisher', () => {
  it('publishes events that reach the engine on idr.evp.<partitionOf(account, 8)>.<account>', async () => {
    const engine = await as('engine')
    const sub = engine.subscribe('idr.evp.>')
    const got = collect(sub)
    await engine.flush()
    const publisher = await as('publisher')
    const refused = refusals(publisher)
    const accounts = ['acct-1', 'household_42', 'ünïcödé', ...Array.from({ length: PARTITIONS }, (_, p) => accountIn(p))]
    for (const account of accounts) publisher.publish(`idr.ev.${account}`, sc.encode('{}'))
    await engine.flush()
    await until(() => got.subjects.length === accounts.length)
    expect(got.subjects).toEqual(accounts.map((a) => `idr.evp.${partitionOf(a, PARTITIONS)}.${a}`))
    expect(await refused.settled()).toEqual([])
  })

  it('cannot publish a subject the mapping does not cover (idr.ev.a.b)', async () => {
    const engine = await as('engine')
    const got = collect(engine.subscribe('idr.ev.>'))
    await engine.flush()
    const publisher = await as('publisher')
    const refused = refusals(publisher)
    publisher.publish('idr.ev.a.b', sc.encode('{}'))
    expect(await refused.settled()).toEqual([{ operation: 'publish', subject: 'idr.ev.a.b' }])
    await engine.flush() // had the server delivered it, it would be here by now
    expect(got.subjects).toEqual([])
  })

  it('cannot publish a watermark record (idr.evp.<p>, three tokens): only the engine may move event time', async () => {
    const engine = await as('engine')
    const got = collect(engine.subscribe('idr.evp.>'))
    await engine.flush()
    const publisher = await as('publisher')
    const refused = refusals(publisher)
    publisher.publish('idr.evp.3', sc.encode('{}'))
    expect(await refused.settled()).toEqual([{ operation: 'publish', subject: 'idr.evp.3' }])
    // the engine's own grant covers it
    engine.publish('idr.evp.3', sc.encode('{}'))
    await engine.flush()
    await until(() => got.subjects.length > 0)
    expect(got.subjects).toEqual(['idr.evp.3'])
  })

  it('cannot publish nor request idr.api.stats', async () => {
    const engine = await as('engine')
    const api = collect(engine.subscribe('idr.api.>', { callback: (_, m) => m.respond(sc.encode('{}')) }))
    await engine.flush()
    const publisher = await as('publisher')
    const refused = refusals(publisher)
    publisher.publish('idr.api.stats', sc.encode('{}'))
    expect(await refused.settled()).toEqual([{ operation: 'publish', subject: 'idr.api.stats' }])
    // The request fails fast: the reply inbox subscription is refused (the publisher may subscribe to its own
    // _INBOX_publisher.> only); on that inbox, the request's publish is refused.
    await expect(publisher.request('idr.api.stats', sc.encode('{}'), { timeout: 5_000 }))
      .rejects.toMatchObject({ code: ErrorCode.PermissionsViolation })
    const withInbox = await as('publisher', { inboxPrefix: PUBLISHER_INBOX })
    await expect(withInbox.request('idr.api.stats', sc.encode('{}'), { timeout: 5_000 }))
      .rejects.toMatchObject({ code: ErrorCode.PermissionsViolation })
    await engine.flush()
    expect(api.subjects).toEqual([])
  })

  it('cannot subscribe to idr.out.>: the subscription ends with a permission error and sees nothing', async () => {
    const publisher = await as('publisher')
    const refused = refusals(publisher)
    const out = collect(publisher.subscribe('idr.out.>'))
    await publisher.flush()
    const engine = await as('engine')
    engine.publish('idr.out.assign.acct-1', sc.encode('{}'))
    await engine.flush()
    await publisher.flush()
    expect(await out.ended).toMatchObject({ code: ErrorCode.PermissionsViolation })
    expect(out.subjects).toEqual([])
    expect(await refused.settled()).toEqual([{ operation: 'subscription', subject: 'idr.out.>' }])
  })

  it('publishes into IDR_EV through JetStream and gets the stream\'s acknowledgement on its own inbox', async () => {
    const bus = await NatsBus.connect({ url: server.url, user: 'engine', password: passwords.engine, mode: 'jetstream', partitions: [0], partitionsOf: PARTITIONS })
    try {
      await bus.ensureStream() // the stream is the engine's to create, as idr serve does
      const publisher = await as('publisher', { inboxPrefix: PUBLISHER_INBOX })
      const refused = refusals(publisher)
      const account = 'acct-acked'
      const ack = await publisher.jetstream().publish(`idr.ev.${account}`, encode({ device: 'tv-1' }))
      expect(ack.stream).toBe(STREAM)
      expect(ack.seq).toBeGreaterThan(0)
      const jsm = await bus.jetstreamManager()
      expect(await scan(jsm, account)).toEqual([expect.objectContaining({ seq: ack.seq })])
      // jetstream() and publish() asked for no $JS.API right: nothing was refused
      expect(await refused.settled()).toEqual([])
      await eraseSubject(jsm, STREAM, mapped(account)) // the stream is shared by the tests of this file
    } finally {
      await bus.close()
    }
  })

  it('gets no JetStream acknowledgement on the default _INBOX prefix, though the event is stored', async () => {
    const engine = await (await as('engine')).jetstreamManager()
    await engine.streams.add({ name: STREAM, subjects: ['idr.ev.>', 'idr.evp.>'] })
    const publisher = await as('publisher')
    const account = 'acct-unacked'
    // the reply subscription is refused, so the request fails; the publish itself was allowed
    await expect(publisher.jetstream().publish(`idr.ev.${account}`, encode({ device: 'tv-1' }), { timeout: 5_000 }))
      .rejects.toMatchObject({ code: ErrorCode.PermissionsViolation })
    await until(async () => (await scan(engine, account)).length === 1)
    await eraseSubject(engine, STREAM, mapped(account))
  })

  it('with its JetStream inbox, still cannot read outputs, delete stream messages or create consumers', async () => {
    const engine = await (await as('engine')).jetstreamManager()
    await engine.streams.add({ name: STREAM, subjects: ['idr.ev.>', 'idr.evp.>'] })
    const publisher = await as('publisher', { inboxPrefix: PUBLISHER_INBOX })
    const refused = refusals(publisher)
    const account = 'acct-kept'
    const ack = await publisher.jetstream().publish(`idr.ev.${account}`, encode({ device: 'tv-1' }))
    const out = collect(publisher.subscribe('idr.out.>'))
    const jsm = await publisher.jetstreamManager({ checkAPI: false }) // $JS.API.INFO is refused too
    await expect(jsm.streams.deleteMessage(STREAM, ack.seq)).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation })
    await expect(jsm.consumers.add(STREAM, { durable_name: 'snoop', filter_subject: mapped(account), ack_policy: AckPolicy.Explicit }))
      .rejects.toMatchObject({ code: ErrorCode.PermissionsViolation })
    expect(await out.ended).toMatchObject({ code: ErrorCode.PermissionsViolation })
    expect(await refused.settled()).toEqual([
      { operation: 'subscription', subject: 'idr.out.>' },
      { operation: 'publish', subject: `$JS.API.STREAM.MSG.DELETE.${STREAM}` },
      { operation: 'publish', subject: expect.stringMatching(/^\$JS\.API\.CONSUMER\.CREATE\./) },
    ])
    expect(await scan(engine, account)).toEqual([expect.objectContaining({ seq: ack.seq })])
    await eraseSubject(engine, STREAM, mapped(account))
  })

  it('cannot scan, delete or erase events in IDR_EV', async () => {
    const { failures, left } = await erasureAs('publisher', 'acct-erase-by-publisher')
    expect(failures).toEqual([refusedErasure, refusedErasure, refusedErasure])
    expect(left).toBe(1)
  })
})

describe('the example nats-server config: admin', () => {
  it('requests idr.api.stats and gets the engine\'s answer', async () => {
    const engine = await as('engine')
    engine.subscribe('idr.api.stats', { callback: (_, m) => m.respond(sc.encode('{"households":0}')) })
    await engine.flush()
    const admin = await as('admin')
    const reply = await admin.request('idr.api.stats', sc.encode('{}'), { timeout: 5_000 })
    expect(sc.decode(reply.data)).toBe('{"households":0}')
  })

  it('follows idr.out.> and idr.dlq', async () => {
    const admin = await as('admin')
    const refused = refusals(admin)
    const out = collect(admin.subscribe('idr.out.>'))
    const dlq = collect(admin.subscribe('idr.dlq'))
    await admin.flush()
    const engine = await as('engine')
    engine.publish('idr.out.assign.acct-1', sc.encode('{}'))
    engine.publish('idr.dlq', sc.encode('{}'))
    await engine.flush()
    await until(() => out.subjects.length === 1 && dlq.subjects.length === 1)
    expect(out.subjects).toEqual(['idr.out.assign.acct-1'])
    expect(await refused.settled()).toEqual([])
  })

  it('cannot publish events or outputs, nor read events', async () => {
    const admin = await as('admin')
    const refused = refusals(admin)
    admin.publish('idr.ev.acct-1', sc.encode('{}'))
    admin.publish('idr.out.assign.acct-1', sc.encode('{}'))
    const events = collect(admin.subscribe('idr.evp.>'))
    expect(await events.ended).toMatchObject({ code: ErrorCode.PermissionsViolation })
    expect(await refused.settled()).toEqual([
      { operation: 'publish', subject: `idr.evp.${partitionOf('acct-1', PARTITIONS)}.acct-1` }, // checked after mapping
      { operation: 'publish', subject: 'idr.out.assign.acct-1' },
      { operation: 'subscription', subject: 'idr.evp.>' },
    ])
  })

  it('cannot scan, delete or erase events in IDR_EV', async () => {
    const { failures, left } = await erasureAs('admin', 'acct-erase-by-admin')
    expect(failures).toEqual([refusedErasure, refusedErasure, refusedErasure])
    expect(left).toBe(1)
  })
})

describe('the example nats-server config: engine', () => {
  it('answers a request once, but cannot publish to other inboxes', async () => {
    const engine = await as('engine')
    const refused = refusals(engine)
    engine.subscribe('idr.api.stats', {
      callback: (_, m) => {
        m.respond(sc.encode('first'))
        m.respond(sc.encode('second')) // allow_responses: one reply per request
      },
    })
    await engine.flush()
    const admin = await as('admin')
    const reply = await admin.request('idr.api.stats', sc.encode('{}'), { timeout: 5_000 })
    expect(sc.decode(reply.data)).toBe('first')
    engine.publish('_INBOX.someone-else', sc.encode('x'))
    const [second, other] = await refused.settled()
    expect(second?.operation).toBe('publish') // the second reply, to the admin's inbox
    expect(other).toEqual({ operation: 'publish', subject: '_INBOX.someone-else' })
  })

  it('keeps a partition in JetStream: stream over idr.evp.>, durable pull consumer on idr.evp.3.>, fetch, ack', async () => {
    const engine = await as('engine')
    const refused = refusals(engine)
    const jsm = await engine.jetstreamManager()
    await jsm.streams.add({ name: STREAM, subjects: ['idr.ev.>', 'idr.evp.>'] }) // as the engine's NatsBus creates it (a no-op if it did)
    await jsm.consumers.add(STREAM, { durable_name: 'p3', filter_subject: 'idr.evp.3.>', ack_policy: AckPolicy.Explicit })

    const publisher = await as('publisher')
    const inThree = accountIn(3)
    publisher.publish(`idr.ev.${accountIn(5)}`, sc.encode('elsewhere'))
    publisher.publish(`idr.ev.${inThree}`, sc.encode('mine'))
    await publisher.flush()
    await until(async () => (await jsm.consumers.info(STREAM, 'p3')).num_pending === 1)

    const consumer = await engine.jetstream().consumers.get(STREAM, 'p3')
    const fetched: Array<{ text: string, seq: number }> = []
    for await (const m of await consumer.fetch({ max_messages: 10, expires: 1_000 })) {
      fetched.push({ text: `${m.subject} ${sc.decode(m.data)}`, seq: m.seq })
      await m.ackAck()
    }
    expect(fetched.map((f) => f.text)).toEqual([`idr.evp.3.${inThree} mine`])
    const info = await jsm.consumers.info(STREAM, 'p3')
    expect(info.num_ack_pending).toBe(0)
    expect(info.num_pending).toBe(0)
    expect(info.ack_floor.stream_seq).toBe(fetched[0]!.seq)
    expect(await refused.settled()).toEqual([])
  })

  it('runs the engine\'s own JetStream bus: one ordered consumer over the input, API replies', async () => {
    const errors: unknown[] = []
    const bus = await NatsBus.connect({
      url: server.url, user: 'engine', password: passwords.engine, mode: 'jetstream',
      partitions: [6], partitionsOf: PARTITIONS, onError: (e) => errors.push(e),
    })
    const refused = refusals(bus.nc)
    try {
      const received: Array<{ subject: string, partition: number | undefined }> = []
      // from the stream's end (earlier tests left messages): its one consumer reads every partition's messages
      const setup = await bus.ensureStream()
      expect(setup.action === 'created' || setup.action === 'unchanged').toBe(true)
      const end = (await (await bus.jetstreamManager()).streams.info(STREAM)).state.last_seq
      await bus.start((m) => { received.push({ subject: m.subject, partition: m.partition }) }, new Map([[6, end]]))
      bus.serve('idr.api.stats', () => sc.encode('{"households":0}'))
      const publisher = await as('publisher')
      const inSix = accountIn(6)
      const inOne = accountIn(1)
      publisher.publish(`idr.ev.${inOne}`, sc.encode('{}'))
      publisher.publish(`idr.ev.${inSix}`, sc.encode('{}'))
      await publisher.flush()
      await until(() => received.length === 2)
      expect(received).toEqual([{ subject: `idr.evp.1.${inOne}`, partition: 1 }, { subject: `idr.evp.6.${inSix}`, partition: 6 }])
      const admin = await as('admin')
      const reply = await admin.request('idr.api.stats', sc.encode('{}'), { timeout: 5_000 })
      expect(sc.decode(reply.data)).toBe('{"households":0}')
      await bus.stopIntake()
      expect(await refused.settled()).toEqual([])
      expect(errors).toEqual([])
    } finally {
      await bus.close()
    }
  })

  it('erases raw events from IDR_EV: scans an account, erases the messages of one device, then the account', async () => {
    const engine = await as('engine')
    const refused = refusals(engine)
    const jsm = await engine.jetstreamManager()
    await jsm.streams.add({ name: STREAM, subjects: ['idr.ev.>', 'idr.evp.>'] })
    const publisher = await as('publisher')
    const account = 'acct-erased'
    publisher.publish(`idr.ev.${account}`, encode({ device: 'tv-1' }))
    publisher.publish(`idr.ev.${account}`, encode([{ device: 'phone-1' }, { device: 'tv-1' }]))
    publisher.publish(`idr.ev.${account}`, encode({ device: 'phone-1' }))
    await publisher.flush()
    await until(async () => (await scan(jsm, account)).length === 3)

    const tv = (await scan(jsm, account)).filter((m) => m.events.some((e) => (e as { device: string }).device === 'tv-1'))
    expect(await deleteMessages(jsm, STREAM, tv.map((m) => m.seq))).toBe(2)
    expect((await scan(jsm, account)).map((m) => m.events)).toEqual([[{ device: 'phone-1' }]])
    expect(await eraseSubject(jsm, STREAM, mapped(account))).toEqual({ messages: 1 })
    expect(await scan(jsm, account)).toEqual([])
    expect(await refused.settled()).toEqual([])
  })

  it('sets a retention max_age on IDR_EV', async () => {
    const jsm = await (await as('engine')).jetstreamManager()
    await jsm.streams.add({ name: STREAM, subjects: ['idr.ev.>', 'idr.evp.>'] })
    const maxAge = nanos(30 * 24 * 3_600_000) // 30 days
    expect((await jsm.streams.update(STREAM, { max_age: maxAge })).config.max_age).toBe(maxAge)
  })

  it('cannot create another stream nor consumers on a stream other than its own', async () => {
    const engine = await as('engine')
    const jsm = await engine.jetstreamManager()
    await expect(jsm.streams.add({ name: 'OTHER', subjects: ['other.>'] }))
      .rejects.toMatchObject({ code: ErrorCode.PermissionsViolation })
    await expect(jsm.consumers.add('OTHER', { durable_name: 'all', ack_policy: AckPolicy.Explicit }))
      .rejects.toMatchObject({ code: ErrorCode.PermissionsViolation })
  })
})

/** Polls cond every 10 ms until it holds (or fails after 5 s). */
async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
