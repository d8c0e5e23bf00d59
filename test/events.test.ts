// Schema v1: one validator, typed codes naming the field, unknown vocabulary mapped, limits enforced.
import { describe, expect, it } from 'vitest'
import { EventError, EVENT_LIMITS, validateEvent } from '../src/model/events.js'

const play = {
  v: 1, id: 'e1', ts: Date.UTC(2026, 0, 5, 20), account: 'acct-1', device: 'd1', kind: 'play',
  deviceType: 'tv', screenIn: 55, content: 'c42', genres: ['Drama', 'telenovela'], durationSec: 0, truth: 'p1',
}

function rejects(raw: unknown): { code: string, field: string | undefined } {
  try {
    validateEvent(raw)
  } catch (e) {
    expect(e).toBeInstanceOf(EventError)
    return { code: (e as EventError).code, field: (e as EventError).field }
  }
  throw new Error('expected an EventError')
}

describe('event validation (schema v1)', () => {
  it('accepts a play event and maps genre names to the vocabulary', () => {
    const e = validateEvent(play)
    expect(e).toMatchObject({ kind: 'play', deviceType: 'tv', genres: ['drama', 'other'], truth: 'p1' })
  })

  it('fills durationSec 0 on heartbeats without it and maps unknown channels to other', () => {
    expect(validateEvent({ ...play, kind: 'heartbeat', durationSec: undefined }).durationSec).toBe(0)
    expect(validateEvent({ v: 1, id: 't', ts: play.ts, account: 'a', device: 'd', kind: 'touch', channel: 'Carrier-Pigeon' }).channel).toBe('other')
  })

  it('does not copy fields outside the schema (no prototype keys reach the model)', () => {
    const raw = JSON.parse('{"v":1,"id":"x","ts":1767640000000,"account":"a","device":"d","kind":"stop","__proto__":{"polluted":true},"extra":1}') as object
    const e = validateEvent(raw) as unknown as Record<string, unknown>
    expect(e['extra']).toBeUndefined()
    expect(e['polluted']).toBeUndefined()
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
  })

  it.each([
    [null, 'NOT_AN_OBJECT', undefined],
    [[play], 'NOT_AN_OBJECT', undefined],
    [{ ...play, v: 2 }, 'BAD_VERSION', 'v'],
    [{ ...play, v: undefined }, 'MISSING_FIELD', 'v'],
    [{ ...play, id: '' }, 'MISSING_FIELD', 'id'],
    [{ ...play, account: undefined }, 'MISSING_FIELD', 'account'],
    [{ ...play, kind: 'rewind' }, 'BAD_KIND', 'kind'],
    [{ ...play, ts: 'yesterday' }, 'BAD_TYPE', 'ts'],
    [{ ...play, ts: 12 }, 'OUT_OF_RANGE', 'ts'],
    [{ ...play, ts: play.ts + 0.5 }, 'BAD_TYPE', 'ts'],
    [{ ...play, ts: NaN }, 'OUT_OF_RANGE', 'ts'],
    [{ ...play, deviceType: 'fridge' }, 'BAD_DEVICE_TYPE', 'deviceType'],
    [{ ...play, deviceType: undefined }, 'MISSING_FIELD', 'deviceType'],
    [{ ...play, content: undefined }, 'MISSING_FIELD', 'content'],
    [{ ...play, screenIn: -3 }, 'OUT_OF_RANGE', 'screenIn'],
    [{ ...play, durationSec: EVENT_LIMITS.durationSecMax + 1 }, 'OUT_OF_RANGE', 'durationSec'],
    [{ ...play, genres: 'drama' }, 'BAD_TYPE', 'genres'],
    [{ ...play, genres: [1] }, 'BAD_TYPE', 'genres[0]'],
    [{ ...play, genres: Array(EVENT_LIMITS.genresMax + 1).fill('drama') }, 'TOO_LONG', 'genres'],
    [{ ...play, id: 'x'.repeat(EVENT_LIMITS.idMaxLength + 1) }, 'TOO_LONG', 'id'],
    [{ v: 1, id: 't', ts: play.ts, account: 'a', device: 'd', kind: 'touch' }, 'MISSING_FIELD', 'channel'],
    [{ v: 1, id: 'c', ts: play.ts, account: 'a', device: 'd', kind: 'convert', value: -1 }, 'OUT_OF_RANGE', 'value'],
  ])('rejects %j with %s on field "%s"', (raw, code, field) => {
    expect(rejects(raw)).toEqual({ code, field })
  })
})
