// What the person mixture reads from a session: its local start hour, weekday, device (a household-local
// index), dominant genre and watched time. Compact, so months of history fit in a few kilobytes.
// Definitions: docs/model.md, "What a session shows".
import { GENRES } from './events.js'
import type { Session } from './sessionizer.js'

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

/** Devices a household tells apart; later devices share the last slot. */
export const MAX_DEVICES = 16

export interface Observation {
  /** Local start time of day, hours in [0, 24). */
  hour: number
  /** Local day of week, Monday = 0. */
  weekday: number
  /** Household-local device slot, 0 … MAX_DEVICES − 1. */
  device: number
  /** Index in GENRES of the genre with the most weight (primary genres count 1, secondary 0.5). */
  genre: number
  /** ln(1 + watched minutes). */
  logMinutes: number
}

/** Assigns household-local slots to device ids in the order they are first seen. */
export class DeviceSlots {
  private readonly slots = new Map<string, number>()

  constructor(ids: readonly string[] = []) {
    for (const id of ids) this.slot(id)
  }

  /** The device's slot, assigning the next one on first sight (the last slot is shared by the overflow). */
  slot(device: string): number {
    let s = this.slots.get(device)
    if (s === undefined) {
      s = Math.min(this.slots.size, MAX_DEVICES - 1)
      this.slots.set(device, s)
    }
    return s
  }

  /** Slot without assigning one (undefined for a device never seen). */
  peek(device: string): number | undefined {
    return this.slots.get(device)
  }

  get size(): number {
    return Math.min(this.slots.size, MAX_DEVICES)
  }

  ids(): string[] {
    return [...this.slots.keys()]
  }
}

/** Reads the observation of a session (at any stage: watched time grows until close). */
export function observe(s: Session, device: number, utcOffsetMinutes: number, out: Observation): Observation {
  const local = s.startTs + utcOffsetMinutes * 60_000
  out.hour = (((local % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS
  const day = Math.floor(local / DAY_MS)
  out.weekday = (((day + 3) % 7) + 7) % 7 // 1970-01-01 was a Thursday
  out.device = device
  out.genre = Math.max(0, dominantGenre(s))
  out.logMinutes = Math.log1p(s.watchedSec / 60)
  return out
}

/** Index in GENRES of the genre with the most weight (the first on ties), or −1 when no genre is known. */
export function dominantGenre(s: Session): number {
  let best = -1
  for (let g = 0; g < GENRES.length; g++) if (s.genreWeights[g]! > (best < 0 ? 0 : s.genreWeights[best]!)) best = g
  return best
}

export function emptyObservation(): Observation {
  return { hour: 0, weekday: 0, device: 0, genre: 0, logMinutes: 0 }
}

/** Bytes one observation takes in the history (hour f32, minutes f32, weekday, device, genre, spare). */
const ROW_BYTES = 12

/** The most recent observations, oldest overwritten first. */
export class ObservationRing {
  private bytes: Uint8Array
  private view: DataView
  /** Observations ever added. */
  total = 0

  constructor(readonly capacity: number) {
    this.bytes = new Uint8Array(capacity * ROW_BYTES)
    this.view = new DataView(this.bytes.buffer)
  }

  get length(): number {
    return Math.min(this.total, this.capacity)
  }

  push(o: Observation): void {
    const at = (this.total % this.capacity) * ROW_BYTES
    this.view.setFloat32(at, o.hour, true)
    this.view.setFloat32(at + 4, o.logMinutes, true)
    this.bytes[at + 8] = o.weekday
    this.bytes[at + 9] = o.device
    this.bytes[at + 10] = o.genre
    this.total++
  }

  /** The i-th kept observation, oldest first. */
  get(i: number, out: Observation): Observation {
    const start = this.total > this.capacity ? this.total % this.capacity : 0
    const at = ((start + i) % this.capacity) * ROW_BYTES
    out.hour = this.view.getFloat32(at, true)
    out.logMinutes = this.view.getFloat32(at + 4, true)
    out.weekday = this.bytes[at + 8]!
    out.device = this.bytes[at + 9]!
    out.genre = this.bytes[at + 10]!
    return out
  }

  /** Raw rows in ring order (for snapshots). */
  toBytes(): Uint8Array {
    return this.bytes.slice(0, this.length * ROW_BYTES)
  }

  static fromBytes(capacity: number, total: number, bytes: Uint8Array): ObservationRing {
    const r = new ObservationRing(capacity)
    r.bytes.set(bytes.subarray(0, Math.min(bytes.length, capacity * ROW_BYTES)))
    r.total = total
    return r
  }
}
