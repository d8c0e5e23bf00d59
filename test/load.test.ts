// `idr load`: a short real run (a spawned nats-server, the compiled engine and publishers from build/) and
// its JSON contract; the fixed-shape encoder against the msgpack library; bad flags.
import { decode } from '@msgpack/msgpack'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { loadCommand } from '../src/cli/load.js'
import { IdrError } from '../src/errors.js'
import { encodeEvent, encodeEvents } from '../src/load/encode.js'
import { LoadGenerator, REFIT_POINTS } from '../src/load/generator.js'
import { parseLoadArgs } from '../src/load/options.js'
import type { LoadResult } from '../src/load/report.js'

afterEach(() => { vi.restoreAllMocks() })

describe('idr load', () => {
  it('reports throughput, its ceiling, latency and memory of a short run as one JSON object', async () => {
    const out: string[] = []
    vi.spyOn(console, 'log').mockImplementation((line: string) => { out.push(line) })
    const code = await loadCommand(['--spawn-nats', '--rate', '2000', '--duration', '4', '--warmup', '1', '--households', '60', '--partitions', '4', '--json'])
    expect(code).toBe(0)
    expect(out).toHaveLength(1)
    const r = JSON.parse(out[0]!) as LoadResult
    for (const field of ['mode', 'eventsPerSec', 'ceilingEventsPerSec', 'ratioToCeiling', 'latencyMs', 'rssMb', 'households'] as const) expect(r).toHaveProperty(field)
    expect(r.mode).toBe('core-single')
    expect(r.households).toBe(60)
    // the null consumer received every event the publishers sent in its phase
    expect(r.ceiling!.eventsReceived).toBe(r.ceiling!.eventsPublished)
    // not overloaded (2,000 events/s), so the engine applied every published event
    expect(r.engine.eventsApplied).toBe(r.engine.eventsPublished)
    expect(r.engine.eventsPublished).toBeGreaterThan(6_000)
    expect(r.ratioToCeiling).toBeCloseTo(r.eventsPerSec / r.ceilingEventsPerSec!, 2)
    expect(r.latencyMs.count).toBeGreaterThan(0)
    expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p99)
    expect(r.latencyMs.p99).toBeLessThanOrEqual(r.latencyMs.max)
    expect(r.rssMb).toBeGreaterThan(0)
  }, 60_000)

  it('refuses a bad flag with BAD_OPTION and names the flag', () => {
    expect(() => parseLoadArgs(['--spawn-nats', '--rate', '-5'])).toThrow(expect.objectContaining({ code: 'BAD_OPTION', message: expect.stringContaining('--rate') }))
    expect(() => parseLoadArgs(['--spawn-nats', '--batchh', '100'])).toThrow(/did you mean --batch/)
    expect(() => parseLoadArgs(['--rate', '1000'])).toThrow(IdrError)
    expect(() => parseLoadArgs(['--spawn-nats', '--rate', '1000', '--max'])).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }))
  })

  it('encodes events to the same msgpack objects the library decodes', () => {
    const gen = new LoadGenerator({ households: 20, seed: 3, partitionsOf: 8, idPrefix: 't-', scenario: 'steady', now: () => Date.UTC(2026, 5, 1) })
    const events = Array.from({ length: 500 }, () => gen.nextEvent())
    for (const e of events) expect(decode(encodeEvent(e))).toEqual(e)
    expect(decode(encodeEvents(events))).toEqual(events)
  })

  it('touches only the active households at a time, each getting its turn', () => {
    const gen = new LoadGenerator({ households: 100, active: 10, seed: 2, partitionsOf: 8, idPrefix: 'a-', scenario: 'steady', now: () => Date.UTC(2026, 5, 1) })
    const first = new Set(Array.from({ length: 50 }, () => gen.nextEvent().account))
    expect(first.size).toBeLessThanOrEqual(10)
    const all = new Set<string>()
    for (let i = 0; i < 100_000; i++) all.add(gen.nextEvent().account)
    expect(all.size).toBe(100)
  })

  it('plays storm households in lockstep, so their refit points coincide', () => {
    const gen = new LoadGenerator({ households: 50, seed: 1, partitionsOf: 8, idPrefix: 's-', scenario: 'storm', now: () => Date.UTC(2026, 5, 1) })
    const closedAtPlay: number[] = []
    for (let i = 0; i < 50 * 200; i++) {
      const e = gen.nextEvent()
      if (e.kind === 'play') closedAtPlay.push(gen.closed)
    }
    // every round's 50 plays come together, all after the same number of closed sessions
    for (let r = 0; r * 50 < closedAtPlay.length - 50; r++) expect(new Set(closedAtPlay.slice(r * 50, r * 50 + 50)).size).toBe(1)
    expect(closedAtPlay.some((c) => REFIT_POINTS.has(c))).toBe(true)
  })
})
