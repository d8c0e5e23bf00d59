// Journeys with their touch times: what a path table drops. Time decay by real time needs them (a touch's
// weight halves every half-life of age before the conversion); the engine's report builds its path table
// from them too (docs/attribution.md, "Time decay by real time").
import { CHANNELS } from '../model/events.js'
import { AttributionError } from './errors.js'
import type { JourneyPath, JourneyRecord } from './ledger.js'
import { PathTable, PathTableBuilder } from './path-table.js'
import { toAttribution, type Attribution } from './result.js'

/** Default half-life of time decay by real time, days (the convention of web analytics tools: 7 days). */
export const DEFAULT_DECAY_HALF_LIFE_DAYS = 7
export const DAY_MS = 86_400_000

/** Completed journeys, flat: touches (CHANNELS indices and times) and how each journey ended. */
export class TimedJourneys {
  private readonly channels: number[] = []
  private readonly times: number[] = []
  private readonly offsets: number[] = [0]
  private readonly conversions: number[] = []
  private readonly value: number[] = []
  private readonly nulls: number[] = []
  private readonly ends: number[] = []

  /** Journeys held. */
  get size(): number {
    return this.ends.length
  }

  add(r: JourneyRecord): void {
    for (const t of r.touches) {
      this.channels.push(t.channel)
      this.times.push(t.ts)
    }
    this.end(r)
  }

  addPath(p: JourneyPath): void {
    for (let i = 0; i < p.channels.length; i++) {
      this.channels.push(p.channels[i]!)
      this.times.push(p.times[i]!)
    }
    this.end(p)
  }

  private end(r: { conversions: number, value: number, nulls: number, endTs: number }): void {
    this.offsets.push(this.channels.length)
    this.conversions.push(r.conversions)
    this.value.push(r.value)
    this.nulls.push(r.nulls)
    this.ends.push(r.endTs)
  }

  /** The path table of these journeys; channels numbered as in `order` (then by first appearance). */
  table(order: readonly string[] = []): PathTable {
    const b = new PathTableBuilder()
    for (const name of order) b.channelId(name)
    const ids: number[] = []
    for (let j = 0; j < this.ends.length; j++) {
      ids.length = 0
      for (let i = this.offsets[j]!; i < this.offsets[j + 1]!; i++) ids.push(b.channelId(CHANNELS[this.channels[i]!]!))
      b.addIds(ids, 0, ids.length, this.conversions[j]!, this.value[j]!, this.nulls[j]!)
    }
    return b.build()
  }

  /**
   * Time decay by real time: a converting journey's conversions and value are split over its touches with
   * weights 2^(−age / halfLife), age = conversion time − touch time; credit per channel in `table`'s order
   * (the table of these journeys, for the channel names).
   */
  decay(halfLifeMs: number, table: PathTable): Attribution {
    if (!(halfLifeMs > 0 && halfLifeMs < Infinity)) throw new AttributionError('BAD_OPTION', `the half-life must be a positive duration, got ${halfLifeMs} ms`)
    const index = new Map(table.channels.map((name, c) => [name, c]))
    const byIndex = CHANNELS.map((name) => index.get(name) ?? -1)
    const conv = new Float64Array(table.channels.length)
    const val = new Float64Array(table.channels.length)
    const w: number[] = []
    for (let j = 0; j < this.ends.length; j++) {
      const c = this.conversions[j]!
      const v = this.value[j]!
      if (c === 0 && v === 0) continue
      const from = this.offsets[j]!
      const to = this.offsets[j + 1]!
      if (to === from) continue
      // weights relative to the newest touch, so that old journeys do not underflow
      let newest = -Infinity
      for (let i = from; i < to; i++) newest = Math.max(newest, this.times[i]!)
      w.length = 0
      let sum = 0
      for (let i = from; i < to; i++) {
        const x = 2 ** (-(newest - this.times[i]!) / halfLifeMs)
        w.push(x)
        sum += x
      }
      for (let i = from; i < to; i++) {
        const k = byIndex[this.channels[i]!]!
        if (k < 0) throw new AttributionError('BAD_OPTION', `channel ${CHANNELS[this.channels[i]!]} is not in the table`)
        const share = w[i - from]! / sum
        conv[k] = conv[k]! + c * share
        val[k] = val[k]! + v * share
      }
    }
    return toAttribution('decay', table, conv, val)
  }
}
