// `idr serve --jetstream` at start-up against streams it cannot use: it exits non-zero within seconds and
// says which stream, which subjects and what it expected, instead of hanging in the ordered consumer's
// retries; a compatible stream is adopted; a JetStream API call that gets no answer times out by name.
import { encode } from '@msgpack/msgpack'
import { connect, RetentionPolicy, StringCodec, type NatsConnection } from 'nats'
import { afterEach, describe, expect, it } from 'vitest'
import { IdrError } from '../src/errors.js'
import { partitionOf } from '../src/contracts/partition.js'
import { NatsBus } from '../src/transport/nats.js'
import { subjectCovers } from '../src/contracts/subjects.js'
import { EngineProcess } from './helpers/engine-process.js'
import { simEvents } from './helpers/engine.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'
import { tempDir } from './helpers/stream.js'

const PARTITIONS = 4
/** A failed start must end well within this (ms); before, it hung for about 40 s. */
const EXIT_WITHIN_MS = 10_000

const cleanups: (() => Promise<unknown> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A JetStream nats-server and a plain client of it, both ended after the test. */
async function jetstreamServer(): Promise<{ server: NatsServerHandle, nc: NatsConnection }> {
  const server = await startNatsServer({ jetstream: true })
  cleanups.push(() => server.stop())
  const nc = await connect({ servers: server.url })
  cleanups.push(() => nc.close())
  return { server, nc }
}

function serve(url: string, extra: string[] = []): EngineProcess {
  const tmp = tempDir()
  cleanups.push(() => tmp.remove())
  const engine = new EngineProcess(['--nats', url, '--db', tmp.db('engine'), '--jetstream', '--of', String(PARTITIONS), '--dev-key', '--pool-threads', '0', ...extra])
  cleanups.push(() => engine.kill())
  return engine
}

/** Waits for the process to exit (failing after EXIT_WITHIN_MS); its exit code and everything it printed. */
async function failedStart(engine: EngineProcess): Promise<{ code: number | null, output: string, logged: string | undefined }> {
  const started = Date.now()
  const exit = await Promise.race([engine.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), EXIT_WITHIN_MS))])
  if (!exit) throw new Error(`idr serve still running after ${EXIT_WITHIN_MS} ms; log: ${JSON.stringify(engine.lines)}`)
  expect(Date.now() - started).toBeLessThan(EXIT_WITHIN_MS)
  const failed = engine.lines.find((l) => l.msg === 'start-up failed')
  return { code: exit.code, output: engine.stderr.join('\n'), logged: failed?.['code'] as string | undefined }
}

describe('idr serve --jetstream against a conflicting stream', () => {
  it('exits non-zero, naming the stream and its subjects, when IDR_EV exists over other subjects', async () => {
    const { server, nc } = await jetstreamServer()
    await (await nc.jetstreamManager()).streams.add({ name: 'IDR_EV', subjects: ['foo.>'] })
    const r = await failedStart(serve(server.url))
    expect(r.code).toBe(1)
    expect(r.logged).toBe('NATS_STREAM_CONFLICT')
    expect(r.output).toContain('IDR_EV')
    expect(r.output).toContain('["foo.>"]')
    expect(r.output).toContain('idr.evp.>')
    expect(r.output).toContain('--stream')
  })

  it('exits non-zero, naming the other stream and its subjects, when they overlap idr.evp.>', async () => {
    const { server, nc } = await jetstreamServer()
    await (await nc.jetstreamManager()).streams.add({ name: 'OTHER', subjects: ['idr.>'] })
    const r = await failedStart(serve(server.url))
    expect(r.code).toBe(1)
    expect(r.logged).toBe('NATS_STREAM_CONFLICT')
    expect(r.output).toContain('OTHER (subjects ["idr.>"])')
    expect(r.output).toContain('idr.evp.>')
    // OTHER holds all of idr.evp.>, so it could be idr's stream
    expect(r.output).toContain('--stream OTHER')
  })

  it('exits non-zero when another stream holds part of idr.evp.>, without offering it as idr\'s stream', async () => {
    const { server, nc } = await jetstreamServer()
    await (await nc.jetstreamManager()).streams.add({ name: 'PART', subjects: ['idr.evp.1.>'] })
    const r = await failedStart(serve(server.url))
    expect(r.code).toBe(1)
    expect(r.logged).toBe('NATS_STREAM_CONFLICT')
    expect(r.output).toContain('PART (subjects ["idr.evp.1.>"])')
    expect(r.output).not.toContain('--stream PART')
  })

  it('adopts an existing IDR_EV whose subjects include idr.evp.> and applies its events', async () => {
    const { server, nc } = await jetstreamServer()
    const jsm = await nc.jetstreamManager()
    await jsm.streams.add({ name: 'IDR_EV', subjects: ['idr.evp.>', 'audit.>'] })
    const [event] = simEvents(1, 1, 3)
    const account = event!.account
    await nc.jetstream().publish(`idr.evp.${partitionOf(account, PARTITIONS)}.${account}`, encode(event))
    const engine = serve(server.url)
    const ready = await engine.waitFor((l) => l.msg === 'jetstream stream ready', EXIT_WITHIN_MS)
    expect(ready['action']).toBe('updated') // the default 90-day retention set as its max_age
    await engine.waitFor((l) => l.msg === 'serving', EXIT_WITHIN_MS)
    const sc = StringCodec()
    const deadline = Date.now() + EXIT_WITHIN_MS
    let applied = 0
    while (applied < 1 && Date.now() < deadline) {
      applied = (JSON.parse(sc.decode((await nc.request('idr.api.stats', sc.encode('{}'), { timeout: 2_000 })).data)) as { eventsApplied: number }).eventsApplied
      if (applied < 1) await new Promise((r) => setTimeout(r, 50))
    }
    expect(applied).toBe(1)
    expect((await jsm.streams.info('IDR_EV')).config.subjects).toEqual(['idr.evp.>', 'audit.>'])
    expect(await engine.terminate()).toBe(0)
  })
})

describe('idr serve --jetstream when JetStream does not answer', () => {
  it('exits non-zero within the JetStream timeout, naming the call that got no answer', async () => {
    // no JetStream on this server; a client that takes $JS.API requests and never answers stands in for a stuck one
    const server = await startNatsServer()
    cleanups.push(() => server.stop())
    const silent = await connect({ servers: server.url })
    cleanups.push(() => silent.close())
    silent.subscribe('$JS.API.>', { callback: () => {} })
    await silent.flush()
    const r = await failedStart(serve(server.url, ['--jetstream-timeout-ms', '500']))
    expect(r.code).toBe(1)
    expect(r.logged).toBe('NATS_TIMEOUT')
    expect(r.output).toContain('$JS.API.INFO')
    expect(r.output).toContain('500 ms')
  })
})

describe('NatsBus.ensureStream', () => {
  it('refuses an existing stream whose retention would delete messages before a replay', async () => {
    const { server, nc } = await jetstreamServer()
    await (await nc.jetstreamManager()).streams.add({ name: 'IDR_EV', subjects: ['idr.evp.>'], retention: RetentionPolicy.Interest })
    const bus = await NatsBus.connect({ url: server.url, mode: 'jetstream', partitions: [0], partitionsOf: 1 })
    cleanups.push(() => bus.destroy())
    const err = await bus.ensureStream().then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(IdrError)
    expect(err).toMatchObject({ code: 'NATS_STREAM_CONFLICT' })
  })

  it('judges coverage by subject: a stream over a wider pattern holds the partitions, a narrower one does not', () => {
    for (const pattern of ['idr.evp.>', 'idr.>', '>', 'idr.*.>', '*.evp.>']) expect(subjectCovers(pattern, 'idr.evp.>'), pattern).toBe(true)
    for (const pattern of ['idr.evp.*', 'idr.evp.0.>', 'idr.ev.>', 'foo.>', 'idr.evp', 'idr.*.*.*']) expect(subjectCovers(pattern, 'idr.evp.>'), pattern).toBe(false)
    expect(subjectCovers('idr.evp.*.*', 'idr.evp.3.acct')).toBe(true)
    expect(subjectCovers('idr.evp.3.acct', 'idr.evp.*.acct')).toBe(false)
  })
})
