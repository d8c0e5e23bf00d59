// The person mixture on its own: observation encoding, EM and the choice of k on synthetic households whose
// groups are known, local refinement, id mapping across refits and exact state round trips.
import { describe, expect, it } from 'vitest'
import { createTwinKernels, createWasmKernels } from '../src/kernels/backend.js'
import { KernelOps } from '../src/kernels/ops.js'
import { FIELD_SLOTS, PAIRS, allocEncoded, encodeObservation, mixtureOptions, type Encoded } from '../src/model/mixture.js'
import { eStep, refineMixture, selectMixture } from '../src/model/mixture-fit.js'
import { DeviceSlots, MAX_DEVICES, ObservationRing, emptyObservation, type Observation } from '../src/model/observation.js'
import { PersonModel } from '../src/model/persons.js'
import { adjustedRandIndex } from '../src/sim/metrics-clustering.js'
import { rng } from '../src/sim/random.js'
import { expectAllClose, expectClose } from './helpers/close.js'

const ops = new KernelOps()
const options = mixtureOptions()
const select = { kMax: 6, nInit: 2, seed: 1, minPersonSessions: 3, penalty: 0.3 }

/** Group g: its own device, genre and hour (g·6 + 2 ± 1 h), every weekday, ~40 min. */
function groups(sizes: readonly number[], seed = 1): { e: Encoded, labels: number[] } {
  const r = rng(seed)
  const labels = sizes.flatMap((n, g) => Array.from({ length: n }, () => g))
  const e = allocEncoded(labels.length)
  labels.forEach((g, i) => {
    const o: Observation = {
      hour: (g * 6 + 2 + r.normal() + 24) % 24, weekday: Math.floor(r.uniform() * 7), device: g,
      genre: r.uniform() < 0.8 ? g : Math.floor(r.uniform() * 12), logMinutes: Math.log1p(40) + 0.3 * r.normal(), startSec: 0,
    }
    encodeObservation(o, e, i)
  })
  return { e, labels }
}

function argmax(resp: Float64Array, k: number, i: number): number {
  let b = 0
  for (let j = 1; j < k; j++) if (resp[i * k + j]! > resp[i * k + b]!) b = j
  return b
}

describe('observations', () => {
  it('spreads the hour linearly over the two nearest bin centres', () => {
    const e = allocEncoded(2)
    encodeObservation({ hour: 0.5, weekday: 2, device: 3, genre: 4, logMinutes: 1, startSec: 0 }, e, 0)
    encodeObservation({ hour: 23.75, weekday: 6, device: 0, genre: 0, logMinutes: 1, startSec: 0 }, e, 1, false)
    expect([e.slot[0], e.w[0], e.w[1]]).toEqual([0, 1, 0])
    expect([e.slot[PAIRS], e.slot[PAIRS + 1], e.w[PAIRS], e.w[PAIRS + 1]]).toEqual([23, 0, 0.75, 0.25])
    expect(e.slot[2]).toBe(FIELD_SLOTS.weekday.offset + 2)
    expect(e.slot[3]).toBe(FIELD_SLOTS.device.offset + 3)
    expect(e.slot[4]).toBe(FIELD_SLOTS.genre.offset + 4)
    expect(Number.isNaN(e.dur[1]!)).toBe(true)
  })

  it('keeps the most recent rows in a ring that survives a byte round trip', () => {
    const ring = new ObservationRing(3)
    for (let i = 0; i < 5; i++) ring.push({ hour: i + 0.25, weekday: i % 7, device: i, genre: i, logMinutes: i / 2, startSec: 1_767_225_600 + i })
    const back = ObservationRing.fromBytes(3, ring.total, ring.toBytes())
    const o = emptyObservation()
    expect(back.length).toBe(3)
    expect([0, 1, 2].map((i) => back.get(i, o).hour)).toEqual([2.25, 3.25, 4.25])
    expect(back.get(2, o)).toEqual({ hour: 4.25, weekday: 4, device: 4, genre: 4, logMinutes: 2, startSec: 1_767_225_604 })
  })

  it('retains only the rows asked for, oldest first, and zeroes the rest', () => {
    const ring = new ObservationRing(4)
    for (let i = 0; i < 6; i++) ring.push({ hour: i, weekday: 0, device: i % 2, genre: 0, logMinutes: 0, startSec: 100 + i })
    expect(ring.retain((o) => o.device === 0)).toBe(2) // of rows 2..5, rows 3 and 5 go
    const o = emptyObservation()
    expect([0, 1].map((i) => ring.get(i, o).startSec)).toEqual([102, 104])
    expect(ring.length).toBe(2)
    expect(ring.toBytes().length).toBe(2 * 16)
    ring.push({ hour: 9, weekday: 0, device: 0, genre: 0, logMinutes: 0, startSec: 200 })
    expect([0, 1, 2].map((i) => ring.get(i, o).startSec)).toEqual([102, 104, 200])
  })

  it('reads the 12-byte rows of snapshot formats 2 and 3, with the start time given', () => {
    const legacy = new Uint8Array(2 * 12)
    const v = new DataView(legacy.buffer)
    v.setFloat32(12, 7.5, true)
    legacy[12 + 9] = 3
    const ring = ObservationRing.fromBytes(4, 2, legacy, 12, 1_700_000_000)
    expect(ring.get(1, emptyObservation())).toMatchObject({ hour: 7.5, device: 3, startSec: 1_700_000_000 })
  })

  it('gives devices slots in order of first sight, the overflow sharing the last', () => {
    const d = new DeviceSlots()
    expect([d.slot('tv'), d.slot('phone'), d.slot('tv')]).toEqual([0, 1, 0])
    for (let i = 0; i < 20; i++) d.slot(`x${i}`)
    expect(d.slot('x19')).toBe(MAX_DEVICES - 1)
    expect(new DeviceSlots(d.ids()).slot('phone')).toBe(1)
  })
})

describe('selectMixture', () => {
  it('finds three separated groups and recovers them', () => {
    const { e, labels } = groups([40, 30, 25])
    const sel = selectMixture(ops, e, options, select)
    expect(sel.best.mixture.k).toBe(3)
    const pred = labels.map((_, i) => argmax(sel.best.resp, 3, i))
    expect(adjustedRandIndex(labels, pred)).toBeGreaterThan(0.95)
  })

  it('keeps one group whole', () => {
    const { e } = groups([60])
    expect(selectMixture(ops, e, options, select).best.mixture.k).toBe(1)
  })

  it('never keeps a person with fewer sessions than the minimum', () => {
    const { e } = groups([40, 2])
    const sel = selectMixture(ops, e, options, select)
    expect(sel.best.smallest).toBeGreaterThanOrEqual(select.minPersonSessions)
  })
})

describe('refineMixture', () => {
  it('splits when a third group arrives and merges a spurious split', () => {
    const { e } = groups([40, 30, 25])
    const two = selectMixture(ops, e, options, { ...select, kMax: 2 }).best
    const up = refineMixture(ops, e, options, select, two.resp, 2)
    expect(up.best.mixture.k).toBe(3)
    const one = groups([80]).e
    const spurious = selectMixture(ops, one, options, { ...select, penalty: 0 }).best
    expect(spurious.mixture.k).toBeGreaterThan(1)
    const down = refineMixture(ops, one, options, select, spurious.resp, spurious.mixture.k)
    expect(down.best.mixture.k).toBeLessThan(spurious.mixture.k)
  })
})

describe('PersonModel ids', () => {
  it('keeps ids of persons that explain the same sessions, records newcomers and merges', () => {
    const { e } = groups([40, 30, 25])
    const persons = new PersonModel(options)
    const two = selectMixture(ops, e, options, { ...select, kMax: 2 }).best
    expect(persons.applyRefit(two.mixture, new Float64Array(0)).map((c) => c.type)).toEqual(['appeared', 'appeared'])
    expect(persons.ids).toEqual(['p1', 'p2'])
    const old = new Float64Array(e.n * 2)
    eStep(ops.kernels, persons.mixture, e, old)
    const three = selectMixture(ops, e, options, select).best
    const overlap = new Float64Array(2 * 3)
    for (let i = 0; i < e.n; i++) for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) overlap[a * 3 + b]! += old[i * 2 + a]! * three.resp[i * 3 + b]!
    const changes = persons.applyRefit(three.mixture, overlap)
    expect(changes.filter((c) => c.type === 'kept').map((c) => c.person).sort()).toEqual(['p1', 'p2'])
    expect(changes.filter((c) => c.type === 'appeared').map((c) => c.person)).toEqual(['p3'])
    expect(persons.ids).toEqual(['p1', 'p2', 'p3'])
    // back to one: both others merge into the survivor
    const one = selectMixture(ops, e, options, { ...select, kMax: 1 }).best
    const old3 = new Float64Array(e.n * 3)
    eStep(ops.kernels, persons.mixture, e, old3)
    const ov = new Float64Array(3)
    for (let i = 0; i < e.n; i++) for (let a = 0; a < 3; a++) ov[a]! += old3[i * 3 + a]! * one.resp[i]!
    const merged = persons.applyRefit(one.mixture, ov)
    expect(merged.filter((c) => c.type === 'merged')).toHaveLength(2)
    expect(persons.k).toBe(1)
  })

  it('restores its state exactly', () => {
    const { e } = groups([40, 30])
    const persons = new PersonModel(options)
    persons.applyRefit(selectMixture(ops, e, options, select).best.mixture, new Float64Array(0))
    const back = PersonModel.fromState(options, structuredClone(persons.toState()))
    const a = new Float64Array(persons.k)
    const b = new Float64Array(persons.k)
    for (let i = 0; i < e.n; i++) {
      persons.logJoint(e, i, a)
      back.logJoint(e, i, b)
      expect(b).toEqual(a)
    }
  })
})

describe('the person-mixture kernels', () => {
  it('WebAssembly and the TypeScript twin give the same responsibilities, fits and statistics', () => {
    const wasm = new KernelOps(createWasmKernels())
    const twin = new KernelOps(createTwinKernels())
    const { e } = groups([25, 20, 15], 3)
    for (let i = 0; i < e.n; i += 4) e.dur[i] = NaN // unknown durations are skipped
    const a = selectMixture(wasm, e, options, select).best
    const b = selectMixture(twin, e, options, select).best
    expect(a.mixture.k).toBe(b.mixture.k)
    expectAllClose(a.resp, b.resp, 1e-9)
    expectAllClose(a.mixture.counts, b.mixture.counts, 1e-9)
    expectAllClose(a.mixture.durS, b.mixture.durS, 1e-9)
    expectClose(a.logLik, b.logLik, 1e-10)
    const ra = new Float64Array(e.n * a.mixture.k)
    const rb = new Float64Array(e.n * a.mixture.k)
    expectClose(eStep(wasm.kernels, a.mixture, e, ra), eStep(twin.kernels, a.mixture, e, rb), 1e-12)
    expectAllClose(ra, rb, 1e-12)
  })

  it('the kernel E-step equals the per-session scoring path', () => {
    const { e } = groups([30, 30], 4)
    const m = selectMixture(ops, e, options, select).best.mixture
    const resp = new Float64Array(e.n * m.k)
    eStep(ops.kernels, m, e, resp)
    const row = new Float64Array(m.k)
    for (let i = 0; i < e.n; i++) {
      m.logLik(e, i, row)
      const s = row.map((v, j) => v + m.logPi[j]!)
      const hi = Math.max(...s)
      const z = s.reduce((acc, v) => acc + Math.exp(v - hi), 0)
      expectAllClose(resp.subarray(i * m.k, (i + 1) * m.k), s.map((v) => Math.exp(v - hi) / z), 1e-12)
    }
  })
})
