// Journeys from events: touches and conversions grouped per account, per person as the household model sees
// them, and per true person (simulator `truth`), each aggregated into a PathTable (docs/attribution.md,
// "Journeys from events").
import type { IdrEvent } from '../model/events.js'
import { PLAYBACK_KINDS } from '../model/events.js'
import type { HouseholdOptions, PersonProbability } from '../model/household.js'
import { PersonAssigner, type AssignSource } from './assign.js'
import { AttributionError } from './errors.js'
import { PathTable, PathTableBuilder } from './path-table.js'

/** Lookback window: touches at most this long before a conversion are on its path, ms (30 days). */
export const DEFAULT_LOOKBACK_MS = 30 * 86_400_000

/** Whose journeys: the account's, the persons' as the model assigns them, or the true persons' (oracle). */
export type JourneyLevel = 'account' | 'person' | 'oracle'
export const JOURNEY_LEVELS: readonly JourneyLevel[] = ['account', 'person', 'oracle']

export interface JourneyOptions {
  /** Lookback window, ms. Default DEFAULT_LOOKBACK_MS (30 days). */
  lookbackMs?: number
  /** Levels to build. Default all three ('oracle' is skipped for accounts whose events carry no truth). */
  levels?: readonly JourneyLevel[]
  /**
   * How a model-assigned conversion is split over persons: 'soft' (default) by the model's probabilities,
   * 'hard' all to the most probable person, 'both' keeps both tables (`table('person', split)`). Touches always
   * go to their most probable person.
   */
  split?: PersonSplit | 'both'
  /** Options of the household model run for the person level. */
  household?: HouseholdOptions
}

/** How a conversion's credit goes to persons: by probability or all to the most probable one. */
export type PersonSplit = 'soft' | 'hard'

/** Counts of what the builder saw and did. */
export interface JourneyStats {
  touches: number
  conversions: number
  /** Per level: conversions with no touch in the window of anyone they were credited to (not in the table; person: the soft split's, or the hard one's when only it is built). */
  unattributed: Record<JourneyLevel, number>
  /** Where the person level's assignments came from. */
  sources: Record<AssignSource, number>
}

interface Pending {
  readonly ts: number
  readonly channel: number
}

/**
 * Open journeys of one key (an account, a person): pending touches in time order, emitted into a builder as a
 * converting path when a conversion ends them or as a null path once no conversion can end them any more.
 */
class Track {
  private readonly pending = new Map<string, Pending[]>()
  private readonly ids: number[] = []

  constructor(readonly builder: PathTableBuilder, private readonly lookbackMs: number) {}

  /** Adds a touch; if every pending touch of the key is already past the window, they first become a null path. */
  touch(key: string, ts: number, channel: number): void {
    let list = this.pending.get(key)
    if (!list) this.pending.set(key, (list = []))
    else if (list.length > 0 && list[list.length - 1]!.ts < ts - this.lookbackMs) this.emitNull(list, list.length)
    list.push({ ts, channel })
  }

  /** Whether the key has a touch within the window before ts. */
  hasPath(key: string, ts: number): boolean {
    const list = this.pending.get(key)
    return list !== undefined && list.length > 0 && list[list.length - 1]!.ts >= ts - this.lookbackMs
  }

  /**
   * Ends the key's journey with `weight` conversions worth `value`: touches older than the window become a null
   * path, the rest the converting path.
   */
  convert(key: string, ts: number, weight: number, value: number): void {
    const list = this.pending.get(key)
    if (!list) return
    let cut = 0
    while (cut < list.length && list[cut]!.ts < ts - this.lookbackMs) cut++
    if (cut > 0) this.emitNull(list, cut)
    if (list.length === 0) return
    this.ids.length = 0
    for (const p of list) this.ids.push(p.channel)
    this.builder.addIds(this.ids, 0, this.ids.length, weight, weight * value, 0)
    list.length = 0
  }

  /** Every pending touch becomes a null path (end of input: censored journeys count as not converting). */
  flush(): void {
    for (const list of this.pending.values()) if (list.length > 0) this.emitNull(list, list.length)
  }

  private emitNull(list: Pending[], n: number): void {
    this.ids.length = 0
    for (let i = 0; i < n; i++) this.ids.push(list[i]!.channel)
    this.builder.addIds(this.ids, 0, n, 0, 0, 1)
    list.splice(0, n)
  }
}

interface AccountState {
  readonly account: Track
  readonly person: Track
  readonly personHard: Track
  readonly oracle: Track
  assigner: PersonAssigner | undefined
}

/**
 * Builds account-, person- and oracle-level path tables from a stream of events in event-time order (per
 * account). Journey rules:
 * - a conversion at t ends the journey of its key: the key's touches in [t − lookback, t] form the converting
 *   path; older pending touches form a null path; a conversion with no touch in the window is not attributed;
 * - pending touches become a null path when a later touch of the key comes more than the lookback after the
 *   newest of them, and at the end of input;
 * - person level: a touch goes to the person the model finds most probable on its device at its time; a
 *   conversion is split by those probabilities ('soft') over the persons with a touch in the window,
 *   renormalised, each share ending that person's journey;
 * - oracle level: the event's `truth` person.
 */
export class JourneyBuilder {
  readonly stats: JourneyStats = { touches: 0, conversions: 0, unattributed: { account: 0, person: 0, oracle: 0 }, sources: { session: 0, 'device-time': 0, cold: 0 } }
  private readonly lookbackMs: number
  private readonly levels: ReadonlySet<JourneyLevel>
  private readonly splits: ReadonlySet<PersonSplit>
  private readonly household: HouseholdOptions
  private readonly builders: Record<JourneyLevel, PathTableBuilder> = { account: new PathTableBuilder(), person: new PathTableBuilder(), oracle: new PathTableBuilder() }
  private readonly hardBuilder = new PathTableBuilder()
  private readonly accounts = new Map<string, AccountState>()
  private oracleMissing = false
  private flushed = false

  constructor(options: JourneyOptions = {}) {
    const lookback = options.lookbackMs ?? DEFAULT_LOOKBACK_MS
    if (!(Number.isInteger(lookback) && lookback > 0)) throw new AttributionError('BAD_OPTION', `lookbackMs must be a positive integer (ms), got ${String(lookback)}`)
    this.lookbackMs = lookback
    const levels = options.levels ?? JOURNEY_LEVELS
    for (const l of levels) if (!JOURNEY_LEVELS.includes(l)) throw new AttributionError('BAD_OPTION', `journey level must be one of ${JOURNEY_LEVELS.join(', ')}, got "${String(l)}"`)
    this.levels = new Set(levels)
    const split = options.split ?? 'soft'
    if (split !== 'soft' && split !== 'hard' && split !== 'both') throw new AttributionError('BAD_OPTION', `split must be soft, hard or both, got "${String(split)}"`)
    this.splits = new Set<PersonSplit>(split === 'both' ? ['soft', 'hard'] : [split])
    this.household = options.household ?? {}
  }

  private state(account: string): AccountState {
    let s = this.accounts.get(account)
    if (!s) {
      s = {
        account: new Track(this.builders.account, this.lookbackMs),
        person: new Track(this.builders.person, this.lookbackMs),
        personHard: new Track(this.hardBuilder, this.lookbackMs),
        oracle: new Track(this.builders.oracle, this.lookbackMs),
        assigner: this.levels.has('person') ? new PersonAssigner(account, this.household) : undefined,
      }
      this.accounts.set(account, s)
    }
    return s
  }

  /** Applies one validated event. */
  push(e: IdrEvent): void {
    if (this.flushed) throw new AttributionError('NOT_SUPPORTED', 'the journey builder was flushed; start a new one')
    const s = this.state(e.account)
    if (PLAYBACK_KINDS.includes(e.kind)) {
      s.assigner?.push(e)
      return
    }
    if (e.kind === 'touch') this.touch(s, e)
    else if (e.kind === 'convert') this.convert(s, e)
  }

  private touch(s: AccountState, e: IdrEvent): void {
    this.stats.touches++
    const name = e.channel ?? 'other'
    if (this.levels.has('account')) s.account.touch('', e.ts, this.builders.account.channelId(name))
    if (s.assigner) {
      const person = this.personsAt(s.assigner, e)[0]!.person
      if (this.splits.has('soft')) s.person.touch(person, e.ts, this.builders.person.channelId(name))
      if (this.splits.has('hard')) s.personHard.touch(person, e.ts, this.hardBuilder.channelId(name))
    }
    if (this.levels.has('oracle')) {
      if (e.truth === undefined) this.oracleMissing = true
      else s.oracle.touch(e.truth, e.ts, this.builders.oracle.channelId(name))
    }
  }

  private convert(s: AccountState, e: IdrEvent): void {
    this.stats.conversions++
    const value = e.value ?? 0
    if (this.levels.has('account')) {
      if (!s.account.hasPath('', e.ts)) this.stats.unattributed.account++
      s.account.convert('', e.ts, 1, value)
    }
    if (s.assigner) {
      const ps = this.personsAt(s.assigner, e)
      if (this.splits.has('soft')) this.split(s.person, ps, e.ts, value, true)
      if (this.splits.has('hard')) this.split(s.personHard, [{ person: ps[0]!.person, p: 1 }], e.ts, value, !this.splits.has('soft'))
    }
    if (this.levels.has('oracle') && e.truth !== undefined) {
      if (!s.oracle.hasPath(e.truth, e.ts)) this.stats.unattributed.oracle++
      s.oracle.convert(e.truth, e.ts, 1, value)
    } else if (this.levels.has('oracle')) this.oracleMissing = true
  }

  /** Credits a conversion to the persons of `shares` who have a touch in the window, renormalised. */
  private split(track: Track, shares: readonly PersonProbability[], ts: number, value: number, count: boolean): void {
    const withPath = shares.filter((q) => q.p > 0 && track.hasPath(q.person, ts))
    const total = withPath.reduce((a, q) => a + q.p, 0)
    if (withPath.length === 0 && count) this.stats.unattributed.person++
    for (const q of withPath) track.convert(q.person, ts, q.p / total, value)
  }

  private personsAt(a: PersonAssigner, e: IdrEvent): readonly PersonProbability[] {
    return a.personsAt(e.device, e.ts)
  }

  /** Ends the input: closes the model's sessions and turns every pending touch into a null path. */
  flush(): void {
    if (this.flushed) return
    this.flushed = true
    for (const s of this.accounts.values()) {
      s.account.flush()
      s.person.flush()
      s.personHard.flush()
      s.oracle.flush()
      s.assigner?.flush()
    }
    const src = this.stats.sources
    for (const s of this.accounts.values()) {
      if (!s.assigner) continue
      for (const k of Object.keys(src) as AssignSource[]) src[k] += s.assigner.sources[k]
    }
  }

  /**
   * The path table of a level (flushes first); null for a level or split not built, and for 'oracle' when some
   * marketing event had no truth. `split` picks the person level's table (default: soft if built, else hard).
   */
  table(level: JourneyLevel, split?: PersonSplit): PathTable | null {
    this.flush()
    if (!this.levels.has(level) || (level === 'oracle' && this.oracleMissing)) return null
    if (level !== 'person') return this.builders[level].build()
    const which = split ?? (this.splits.has('soft') ? 'soft' : 'hard')
    if (!this.splits.has(which)) return null
    return which === 'soft' ? this.builders.person.build() : this.hardBuilder.build()
  }
}

/** Journeys of every level from an event stream (event-time order per account); `personHard` with split 'both'. */
export function buildJourneys(events: Iterable<IdrEvent>, options: JourneyOptions = {}): { tables: Record<JourneyLevel, PathTable | null> & { personHard: PathTable | null }, stats: JourneyStats } {
  const b = new JourneyBuilder(options)
  for (const e of events) b.push(e)
  const both = options.split === 'both'
  return { tables: { account: b.table('account'), person: b.table('person'), oracle: b.table('oracle'), personHard: both ? b.table('person', 'hard') : null }, stats: b.stats }
}
