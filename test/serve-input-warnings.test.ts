// When input does not arrive, `idr serve` says so: after idleWarningMs with no input message, a warning that
// names the usual causes; in JetStream mode with a stream that holds only the mapped subjects on a server
// without the mapping, a warning for the events that land on the plain subjects and reach nothing.
import { encode } from '@msgpack/msgpack'
import { connect } from 'nats'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EngineProcess } from './helpers/engine-process.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'

const open: { engines: EngineProcess[], servers: NatsServerHandle[], dirs: string[] } = { engines: [], servers: [], dirs: [] }
afterEach(async () => {
  for (const e of open.engines.splice(0)) await e.terminate()
  for (const s of open.servers.splice(0)) await s.stop()
  for (const d of open.dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function engine(url: string, extra: readonly string[]): EngineProcess {
  const dir = mkdtempSync(join(tmpdir(), 'idr-warn-'))
  open.dirs.push(dir)
  const e = new EngineProcess(['--nats', url, '--db', join(dir, 'idr.db'), '--dev-key', '--pool-threads', '0', ...extra])
  open.engines.push(e)
  return e
}

describe('idr serve when input does not arrive', () => {
  it('warns, naming the likely causes, when no input arrives within idleWarningMs', async () => {
    const server = await startNatsServer()
    open.servers.push(server)
    const e = engine(server.url, ['--idle-warning-ms', '300'])
    await e.waitFor((l) => l.msg === 'serving')
    const line = await e.waitFor((l) => String(l.msg).startsWith('no input received yet'), 10_000)
    expect(line['likelyCauses']).toEqual(expect.arrayContaining([expect.stringContaining('idr.evp.*.*'), expect.stringContaining('--of 8')]))
  })

  it('says nothing once input has arrived', async () => {
    const server = await startNatsServer()
    open.servers.push(server)
    const e = engine(server.url, ['--idle-warning-ms', '500'])
    await e.waitFor((l) => l.msg === 'serving')
    const nc = await connect({ servers: server.url })
    nc.publish('idr.ev.acct-1', encode({ v: 1, id: 'x1', ts: Date.now() - 1000, account: 'acct-1', device: 'd', kind: 'play', deviceType: 'tv', content: 'c' }))
    await nc.drain()
    await new Promise((r) => setTimeout(r, 1500))
    expect(e.lines.some((l) => String(l.msg).startsWith('no input received yet'))).toBe(false)
  })

  it('warns when events land on plain subjects that a mapped-only stream does not hold', async () => {
    const server = await startNatsServer({ jetstream: true }) // no mapping
    open.servers.push(server)
    const nc = await connect({ servers: server.url })
    await (await nc.jetstreamManager()).streams.add({ name: 'IDR_EV', subjects: ['idr.evp.>'] })
    const e = engine(server.url, ['--jetstream'])
    await e.waitFor((l) => l.msg === 'serving')
    nc.publish('idr.ev.acct-1', encode({ v: 1, id: 'x1', ts: Date.now(), account: 'acct-1', device: 'd', kind: 'play', deviceType: 'tv', content: 'c' }))
    await nc.drain()
    const line = await e.waitFor((l) => String(l.msg).startsWith('events arrive on idr.ev.<account> unmapped'), 10_000)
    expect(line).toMatchObject({ stream: 'IDR_EV', messages: 1 })
  })
})
