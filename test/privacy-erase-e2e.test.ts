// Erasure and access requests end to end: `idr serve` on JetStream with a real nats-server and SQLite file,
// `idr export` / `idr erase` over NATS and on the stopped engine's file. Afterwards the erased account's
// token is in no byte of the database, its WAL or the stream's files, and a restart that replays the
// stream does not bring it back.
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IdrEvent } from '../src/model/events.js'
import { EngineProcess } from './helpers/engine-process.js'
import { simEvents } from './helpers/engine.js'
import type { NatsServerHandle } from './helpers/nats-server.js'
import { caughtUp, publish, Published, STREAM, streamServer, tempDir } from './helpers/stream.js'

const run = promisify(execFile)
const CLI = join(import.meta.dirname, '..', 'build', 'src', 'cli', 'main.js')
const PARTITIONS = 2
const CANARY = 'CANARY-ACCT-e2e-77c1'
const DEVICE_CANARY = 'CANARY-DEVICE-e2e-3a9d'

let server: NatsServerHandle
const tmp = tempDir()
const db = tmp.db('privacy')
const published = new Published()
let events: IdrEvent[] = []
let other = ''

function engineArgs(): string[] {
  return ['--nats', server.url, '--db', db, '--jetstream', '--stream', STREAM, '--of', String(PARTITIONS), '--dev-key', '--snapshot-interval-ms', '150', '--pool-threads', '1']
}

async function until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function idr(args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, [CLI, ...args], { timeout: 60_000 })
  return JSON.parse(stdout) as unknown
}

/** Every file under a directory, concatenated. */
function bytesUnder(dir: string): Buffer {
  const parts: Buffer[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else parts.push(readFileSync(p))
    }
  }
  walk(dir)
  return Buffer.concat(parts)
}

const dbBytes = (): Buffer => Buffer.concat([db, `${db}-wal`].map((f) => { try { return readFileSync(f) } catch { return Buffer.alloc(0) } }))

describe('privacy requests end to end (JetStream)', () => {
  beforeAll(async () => {
    server = await streamServer(PARTITIONS)
    const sim = simEvents(4, 30, 21)
    const [first, second] = [...new Set(sim.map((e) => e.account))]
    other = second!
    const tv = sim.find((e) => e.account === second)!.device
    events = sim.map((e) => ({ ...e, account: e.account === first ? CANARY : e.account, device: e.device === tv ? DEVICE_CANARY : e.device }))
    await publish(server.url, events, { publisher: 'e2e', partitions: PARTITIONS, batch: 5, into: published })
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
    tmp.remove()
  })

  it('exports, erases a device and an account over NATS; nothing of them is left in the files; a replay does not bring them back', async () => {
    const engine = new EngineProcess(engineArgs())
    await engine.waitFor((l) => l.msg === 'serving')
    await until(() => caughtUp(db, published), 120_000, 'the engine to catch up')
    expect(bytesUnder(server.dir).includes(CANARY)).toBe(true)
    expect(dbBytes().includes(CANARY)).toBe(true)

    const exported = await idr(['export', '--nats', server.url, '--account', CANARY]) as { found: boolean, sessions: unknown[], persons: unknown[] }
    expect(exported.found).toBe(true)
    expect(exported.sessions.length).toBeGreaterThan(0)

    const device = await idr(['erase', '--nats', server.url, '--account', other, '--device', DEVICE_CANARY, '--json']) as Record<string, number | string | boolean>
    expect(device).toMatchObject({ scope: 'device', devices: 1 })
    expect(device['streamMessages']).toBeGreaterThan(0)
    expect(bytesUnder(server.dir).includes(DEVICE_CANARY)).toBe(false)

    const account = await idr(['erase', '--nats', server.url, '--account', CANARY, '--json']) as Record<string, number | string | boolean>
    expect(account).toMatchObject({ scope: 'account', found: true })
    expect(account['streamMessages']).toBe(published.messagesOf(CANARY))
    expect(account['tookMs']).toBeLessThan(10_000)
    expect(bytesUnder(server.dir).includes(CANARY)).toBe(false)
    expect(dbBytes().includes(CANARY)).toBe(false)
    expect(await engine.terminate()).toBe(0)

    // a new engine resumes from the stored positions: nothing of the account comes back
    const again = new EngineProcess(engineArgs())
    await again.waitFor((l) => l.msg === 'serving')
    await new Promise((r) => setTimeout(r, 500))
    expect(await again.terminate()).toBe(0)
    const after = await idr(['export', '--db', db, '--dev-key', '--of', String(PARTITIONS), '--account', CANARY]) as { found: boolean, erasures: { scope: string }[] }
    expect(after.found).toBe(false)
    expect(after.erasures).toEqual([expect.objectContaining({ scope: 'account' })])
    expect(dbBytes().includes(CANARY)).toBe(false)
    const { stdout } = await run(process.execPath, [CLI, 'audit', 'verify', '--db', db, '--json'])
    expect(JSON.parse(stdout)).toMatchObject({ ok: true })
  }, 240_000)

  it('erases a person on the stopped engine\'s database and refuses a malformed request', async () => {
    const before = await idr(['export', '--db', db, '--dev-key', '--of', String(PARTITIONS), '--account', other]) as { persons: { person: string }[] }
    const person = before.persons[0]!.person
    const r = await idr(['erase', '--db', db, '--dev-key', '--of', String(PARTITIONS), '--account', other, '--person', person, '--json']) as Record<string, unknown>
    expect(r).toMatchObject({ scope: 'person', target: person, persons: 1 })
    const after = await idr(['export', '--db', db, '--dev-key', '--of', String(PARTITIONS), '--account', other]) as { persons: { person: string }[] }
    expect(after.persons.map((p) => p.person)).not.toContain(person)
    // --person and --device together: a wrong command line (exit 2), refused before the database is touched
    await expect(run(process.execPath, [CLI, 'erase', '--db', db, '--dev-key', '--account', other, '--person', 'p1', '--device', 'd'])).rejects.toMatchObject({ code: 2 })
  }, 60_000)
})
