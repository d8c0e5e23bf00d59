// The landing relay at its edges (docs/privacy.md, "The landing path"). Across a key rotation (docs/key-rotation.md)
// the keyed stream holds each event under the epoch current when it was relayed, so it holds a device under both
// epochs' pseudonyms, and an erasure by the raw device id finds and deletes the messages of both. A relay whose
// transform throws on a message dead-letters it and takes it out of the landing stream instead of looping on it.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode, encode } from '@msgpack/msgpack'
import { connect, StringCodec } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IdrEvent } from '../src/model/events.js'
import { Ingress } from '../src/ingress/ingress.js'
import { KeyedRelay } from '../src/ingress/relay.js'
import { LandingRelay } from '../src/transport/landing.js'
import { Pseudonymiser } from '../src/privacy/pseudonymise.js'
import { scanSubject } from '../src/privacy/stream-erase.js'
import { partitionOf } from '../src/contracts/partition.js'
import { subjects } from '../src/contracts/subjects.js'
import { EngineProcess } from './helpers/engine-process.js'
import { simEvents } from './helpers/engine.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'

const PARTITIONS = 4
const OLD = 'landing-rotation-old-key-4f1e9a'
const NEW = 'landing-rotation-new-key-7c2d3b'
const sc = StringCodec()
const s = subjects()

describe('the landing path across a key rotation', () => {
  let server: NatsServerHandle
  const dir = mkdtempSync(join(tmpdir(), 'idr-landing-rotation-'))
  const engines: EngineProcess[] = []
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true, config: `mappings = { "idr.ev.*": "idr.evp.{{partition(${PARTITIONS},1)}}.{{wildcard(1)}}" }\n` })
  })
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.kill()))
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const keyFile = (name: string, keys: { epoch: number, key: string }[]): string => {
    const file = join(dir, name)
    writeFileSync(file, JSON.stringify({ keys }))
    chmodSync(file, 0o600)
    return file
  }
  const serve = async (file: string): Promise<EngineProcess> => {
    const e = new EngineProcess(['--nats', server.url, '--landing', '--of', String(PARTITIONS), '--db', join(dir, 'idr.db'), '--pool-threads', '0', '--pseudonym-key-file', file])
    engines.push(e)
    await e.waitFor((l) => l.msg === 'serving', 30_000)
    return e
  }

  it('keeps each event under the epoch it was relayed with, and a device erasure deletes both epochs\' messages', async () => {
    const sim = simEvents(3, 6, 5)
    const account = sim[0]!.account
    const own = sim.filter((e) => e.account === account)
    const device = own[0]!.device
    const half = Math.floor(own.length / 2)
    const nc = await connect({ servers: server.url })
    const js = nc.jetstream()
    const jsm = await nc.jetstreamManager()
    const publish = async (events: readonly IdrEvent[]): Promise<void> => {
      for (let i = 0; i < events.length; i += 8) await js.publish(`idr.ev.${account}`, encode(events.slice(i, i + 8)))
    }
    const p = partitionOf(account, PARTITIONS)
    const byEpoch = async (): Promise<[number, number]> => {
      const pseudonyms = [new Pseudonymiser(OLD).device(device), new Pseudonymiser(NEW, { epoch: 2 }).device(device)]
      const n: [number, number] = [0, 0]
      for await (const m of scanSubject(jsm, 'IDR_KEYED', s.keyedEvents(p, account))) {
        const devices = new Set((m.events as IdrEvent[]).map((e) => e.device))
        for (const i of [0, 1] as const) if (devices.has(pseudonyms[i]!)) n[i]++
      }
      return n
    }
    const until = async (test: () => Promise<boolean>, what: string): Promise<void> => {
      const end = Date.now() + 30_000
      while (!(await test())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }

    const first = await serve(keyFile('epoch1.json', [{ epoch: 1, key: OLD }]))
    await publish(own.slice(0, half))
    await until(async () => (await byEpoch())[0] > 0, 'epoch-1 keyed messages')
    expect(await first.terminate()).toBe(0)

    const second = await serve(keyFile('epoch2.json', [{ epoch: 1, key: OLD }, { epoch: 2, key: NEW }]))
    expect(second.lines.some((l) => String(l.msg).startsWith('pseudonym key rotated'))).toBe(true)
    await publish(own.slice(half))
    await until(async () => (await byEpoch())[1] > 0, 'epoch-2 keyed messages')
    const before = await byEpoch()
    expect(before[0]).toBeGreaterThan(0)
    expect(before[1]).toBeGreaterThan(0)

    const answer = await nc.request('idr.api.privacy.erase', sc.encode(JSON.stringify({ account, device })), { timeout: 20_000 }).catch((err: unknown) => {
      throw new Error(`no answer to the erasure (${String(err)}); the engine logged ${JSON.stringify(second.lines.slice(-8))}`)
    })
    const reply = JSON.parse(sc.decode(answer.data)) as { streamMessages: number }
    expect(reply, JSON.stringify(reply)).toMatchObject({ streamMessages: before[0] + before[1] })
    expect(await byEpoch()).toEqual([0, 0])
    expect(await second.terminate()).toBe(0)
    await nc.close()
  }, 90_000)
})

describe('the landing relay when its transform fails', () => {
  let server: NatsServerHandle
  beforeAll(async () => { server = await startNatsServer({ jetstream: true }) })
  afterAll(async () => { await server?.stop() })

  it('dead-letters the message as RELAY_FAILED, takes it out of the landing stream and relays the next', async () => {
    const nc = await connect({ servers: server.url })
    const dlq: { code: string, sha256: string }[] = []
    nc.subscribe('idr.dlq', { callback: (_, m) => dlq.push(decode(m.data) as { code: string, sha256: string }) })
    const jsm = await nc.jetstreamManager()
    await jsm.streams.add({ name: 'IDR_KEYED', subjects: ['idr.evk.>'] })
    const keyed = new KeyedRelay(new Ingress({ pseudonymKey: OLD }), 1)
    const errors: unknown[] = []
    const relay = new LandingRelay({
      nc, s, url: server.url, partitions: [0], jsTimeoutMs: 5_000, encodeDlq: (r) => encode(r), onError: (e) => errors.push(e),
      relay: (subject, data, now) => {
        if (new TextDecoder().decode(data).includes('poison')) throw new Error('a bug in the relay')
        return keyed.relay(subject, data, now)
      },
    }, { maxAgeMs: 60_000 })
    await relay.ensureStream()
    relay.start()
    const [good] = simEvents(1, 1, 3)
    const js = nc.jetstream()
    await js.publish('idr.evp.0.acct-p', encode({ ...good!, account: 'acct-p', device: 'poison' }))
    await js.publish('idr.evp.0.acct-p', encode({ ...good!, account: 'acct-p' }))
    const end = Date.now() + 10_000
    while (relay.stats.relayed < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
    await relay.stop()
    await nc.flush()
    expect(relay.stats.relayed).toBe(1)
    expect(dlq.map((r) => r.code)).toEqual(['RELAY_FAILED'])
    expect(errors.length).toBe(1)
    expect((await jsm.streams.info('IDR_LAND')).state.messages).toBe(0)
    expect((await jsm.streams.info('IDR_KEYED')).state.messages).toBe(1)
    await nc.close()
  })
})
