// The path table: distinct channel sequences with their conversions, conversion value and null (non-converting)
// journeys — the aggregate every model reads, and the shape of ChannelAttribution's input. Channels are interned
// to small integers; touches are stored flat (`touches[offsets[i] .. offsets[i+1])` is row i's path).
import { AttributionError } from './errors.js'

/** The most channels a table can intern (touches are stored as 16-bit ids). */
export const MAX_CHANNELS = 65_535
/** Largest count, value or table total accepted: beyond it sums lose integers, and no model can overflow below it. */
export const MAX_SAFE_TOTAL = Number.MAX_SAFE_INTEGER

/** One journey (or many identical ones): ordered channel touches and how it ended. */
export interface Journey {
  /** Channel names in touch order. */
  readonly path: readonly string[]
  /** Conversions at the end of the journey (may be fractional when credit was split by probability). */
  readonly conversions: number
  /** Total conversion value (currency units). */
  readonly value?: number
  /** Journeys with this path that ended without a conversion. */
  readonly nulls?: number
}

/** Distinct paths with their totals; immutable once built (use `PathTableBuilder`). */
export class PathTable {
  /** Channel name of each interned id. */
  readonly channels: readonly string[]
  /** Row i's touches are touches[offsets[i]] .. touches[offsets[i + 1] - 1]. */
  readonly offsets: Int32Array
  readonly touches: Uint16Array
  readonly conversions: Float64Array
  readonly value: Float64Array
  readonly nulls: Float64Array

  /** Refuses counts that are negative or not finite (BAD_VALUE), and counts or totals above MAX_SAFE_TOTAL (OVERFLOW). */
  constructor(channels: readonly string[], offsets: Int32Array, touches: Uint16Array, conversions: Float64Array, value: Float64Array, nulls: Float64Array) {
    const totals = [0, 0, 0]
    for (let i = 0; i < conversions.length; i++) checkCounts(conversions[i]!, value[i]!, nulls[i]!, totals, `row ${i + 1}`)
    this.channels = channels
    this.offsets = offsets
    this.touches = touches
    this.conversions = conversions
    this.value = value
    this.nulls = nulls
  }

  /** Number of distinct paths. */
  get rows(): number {
    return this.conversions.length
  }

  /** Channel ids of row i (a view, not a copy). */
  path(i: number): Uint16Array {
    return this.touches.subarray(this.offsets[i]!, this.offsets[i + 1]!)
  }

  /** Channel names of row i. */
  pathNames(i: number): string[] {
    return Array.from(this.path(i), (c) => this.channels[c]!)
  }

  totalConversions(): number {
    return sum(this.conversions)
  }

  totalValue(): number {
    return sum(this.value)
  }

  totalNulls(): number {
    return sum(this.nulls)
  }

  /** The rows as journeys (for tests, serialisation and small tables). */
  *journeys(): IterableIterator<Required<Journey>> {
    for (let i = 0; i < this.rows; i++) {
      yield { path: this.pathNames(i), conversions: this.conversions[i]!, value: this.value[i]!, nulls: this.nulls[i]! }
    }
  }

  /** Builds a table from journeys; identical paths are merged. */
  static from(journeys: Iterable<Journey>): PathTable {
    const b = new PathTableBuilder()
    for (const j of journeys) b.add(j)
    return b.build()
  }
}

const TOTAL_NAMES = ['conversions', 'value', 'nulls'] as const

/**
 * The one rule for journey counts, used by the builder and the table: each of conversions, value and nulls
 * finite and ≥ 0 (else BAD_VALUE), at most MAX_SAFE_TOTAL, and so are their running totals (else OVERFLOW).
 * Below that bound every model's sums stay finite: a chain's edge weights are at most total × touches.
 */
function checkCounts(conversions: number, value: number, nulls: number, totals: number[], where: string): void {
  if (!(conversions >= 0 && conversions < Infinity) || !(value >= 0 && value < Infinity) || !(nulls >= 0 && nulls < Infinity)) {
    throw new AttributionError('BAD_VALUE', `${where}: journey counts must be finite and non-negative, got conversions ${conversions}, value ${value}, nulls ${nulls}`)
  }
  const counts = [conversions, value, nulls]
  for (let k = 0; k < 3; k++) {
    if (counts[k]! > MAX_SAFE_TOTAL) throw new AttributionError('OVERFLOW', `${where}: ${TOTAL_NAMES[k]} ${counts[k]} is above ${MAX_SAFE_TOTAL}, the largest count or value summed exactly`)
    const t = (totals[k] = totals[k]! + counts[k]!)
    if (t > MAX_SAFE_TOTAL) throw new AttributionError('OVERFLOW', `${where}: the ${TOTAL_NAMES[k]} total passes ${MAX_SAFE_TOTAL} here, too large to sum exactly`)
  }
}

function sum(a: Float64Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]!
  return s
}

/** Accumulates journeys into a `PathTable`, merging identical paths and interning channel names. */
export class PathTableBuilder {
  private readonly ids = new Map<string, number>()
  private readonly names: string[] = []
  /** Row index per slot, −1 when free; kept at most half full. */
  private slots = new Int32Array(1024).fill(-1)
  /** Each row's path hash. */
  private hashes: number[] = []
  private touches = new Uint16Array(1024)
  private touchCount = 0
  private offsets: number[] = [0]
  private conv: number[] = []
  private val: number[] = []
  private nul: number[] = []
  private scratch = new Uint16Array(64)
  /** Running totals of conversions, value and nulls, and journeys added, for the OVERFLOW rule. */
  private readonly totals = [0, 0, 0]
  private journeys = 0

  /** The id of a channel name, interning it on first sight. */
  channelId(name: string): number {
    let id = this.ids.get(name)
    if (id === undefined) {
      if (this.names.length >= MAX_CHANNELS) throw new AttributionError('TOO_MANY_CHANNELS', `a path table holds at most ${MAX_CHANNELS} channels`)
      id = this.names.length
      this.ids.set(name, id)
      this.names.push(name)
    }
    return id
  }

  /** Adds a journey given by channel names. */
  add(j: Journey): this {
    if (this.scratch.length < j.path.length) this.scratch = new Uint16Array(j.path.length * 2)
    for (let t = 0; t < j.path.length; t++) this.scratch[t] = this.channelId(j.path[t]!)
    return this.addIds(this.scratch, 0, j.path.length, j.conversions, j.value ?? 0, j.nulls ?? 0)
  }

  /**
   * Adds a journey given by interned ids ids[start .. end) (ids from `channelId`), the fast path for bulk
   * aggregation. Counts must be finite and non-negative (BAD_VALUE), they and their totals at most
   * MAX_SAFE_TOTAL (OVERFLOW); a path without touches may carry nulls only.
   */
  addIds(ids: ArrayLike<number>, start: number, end: number, conversions: number, value: number, nulls: number): this {
    checkCounts(conversions, value, nulls, this.totals, `journey ${this.journeys + 1}`)
    this.journeys++
    if (end === start && (conversions > 0 || value > 0)) {
      throw new AttributionError('BAD_PATH_TABLE', 'a journey without touches cannot carry conversions or value')
    }
    // open addressing over a power-of-two slot table: a 32-bit FNV-1a hash of the path, rows compared on a hit
    const n = end - start
    let h = 0x811c9dc5 ^ n
    for (let t = start; t < end; t++) {
      const x = ids[t]!
      if (!(x >= 0 && x < this.names.length)) throw new AttributionError('BAD_PATH_TABLE', `channel id ${x} was not interned (${this.names.length} channels known)`)
      h = Math.imul(h ^ x, 0x01000193)
    }
    h ^= h >>> 16
    const mask = this.slots.length - 1
    let slot = h & mask
    let row = -1
    for (let r = this.slots[slot]!; r >= 0; slot = (slot + 1) & mask, r = this.slots[slot]!) {
      if (this.hashes[r] === h && this.samePath(r, ids, start, end)) { row = r; break }
    }
    if (row < 0) {
      row = this.conv.length
      this.slots[slot] = row
      this.hashes.push(h)
      if (this.touchCount + n > this.touches.length) {
        const grown = new Uint16Array(Math.max(this.touches.length * 2, this.touchCount + n))
        grown.set(this.touches.subarray(0, this.touchCount))
        this.touches = grown
      }
      for (let t = start; t < end; t++) this.touches[this.touchCount++] = ids[t]!
      this.offsets.push(this.touchCount)
      this.conv.push(conversions)
      this.val.push(value)
      this.nul.push(nulls)
      if (2 * this.conv.length > this.slots.length) this.rehash()
    } else {
      this.conv[row]! += conversions
      this.val[row]! += value
      this.nul[row]! += nulls
    }
    return this
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(-1)
    const mask = slots.length - 1
    for (let r = 0; r < this.hashes.length; r++) {
      let slot = this.hashes[r]! & mask
      while (slots[slot]! >= 0) slot = (slot + 1) & mask
      slots[slot] = r
    }
    this.slots = slots
  }

  private samePath(row: number, ids: ArrayLike<number>, start: number, end: number): boolean {
    const from = this.offsets[row]!
    if (this.offsets[row + 1]! - from !== end - start) return false
    for (let t = start; t < end; t++) if (this.touches[from + t - start] !== ids[t]) return false
    return true
  }

  build(): PathTable {
    return new PathTable(
      [...this.names], Int32Array.from(this.offsets), this.touches.slice(0, this.touchCount),
      Float64Array.from(this.conv), Float64Array.from(this.val), Float64Array.from(this.nul),
    )
  }
}

/**
 * The table with consecutive repeats collapsed (A > A > B becomes A > B); rows that become identical are
 * merged. Channel ids are kept.
 */
export function dedupRepeats(table: PathTable): PathTable {
  const b = new PathTableBuilder()
  for (const name of table.channels) b.channelId(name)
  const buf = new Uint16Array(Math.max(1, table.touches.length))
  for (let i = 0; i < table.rows; i++) {
    const p = table.path(i)
    let n = 0
    for (let t = 0; t < p.length; t++) if (n === 0 || buf[n - 1] !== p[t]) buf[n++] = p[t]!
    b.addIds(buf, 0, n, table.conversions[i]!, table.value[i]!, table.nulls[i]!)
  }
  return b.build()
}
