// Sessions in event time: gaps, stops, lateness, duplicates, clock jumps, idle flush, state round trip.
import { decode, encode } from '@msgpack/msgpack'
import { describe, expect, it } from 'vitest'
import { validateEvent, type IdrEvent } from '../src/model/events.js'
import { Sessionizer, type SessionizerState, type SessionUpdate } from '../src/model/sessionizer.js'
import { OptionError } from '../src/options/check.js'

const T0 = Date.UTC(2026, 0, 5, 20, 0)
const MIN = 60_000
let n = 0
function ev(minute: number, kind: string, extra: Record<string, unknown> = {}): IdrEvent {
  const base = { v: 1, id: `e${++n}`, ts: T0 + minute * MIN, account: 'a', device: 'tv1', kind }
  const playFields = kind === 'play' ? { deviceType: 'tv', content: 'c1', genres: ['drama', 'crime'] } : {}
  return validateEvent({ ...base, ...playFields, durationSec: kind === 'play' ? 0 : 60, ...extra })
}
const types = (us: SessionUpdate[]) => us.map((u) => (u.type === 'close' ? `close:${u.reason}` : u.type === 'rejected' ? `rejected:${u.reason}` : u.type))

describe('Sessionizer', () => {
  it('keeps a session open across a 29-minute silence and closes it after 30 minutes', () => {
    const z = new Sessionizer('a', { allowedLatenessMs: 0 })
    expect(types(z.push(ev(0, 'play')))).toEqual(['open'])
    expect(types(z.push(ev(29, 'heartbeat')))).toEqual(['update'])
    expect(z.openSessions).toHaveLength(1)
    expect(types(z.advance(T0 + 59 * MIN))).toEqual([])
    const closed = z.advance(T0 + 59 * MIN + 1)
    expect(types(closed)).toEqual(['close:gap'])
    const s = closed[0]!.type === 'close' ? closed[0]!.session : undefined
    expect(s?.startTs).toBe(T0)
    expect(s?.lastTs).toBe(T0 + 29 * MIN)
    expect(s?.watchedSec).toBe(60)
  })

  it('opens a new session on the same device after a gap, closing the old one first', () => {
    const z = new Sessionizer('a', { allowedLatenessMs: 0 })
    z.push(ev(0, 'play'))
    expect(types(z.push(ev(31, 'play')))).toEqual(['close:gap', 'open'])
    expect(z.stats).toMatchObject({ opened: 2, closed: 1 })
  })

  it('treats a stop as a boundary: later events open a new session, the stopped one closes when the watermark passes it', () => {
    const z = new Sessionizer('a', { allowedLatenessMs: 5 * MIN })
    z.push(ev(0, 'play'))
    z.push(ev(10, 'stop'))
    expect(types(z.push(ev(12, 'play', { content: 'c2' })))).toEqual(['open'])
    expect(z.openSessions).toHaveLength(2)
    // watermark = 16 − 5 = 11 > stop at 10
    expect(types(z.push(ev(16, 'heartbeat')))).toEqual(['close:stop', 'update'])
  })

  it('applies an out-of-order event within the allowed lateness to its session', () => {
    const z = new Sessionizer('a', { allowedLatenessMs: 5 * MIN })
    z.push(ev(10, 'play'))
    z.push(ev(14, 'heartbeat'))
    const late = z.push(ev(9.5, 'heartbeat')) // before the start, but after the watermark 14 − 5 = 9
    expect(types(late)).toEqual(['update'])
    expect(z.openSessions[0]!.startTs).toBe(T0 + 9.5 * MIN)
    expect(z.openSessions[0]!.events).toBe(3)
  })

  it('rejects and counts events older than the watermark, and never applies them', () => {
    const z = new Sessionizer('a', { allowedLatenessMs: 5 * MIN })
    z.push(ev(20, 'play'))
    expect(types(z.push(ev(14, 'heartbeat')))).toEqual(['rejected:late'])
    expect(z.stats.late).toBe(1)
    expect(z.openSessions[0]!.events).toBe(1)
  })

  it('ignores a re-sent event id within the window and counts it', () => {
    const z = new Sessionizer('a')
    const e = ev(0, 'play')
    z.push(e)
    expect(types(z.push(e))).toEqual(['rejected:duplicate'])
    expect(z.stats.duplicates).toBe(1)
    expect(z.openSessions[0]!.events).toBe(1)
  })

  it('forgets ids past the de-duplication window and the id cap (memory stays bounded)', () => {
    const z = new Sessionizer('a', { dedupWindowMs: 10 * MIN, maxDedupIds: 3, allowedLatenessMs: 60 * MIN })
    const first = ev(0, 'play')
    z.push(first)
    for (let m = 1; m <= 4; m++) z.push(ev(m, 'heartbeat'))
    expect(z.toState().recent.length).toBeLessThanOrEqual(3)
    expect(types(z.push(first))).toEqual(['update']) // cap evicted it; the lateness window still admits it
  })

  it('rejects events stamped far ahead of their arrival (a device clock jump) instead of jumping the watermark', () => {
    const z = new Sessionizer('a', { maxClockSkewMs: 10 * MIN })
    z.push(ev(0, 'play'), T0)
    const future = ev(60 * 24 * 365, 'heartbeat')
    expect(types(z.push(future, T0 + MIN))).toEqual(['rejected:clock-ahead'])
    expect(z.stats.clockAhead).toBe(1)
    expect(types(z.push(ev(2, 'heartbeat'), T0 + 2 * MIN))).toEqual(['update'])
  })

  it('keeps devices apart and records content switches and genre weights', () => {
    const z = new Sessionizer('a')
    z.push(ev(0, 'play'))
    z.push(ev(1, 'play', { device: 'phone', deviceType: 'mobile', content: 'x', genres: ['news'] }))
    expect(z.openSessions.map((s) => s.device)).toEqual(['tv1', 'phone'])
    const u = z.push(ev(2, 'play', { content: 'c2', genres: ['comedy'] }))
    expect(u[0]).toMatchObject({ type: 'update', contentChanged: true })
    const tv = z.openSessions[0]!
    expect(tv.contentSwitches).toBe(1)
    expect(Array.from(tv.genreWeights).reduce((a, b) => a + b, 0)).toBe(2.5) // drama 1 + crime 0.5 + comedy 1
  })

  it('passes non-playback events through as rejections of kind not-playback', () => {
    const z = new Sessionizer('a')
    const touch = validateEvent({ v: 1, id: 't1', ts: T0, account: 'a', device: 'tv1', kind: 'touch', channel: 'email' })
    expect(types(z.push(touch))).toEqual(['rejected:not-playback'])
  })

  it('flushes every open session at the end of input', () => {
    const z = new Sessionizer('a')
    z.push(ev(0, 'play'))
    z.push(ev(0, 'play', { device: 'd2' }))
    expect(types(z.flush())).toEqual(['close:flush', 'close:flush'])
    expect(z.openSessions).toHaveLength(0)
  })

  it('continues identically from its saved state', () => {
    const events = [ev(0, 'play'), ev(3, 'heartbeat'), ev(40, 'play', { content: 'c9' }), ev(41, 'heartbeat'), ev(90, 'play')]
    // updates carry live views, so record each one as it is returned
    const record = (us: SessionUpdate[]) => JSON.stringify(us, (_k, v: unknown) => (v instanceof Float64Array ? [...v] : v))
    const whole = new Sessionizer('a')
    const all = events.map((e) => record(whole.push(e)))
    const first = new Sessionizer('a')
    const part = events.slice(0, 3).map((e) => record(first.push(e)))
    const resumed = Sessionizer.fromState('a', structuredClone(first.toState()))
    const rest = events.slice(3).map((e) => record(resumed.push(e)))
    expect([...part, ...rest]).toEqual(all)
    expect(resumed.stats).toEqual(whole.stats)
  })

  it('restores open sessions with the same shape, so a restored state encodes to the same bytes', () => {
    const events = [ev(0, 'play'), ev(3, 'heartbeat'), ev(5, 'stop')]
    const whole = new Sessionizer('a')
    for (const e of events) whole.push(e)
    const first = new Sessionizer('a')
    first.push(events[0]!)
    // msgpack drops undefined fields (stopTs before a stop), as household snapshots do
    const restored = Sessionizer.fromState('a', decode(encode(first.toState(), { ignoreUndefined: true })) as SessionizerState)
    for (const e of events.slice(1)) restored.push(e)
    expect(Buffer.from(encode(restored.toState())).equals(Buffer.from(encode(whole.toState())))).toBe(true)
  })

  it('validates its options by name', () => {
    expect(() => new Sessionizer('a', { gapMs: -5 })).toThrow(/gapMs must be a positive number, got -5/)
    expect(() => new Sessionizer('a', { gapMS: 5 } as never)).toThrow(OptionError)
  })
})
