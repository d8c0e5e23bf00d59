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
  /** Session start, epoch seconds (UTC): what retention purges by; the mixture never reads it. */
  startSec: number
}

/** Prefix of the placeholder that keeps an erased device's slot (never a pseudonym: those start d_). */
export const ERASED_DEVICE = '~erased~'

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

  /**
   * Forgets a device (erasure): its id is replaced by a placeholder that keeps the slot taken, so the slots of
   * the other devices, and of devices seen later, do not move. Returns its slot (the last slot is shared by
   * every device past MAX_DEVICES − 1), or undefined when the device was never seen.
   */
  erase(device: string): number | undefined {
    const s = this.slots.get(device)
    if (s === undefined) return undefined
    const ids = this.ids()
    this.slots.clear()
    for (const id of ids) this.slots.set(id === device ? `${ERASED_DEVICE}${this.slots.size}` : id, Math.min(this.slots.size, MAX_DEVICES - 1))
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
  out.startSec = Math.floor(s.startTs / 1000)
  return out
}

/** Index in GENRES of the genre with the most weight (the first on ties), or −1 when no genre is known. */
export function dominantGenre(s: Session): number {
  let best = -1
  for (let g = 0; g < GENRES.length; g++) if (s.genreWeights[g]! > (best < 0 ? 0 : s.genreWeights[best]!)) best = g
  return best
}

export function emptyObservation(): Observation {
  return { hour: 0, weekday: 0, device: 0, genre: 0, logMinutes: 0, startSec: 0 }
}

/** Bytes one observation takes in the history (hour f32, minutes f32, weekday, device, genre, spare, start u32 s). */
export const ROW_BYTES = 16
/** Rows of snapshot formats 2 and 3: the same without the start time. */
export const LEGACY_ROW_BYTES = 12
const MAX_START_SEC = 0xffff_ffff

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
    this.view.setUint32(at + 12, Math.min(Math.max(0, o.startSec), MAX_START_SEC), true)
    this.total++
  }

  /**
   * Keeps only the observations `keep` accepts (oldest first, as get() numbers them) and returns how many went.
   * The ring then holds the kept ones oldest first, as if only they had been pushed.
   */
  retain(keep: (o: Observation, i: number) => boolean): number {
    const n = this.length
    const o = emptyObservation()
    const kept = new ObservationRing(this.capacity)
    for (let i = 0; i < n; i++) if (keep(this.get(i, o), i)) kept.push(o)
    this.bytes.fill(0) // what goes is zeroed, not left behind in the buffer
    this.bytes.set(kept.bytes)
    this.total = kept.total
    return n - kept.total
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
    out.startSec = this.view.getUint32(at + 12, true)
    return out
  }

  /** Raw rows in ring order (for snapshots). */
  toBytes(): Uint8Array {
    return this.bytes.slice(0, this.length * ROW_BYTES)
  }

  /**
   * A ring from toBytes() output. Rows of the legacy 12-byte format carry no start time: they get
   * `legacyStartSec` (the caller's best estimate), so retention can still purge them.
   */
  static fromBytes(capacity: number, total: number, bytes: Uint8Array, rowBytes = ROW_BYTES, legacyStartSec = 0): ObservationRing {
    const r = new ObservationRing(capacity)
    if (rowBytes === ROW_BYTES) {
      r.bytes.set(bytes.subarray(0, Math.min(bytes.length, capacity * ROW_BYTES)))
    } else {
      const rows = Math.min(Math.floor(bytes.length / rowBytes), capacity)
      for (let i = 0; i < rows; i++) {
        r.bytes.set(bytes.subarray(i * rowBytes, i * rowBytes + LEGACY_ROW_BYTES), i * ROW_BYTES)
        r.view.setUint32(i * ROW_BYTES + 12, Math.min(Math.max(0, legacyStartSec), MAX_START_SEC), true)
      }
    }
    r.total = total
    return r
  }
}
