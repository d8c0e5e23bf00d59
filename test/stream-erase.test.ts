// Erasing raw events from the JetStream input stream on a real nats-server (2.9.10 in CI): the bytes of an
// erased message must leave every file of the store, not just the stream's index. Each test owns its
// server, so the store dir holds nothing but that test's stream.
import { encode } from '@msgpack/msgpack'
import { connect, RetentionPolicy, StorageType, type JetStreamManager, type NatsConnection } from 'nats'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { IdrError } from '../src/errors.js'
import { deleteMessages, eraseSubject, SCAN_BATCH, scanSubject, type StoredEvents } from '../src/privacy/stream-erase.js'
import { partitionOf } from '../src/contracts/partition.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'

const STREAM = 'IDR_EV'
const PARTITIONS = 8
/** A device id that occurs in one account's events only, so its bytes can be looked for on disk. */
const CANARY = 'CANARY-DEVICE-7f3a9'
const CANARY_ACCOUNT = 'acct-canary'

const servers: NatsServerHandle[] = []
const connections: NatsConnection[] = []
afterEach(async () => {
  await Promise.all(connections.splice(0).map((nc) => nc.close()))
  await Promise.all(servers.splice(0).map((s) => s.stop()))
})

/** A fresh server with the engine's stream (mapped subjects, file storage); its store dir; a manager. */
async function streamServer(): Promise<{ jsm: JetStreamManager, nc: NatsConnection, store: string }> {
  const server = await startNatsServer({ jetstream: true })
  servers.push(server)
  const nc = await connect({ servers: server.url })
  connections.push(nc)
  const jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: STREAM, subjects: ['idr.evp.>'], storage: StorageType.File, retention: RetentionPolicy.Limits })
  return { jsm, nc, store: join(server.dir, 'js') }
}

/** The mapped subject the server's partition(8,1) mapping gives an account's events. */
function subjectOf(account: string): string {
  return `idr.evp.${partitionOf(account, PARTITIONS)}.${account}`
}

function play(account: string, device: string, ts: number): Record<string, unknown> {
  return { v: 1, id: `${account}-${device}-${ts}`, kind: 'play', account, device, ts, content: 'c-1', deviceType: 'tv' }
}

/**
 * Three accounts' events, interleaved: the canary account sends singles and batches, some from the canary
 * device, one batch mixing it with another device, and one message that is not msgpack at all.
 */
const FIXTURE: Array<{ account: string, body: unknown }> = [
  { account: CANARY_ACCOUNT, body: play(CANARY_ACCOUNT, CANARY, 1) },
  { account: 'acct-b', body: play('acct-b', 'tv-b', 2) },
  { account: CANARY_ACCOUNT, body: play(CANARY_ACCOUNT, 'phone-1', 3) },
  { account: CANARY_ACCOUNT, body: [play(CANARY_ACCOUNT, CANARY, 4), play(CANARY_ACCOUNT, CANARY, 5)] },
  { account: 'acct-c', body: [play('acct-c', 'tv-c', 6), play('acct-c', 'tv-c', 7)] },
  { account: CANARY_ACCOUNT, body: [play(CANARY_ACCOUNT, 'phone-1', 8), play(CANARY_ACCOUNT, 'tablet-1', 9)] },
  { account: CANARY_ACCOUNT, body: [play(CANARY_ACCOUNT, 'phone-1', 10), play(CANARY_ACCOUNT, CANARY, 11)] },
  { account: 'acct-b', body: play('acct-b', 'tv-b', 12) },
  { account: CANARY_ACCOUNT, body: 'not msgpack' },
]

/** Publishes FIXTURE through JetStream (each acknowledged, so stored) and returns each message's sequence. */
async function publishFixture(nc: NatsConnection): Promise<number[]> {
  const js = nc.jetstream()
  const seqs: number[] = []
  for (const { account, body } of FIXTURE) {
    const data = typeof body === 'string' ? new TextEncoder().encode(body) : encode(body)
    seqs.push((await js.publish(subjectOf(account), data)).seq)
  }
  return seqs
}

/** What scanSubject should yield for an account: its FIXTURE messages, single events as one-element arrays. */
function expectedOf(account: string, seqs: readonly number[]): StoredEvents[] {
  return FIXTURE.flatMap(({ account: a, body }, i) => a !== account
    ? []
    : [{ seq: seqs[i]!, events: typeof body === 'string' ? [] : Array.isArray(body) ? body : [body] }])
}

async function scanAll(jsm: JetStreamManager, subject: string, stream = STREAM): Promise<StoredEvents[]> {
  const out: StoredEvents[] = []
  for await (const m of scanSubject(jsm, stream, subject)) out.push(m)
  return out
}

/** Paths (relative to dir) of every file under dir, recursively, whose bytes contain text. */
function filesContaining(dir: string, text: string): string[] {
  const needle = Buffer.from(text)
  const hits: string[] = []
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    if (readFileSync(path).includes(needle)) hits.push(relative(dir, path))
  }
  return hits
}

/**
 * Waits until the server has written text to its block files. nats-server acknowledges a publish once the
 * message is in the block's write buffer and flushes that buffer from a background loop within
 * milliseconds, so a test that looks for bytes to erase must first see them on disk.
 */
async function onDisk(store: string, text: string): Promise<string[]> {
  await until(() => filesContaining(store, text).length > 0)
  return filesContaining(store, text)
}

function hasDevice(device: string): (m: StoredEvents) => boolean {
  return (m) => m.events.some((e) => (e as { device?: unknown }).device === device)
}

describe('scanSubject', () => {
  it('yields each message of exactly one subject in order: a batch as its array, one event as [event], garbage as []', async () => {
    const { jsm, nc } = await streamServer()
    const seqs = await publishFixture(nc)
    for (const account of [CANARY_ACCOUNT, 'acct-b', 'acct-c']) {
      expect(await scanAll(jsm, subjectOf(account))).toEqual(expectedOf(account, seqs))
    }
    expect(await scanAll(jsm, subjectOf('acct-none'))).toEqual([])
    expect((await jsm.streams.info(STREAM)).state.consumer_count).toBe(0) // its consumer is deleted afterwards
  })

  it('ends when messages counted as pending are deleted before it reaches them', async () => {
    const { jsm, nc } = await streamServer()
    const js = nc.jetstream()
    const subject = subjectOf(CANARY_ACCOUNT)
    const acks = Array.from({ length: SCAN_BATCH + 1 }, (_, i) => js.publish(subject, encode(play(CANARY_ACCOUNT, 'tv-1', i))))
    const seqs = (await Promise.all(acks)).map((ack) => ack.seq)
    const seen: number[] = []
    for await (const m of scanSubject(jsm, STREAM, subject)) {
      // the first pull brought SCAN_BATCH messages; the one after them goes before the second pull
      if (seen.length === 0) expect(await deleteMessages(jsm, STREAM, [Math.max(...seqs)])).toBe(1)
      seen.push(m.seq)
    }
    expect(seen).toEqual(seqs.sort((a, b) => a - b).slice(0, SCAN_BATCH))
  })

  it('refuses a subject with wildcards, which would scan and erase other accounts too', async () => {
    const { jsm } = await streamServer()
    for (const subject of ['idr.evp.3.*', 'idr.evp.>', 'idr.evp..a', '']) {
      await expect(scanAll(jsm, subject)).rejects.toMatchObject({ code: 'STREAM_ERASE' })
      await expect(eraseSubject(jsm, STREAM, subject)).rejects.toMatchObject({ code: 'STREAM_ERASE' })
    }
  })
})

describe('eraseSubject', () => {
  it('erases an account: its canary and its subject leave every file of the store, other accounts keep theirs', async () => {
    const { jsm, nc, store } = await streamServer()
    const seqs = await publishFixture(nc)
    expect(await onDisk(store, CANARY)).toEqual([`jetstream/$G/streams/${STREAM}/msgs/1.blk`])

    const erased = await eraseSubject(jsm, STREAM, subjectOf(CANARY_ACCOUNT))

    expect(erased).toEqual({ messages: expectedOf(CANARY_ACCOUNT, seqs).length })
    // the delete replies after the overwrite has been written and synced: no wait needed
    expect(filesContaining(store, CANARY)).toEqual([])
    expect(filesContaining(store, subjectOf(CANARY_ACCOUNT))).toEqual([])
    expect(await scanAll(jsm, subjectOf(CANARY_ACCOUNT))).toEqual([])
    for (const account of ['acct-b', 'acct-c']) {
      expect(await scanAll(jsm, subjectOf(account))).toEqual(expectedOf(account, seqs))
    }
    expect((await jsm.streams.info(STREAM)).state.messages).toBe(FIXTURE.length - erased.messages)
  })

  it('on a subject with no messages erases nothing', async () => {
    const { jsm, nc } = await streamServer()
    await publishFixture(nc)
    expect(await eraseSubject(jsm, STREAM, subjectOf('acct-none'))).toEqual({ messages: 0 })
    expect((await jsm.streams.info(STREAM)).state.messages).toBe(FIXTURE.length)
  })
})

describe('deleteMessages', () => {
  it('erases only the messages with a device\'s events, keeping the account\'s others', async () => {
    const { jsm, nc, store } = await streamServer()
    const seqs = await publishFixture(nc)
    await onDisk(store, CANARY)
    const account = await scanAll(jsm, subjectOf(CANARY_ACCOUNT))
    const device = account.filter(hasDevice(CANARY))
    // a message is erased whole: the batch that mixes phone-1 with the canary goes with it
    expect(device.map((m) => m.events.length)).toEqual([1, 2, 2])

    expect(await deleteMessages(jsm, STREAM, device.map((m) => m.seq))).toBe(device.length)

    expect(filesContaining(store, CANARY)).toEqual([])
    expect(await scanAll(jsm, subjectOf(CANARY_ACCOUNT))).toEqual(account.filter((m) => !hasDevice(CANARY)(m)))
    expect(await scanAll(jsm, subjectOf('acct-b'))).toEqual(expectedOf('acct-b', seqs))
    expect(filesContaining(store, 'tablet-1')).not.toEqual([]) // the account's other devices stay on disk
  })

  it('skips sequences that hold no message and counts only what it deleted', async () => {
    const { jsm, nc } = await streamServer()
    const seqs = await publishFixture(nc)
    const [first, second] = seqs as [number, number]
    expect(await deleteMessages(jsm, STREAM, [second])).toBe(1)
    // deleted already (between the first and last sequence), the first, deleted twice, and past the end
    expect(await deleteMessages(jsm, STREAM, [second, first, first, 1_000_000])).toBe(1)
    expect((await jsm.streams.info(STREAM)).state.messages).toBe(FIXTURE.length - 2)
  })

  it('refuses sequences that are not positive integers before deleting anything', async () => {
    const { jsm, nc } = await streamServer()
    await publishFixture(nc)
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(deleteMessages(jsm, STREAM, [1, bad])).rejects.toMatchObject({ code: 'STREAM_ERASE' })
    }
    expect((await jsm.streams.info(STREAM)).state.messages).toBe(FIXTURE.length)
  })
})

describe('what the server refuses', () => {
  it('a missing stream: STREAM_ERASE naming it', async () => {
    const { jsm } = await streamServer()
    const subject = subjectOf(CANARY_ACCOUNT)
    const attempts = [() => scanAll(jsm, subject, 'NOPE'), () => deleteMessages(jsm, 'NOPE', [1]), () => eraseSubject(jsm, 'NOPE', subject)]
    for (const attempt of attempts) {
      const err = await attempt().then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(IdrError)
      expect(err).toMatchObject({ code: 'STREAM_ERASE' })
    }
    await expect(eraseSubject(jsm, 'NOPE', subject)).rejects.toThrow(/stream NOPE not found/)
  })

  it('a stream that denies deletes: STREAM_ERASE, and the messages stay', async () => {
    const { jsm, nc } = await streamServer()
    await jsm.streams.update(STREAM, { deny_delete: true })
    await publishFixture(nc)
    await expect(eraseSubject(jsm, STREAM, subjectOf(CANARY_ACCOUNT))).rejects.toThrow(/message delete not permitted/)
    expect((await jsm.streams.info(STREAM)).state.messages).toBe(FIXTURE.length)
  })
})

describe('why eraseSubject does not purge', () => {
  // nats-server 2.9.10: purge { filter } marks the messages deleted in the block's index but leaves their
  // records in msgs/<n>.blk (until every message of the block is gone); they stay after a restart too.
  it('a purge by subject leaves the messages\' bytes in the block file, where they can no longer be erased', async () => {
    const { jsm, nc, store } = await streamServer()
    const seqs = await publishFixture(nc)
    await onDisk(store, CANARY)
    const purged = await jsm.streams.purge(STREAM, { filter: subjectOf(CANARY_ACCOUNT) })
    const account = expectedOf(CANARY_ACCOUNT, seqs)
    expect(purged.purged).toBe(account.length)
    expect(await scanAll(jsm, subjectOf(CANARY_ACCOUNT))).toEqual([])
    await jsm.streams.info(STREAM)
    expect(filesContaining(store, CANARY)).toEqual([`jetstream/$G/streams/${STREAM}/msgs/1.blk`])
    expect(await deleteMessages(jsm, STREAM, account.map((m) => m.seq))).toBe(0)
    expect(filesContaining(store, CANARY)).toEqual([`jetstream/$G/streams/${STREAM}/msgs/1.blk`])
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
