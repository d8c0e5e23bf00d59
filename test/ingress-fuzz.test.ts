// Ingress under hostile input: ≥ 100,000 bad messages interleaved with valid events, fixed seed. Every bad
// message gives exactly one DLQ record with an expected code, every valid event comes out, nothing throws.
// Replay a failure with IDR_FUZZ_SEED / IDR_FUZZ_PATH (see test/helpers/hostile.ts).
import { encode } from '@msgpack/msgpack'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Ingress } from '../src/ingress/ingress.js'
import { assertWithSeed, HOSTILE_KINDS, hostileMessage, validEvent, type HostileLimits } from './helpers/hostile.js'

// Smaller than the defaults so that oversized and over-limit messages stay cheap to build.
const LIMITS: HostileLimits = {
  maxMessageBytes: 16 * 1024,
  maxStringBytes: 512,
  maxBinBytes: 256,
  maxArrayLength: 64,
  maxMapEntries: 64,
  maxDepth: 8,
  maxEventsPerMessage: 1_000,
}
const RUNS = 2_000
const HOSTILE_PER_RUN = 50
const VALID_GROUPS_PER_RUN = 25

function check(ok: boolean, message: () => string): void {
  if (!ok) throw new Error(message())
}

describe('ingress fuzzing', () => {
  it('turns every hostile message into exactly one DLQ record and lets every valid event through', () => {
    const ingress = new Ingress({ ...LIMITS, pseudonymKey: 'fuzz-key-0123456789abcdef' })
    const byKind = new Map<string, number>()
    let hostileSeen = 0
    let validSeen = 0
    let nextId = 0
    const run = fc.tuple(
      fc.array(hostileMessage(LIMITS), { minLength: HOSTILE_PER_RUN, maxLength: HOSTILE_PER_RUN }),
      fc.array(fc.array(validEvent(['acct-1', 'acct-2', 'acct-3']), { minLength: 1, maxLength: 4 }), { minLength: VALID_GROUPS_PER_RUN, maxLength: VALID_GROUPS_PER_RUN }),
    )
    assertWithSeed(fc.property(run, ([hostile, groups]) => {
      for (let i = 0; i < hostile.length; i++) {
        const h = hostile[i]!
        const r = ingress.decode('idr.ev.fuzz', h.bytes, 0)
        check(r.events.length === 0 && r.rejects.length === 1, () => `${h.kind}: ${r.events.length} events, ${r.rejects.length} records`)
        const rec = r.rejects[0]!
        check(h.codes.includes(rec.code), () => `${h.kind}: code ${rec.code} (${rec.message}), expected one of ${h.codes.join(', ')}`)
        check(rec.bytes === h.bytes.byteLength && rec.sha256.length === 64, () => `${h.kind}: record bytes/sha256 wrong`)
        byKind.set(h.kind, (byKind.get(h.kind) ?? 0) + 1)
        hostileSeen++
        // interleave: a valid message after every second hostile one
        const group = i % 2 === 1 ? groups[(i - 1) / 2] : undefined
        if (group === undefined) continue
        const events = group.map((e) => ({ ...e, id: `v${nextId++}` })) // unique ids; generated values stay untouched
        const ids = events.map((e) => e.id)
        const out = ingress.decode(`idr.ev.${events[0]!.account}`, encode(events.length === 1 ? events[0] : events), 0)
        check(out.rejects.length === 0, () => `valid events rejected: ${JSON.stringify(out.rejects)}`)
        check(out.events.map((e) => e.id).join() === ids.join(), () => `valid ids ${ids.join()} came out as ${out.events.map((e) => e.id).join()}`)
        check(out.events.every((e) => e.device.startsWith('d_')), () => 'a device was not pseudonymised')
        validSeen += events.length
      }
    }), { numRuns: RUNS })
    console.log(`hostile messages: ${hostileSeen}, valid events: ${validSeen}; by kind: ${JSON.stringify(Object.fromEntries(byKind))}`)
    expect(hostileSeen).toBeGreaterThanOrEqual(100_000)
    expect([...byKind.keys()].sort()).toEqual([...HOSTILE_KINDS].sort())
  })
})
