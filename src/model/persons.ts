// The people of one household: the person mixture (mixture.ts) with stable ids. Between refits each closed
// session updates every person by its responsibility (an incremental EM step); a refit's persons are
// matched to the existing ids by the sessions they explain. No I/O.
import { maxWeightAssignment } from './hungarian.js'
import { Mixture, VOCAB, type Encoded, type MixtureOptions } from './mixture.js'

/** What a refit did to the household's persons, for the record. */
export type PersonChange =
  | { readonly type: 'appeared', readonly person: string }
  | { readonly type: 'kept', readonly person: string, readonly overlap: number }
  | { readonly type: 'merged', readonly person: string, readonly into: string }
  | { readonly type: 'disappeared', readonly person: string }

/** Share of a refit person's sessions that must have been an old person's for it to keep that id. */
export const KEEP_OVERLAP = 0.3

/** Serializable state (float64 arrays as little-endian bytes, so that a restore is exact). */
export interface PersonModelState {
  readonly nextId: number
  readonly version: number
  readonly ids: readonly string[]
  readonly counts: Uint8Array
  readonly n: Uint8Array
  readonly dur: Uint8Array
}

export class PersonModel {
  ids: string[] = []
  mixture: Mixture
  /** Bumped by every refit. */
  version = 0
  private nextId = 1

  constructor(readonly options: MixtureOptions) {
    this.mixture = new Mixture(0, options)
  }

  get k(): number {
    return this.ids.length
  }

  /** ln π_j + ln p(row i | j) into out (k values). */
  logJoint(e: Encoded, i: number, out: Float64Array): void {
    this.mixture.logLik(e, i, out)
    for (let j = 0; j < this.k; j++) out[j] = out[j]! + this.mixture.logPi[j]!
  }

  /** Responsibility-weighted update with one closed session (resp: k values summing to 1). */
  update(e: Encoded, i: number, resp: Float64Array): void {
    this.mixture.accumulate(e, i, resp)
    this.mixture.refresh()
  }

  /**
   * Replaces the mixture by a refit and maps its persons onto the ids. overlap[a·kNew + b] is the number of
   * history sessions old person a and new person b share (Σ_i r_old(i,a)·r_new(i,b)). New person b keeps
   * the id of the old person it shares most with (Hungarian), if that is at least KEEP_OVERLAP of its
   * sessions; else it appears. An old person without a match merged into the new person that took most of
   * its sessions, or disappeared if it had none left.
   */
  applyRefit(next: Mixture, overlap: Float64Array): PersonChange[] {
    const kOld = this.k
    const kNew = next.k
    const changes: PersonChange[] = []
    const ids: string[] = new Array<string>(kNew)
    const taken = new Set<number>()
    if (kOld > 0) {
      const match = maxWeightAssignment(overlap, kOld, kNew)
      for (let a = 0; a < kOld; a++) {
        const b = match[a]!
        if (b < 0) continue
        const shared = overlap[a * kNew + b]!
        if (shared >= KEEP_OVERLAP * next.n[b]!) {
          ids[b] = this.ids[a]!
          taken.add(a)
          changes.push({ type: 'kept', person: this.ids[a]!, overlap: shared / next.n[b]! })
        }
      }
    }
    for (let b = 0; b < kNew; b++) {
      if (ids[b] !== undefined) continue
      const id = `p${this.nextId++}`
      ids[b] = id
      changes.push({ type: 'appeared', person: id })
    }
    for (let a = 0; a < kOld; a++) {
      if (taken.has(a)) continue
      let best = -1
      let most = 0
      for (let b = 0; b < kNew; b++) {
        if (overlap[a * kNew + b]! > most) {
          most = overlap[a * kNew + b]!
          best = b
        }
      }
      changes.push(best >= 0 && most >= 1
        ? { type: 'merged', person: this.ids[a]!, into: ids[best]! }
        : { type: 'disappeared', person: this.ids[a]! })
    }
    // persons in id order (creation order), so that equal inputs give equal states
    const order = ids.map((_, b) => b).sort((x, y) => idNumber(ids[x]!) - idNumber(ids[y]!))
    this.mixture = next.select(order)
    this.ids = order.map((b) => ids[b]!)
    this.version++
    return changes
  }

  /**
   * Drops one person (erasure): its statistics leave the mixture and its id is never given again. False when
   * there is no such person.
   */
  remove(person: string): boolean {
    const j = this.ids.indexOf(person)
    if (j < 0) return false
    const keep = this.ids.map((_, b) => b).filter((b) => b !== j)
    this.mixture = this.mixture.select(keep)
    this.ids = keep.map((b) => this.ids[b]!)
    this.version++
    return true
  }

  /** No persons left (cold start again); ids already given are not given again. */
  clear(): void {
    this.mixture = new Mixture(0, this.options)
    this.ids = []
    this.version++
  }

  toState(): PersonModelState {
    const m = this.mixture
    const dur = new Float64Array(3 * this.k)
    dur.set(m.durW, 0)
    dur.set(m.durS, this.k)
    dur.set(m.durQ, 2 * this.k)
    return {
      nextId: this.nextId, version: this.version, ids: [...this.ids],
      counts: bytes(m.counts), n: bytes(m.n), dur: bytes(dur),
    }
  }

  static fromState(options: MixtureOptions, s: PersonModelState): PersonModel {
    const p = new PersonModel(options)
    const k = s.ids.length
    const m = new Mixture(k, options)
    m.counts.set(floats(s.counts, k * VOCAB))
    m.n.set(floats(s.n, k))
    const dur = floats(s.dur, 3 * k)
    m.durW.set(dur.subarray(0, k))
    m.durS.set(dur.subarray(k, 2 * k))
    m.durQ.set(dur.subarray(2 * k, 3 * k))
    m.refresh()
    p.mixture = m
    p.ids = [...s.ids]
    p.nextId = s.nextId
    p.version = s.version
    return p
  }
}

function idNumber(id: string): number {
  return Number(id.slice(1))
}

function bytes(a: Float64Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength))
}

function floats(b: Uint8Array, length: number): Float64Array {
  const copy = b.slice(0, length * 8)
  return new Float64Array(copy.buffer, 0, length)
}
