// Request-reply on the bus: household.get describes the persons, session.score answers what-if without
// learning, stats carries the contracted names, bad requests get typed error replies.
import { describe, expect, it } from 'vitest'
import { serveApi } from '../src/api/service.js'
import { Engine } from '../src/engine/engine.js'
import { MemoryStore } from '../src/runtime/memory-store.js'
import { InProcessBus } from '../src/transport/in-process.js'
import { TEST_KEY, messages, simEvents } from './helpers/engine.js'

const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o))
const parse = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>

describe('request-reply services', () => {
  it('describe a household, score a what-if session without learning, and report stats', async () => {
    const events = simEvents(3, 21, 5)
    const bus = new InProcessBus()
    const engine = new Engine({ bus, store: new MemoryStore(), pseudonymKey: TEST_KEY })
    serveApi(engine, bus)
    await engine.start()
    for (const m of messages(events, 50)) await bus.send(`idr.ev.${m.account}`, m.data)
    await bus.whenDelivered()
    await engine.runtime.whenIdle()

    const play = events.find((e) => e.kind === 'play')!
    const h = parse(await bus.request('idr.api.household.get', json({ account: play.account })))
    const persons = h['persons'] as { person: string, share: number, hours: unknown[] }[]
    expect(persons.length).toBeGreaterThan(0)
    expect(persons.reduce((s, p) => s + p.share, 0)).toBeCloseTo(1, 2)
    expect(persons[0]!.hours.length).toBeGreaterThan(0)
    expect((h['stats'] as { events: number }).events).toBe(events.filter((e) => e.account === play.account).length)

    const ask = { account: play.account, device: play.device, deviceType: play.deviceType, startTs: play.ts, durationSec: 1800, genres: play.genres }
    const before = engine.runtime.peek(play.account)!.toSnapshot()
    const scored = parse(await bus.request('idr.api.session.score', json(ask)))
    const ps = scored['persons'] as { person: string, p: number }[]
    expect(ps.reduce((s, q) => s + q.p, 0)).toBeCloseTo(1, 9)
    expect(Buffer.from(engine.runtime.peek(play.account)!.toSnapshot()).equals(Buffer.from(before))).toBe(true)

    const bad = parse(await bus.request('idr.api.session.score', json({ ...ask, deviceType: 'toaster' })))
    expect((bad['error'] as { code: string }).code).toBe('BAD_DEVICE_TYPE')
    expect((parse(await bus.request('idr.api.household.get', json({ account: 'nobody' })))['error'] as { code: string }).code).toBe('NOT_FOUND')
    expect((parse(await bus.request('idr.api.household.get', new Uint8Array([1, 2])))['error'] as { code: string }).code).toBe('BAD_REQUEST')

    const stats = parse(await bus.request('idr.api.stats', json({})))
    for (const k of ['eventsApplied', 'eventsRejected', 'duplicatesIgnored', 'households', 'residentActors', 'snapshotLagMs']) expect(typeof stats[k]).toBe('number')
    expect(stats['eventsApplied']).toBe(events.length)
    expect(stats['households']).toBe(3)
    await engine.drain()
  })
})
