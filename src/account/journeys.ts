// Journeys from events, offline: touches and conversions grouped per account, per person as the household
// model sees them, and per true person (simulator `truth`), each aggregated into a PathTable
// (docs/attribution.md, "Journeys from events"). The account and person levels are the engine's own journeys:
// each account runs an Account whose ledger (attribution/ledger.ts) the engine keeps live; nothing here differs.
import { CHANNELS, PLAYBACK_KINDS, type IdrEvent } from '../model/events.js'
import { UNKNOWN_PERSON } from '../model/household.js'
import { AttributionError } from '../attribution/errors.js'
import { DEFAULT_LOOKBACK_MS, JourneyLedger, Tracks, channelIndex, type JourneyRecord } from '../attribution/ledger.js'
import { PathTable, PathTableBuilder } from '../attribution/path-table.js'
import { TimedJourneys } from '../attribution/timed.js'
import { Account, type AccountOptions, type AssignSource } from './account.js'

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
  household?: AccountOptions
  /** Also keep the account and person journeys with their touch times (`JourneyBuilder.timed`: time decay by real time). */
  timed?: boolean
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

interface AccountState {
  /** The account's model and ledger (person level), or a ledger alone (account level only). */
  readonly model: Account | undefined
  readonly ledger: JourneyLedger
  readonly personHard: Tracks
  readonly oracle: Tracks
}

/**
 * Builds account-, person- and oracle-level path tables from a stream of events in event-time order (per
 * account). Journey rules (./ledger.ts):
 * - a conversion at t ends the journey of its key: the key's touches in [t − lookback, t] form the converting
 *   path; older pending touches form a null path; a conversion with no touch in the window is not attributed;
 * - pending touches become a null path once the key's newest touch is more than the lookback old, and at the
 *   end of input;
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
  private readonly household: AccountOptions
  private readonly builders: Record<JourneyLevel, PathTableBuilder> = { account: new PathTableBuilder(), person: new PathTableBuilder(), oracle: new PathTableBuilder() }
  private readonly hardBuilder = new PathTableBuilder()
  /** With the timed option: each table's journeys with their touch times (time decay by real time). */
  readonly timed: Record<JourneyLevel | 'personHard', TimedJourneys> | undefined
  private readonly accounts = new Map<string, AccountState>()
  private oracleMissing = false
  private flushed = false
  private hardUnattributed = 0

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
    this.timed = options.timed ? { account: new TimedJourneys(), person: new TimedJourneys(), oracle: new TimedJourneys(), personHard: new TimedJourneys() } : undefined
  }

  private state(account: string): AccountState {
    let s = this.accounts.get(account)
    if (!s) {
      const journeys = { lookbackMs: this.lookbackMs, maxPathTouches: Number.MAX_SAFE_INTEGER }
      const model = this.levels.has('person') ? new Account(account, { ...this.household, refits: 'inline', journeys }) : undefined
      const hard = (r: JourneyRecord): void => { this.add(this.hardBuilder, r, this.timed?.personHard) }
      const oracle = (r: JourneyRecord): void => { this.add(this.builders.oracle, r, this.timed?.oracle) }
      s = {
        model,
        ledger: model?.journeys ?? new JourneyLedger(journeys),
        personHard: new Tracks('person', this.lookbackMs, Number.MAX_SAFE_INTEGER, hard, () => {}),
        oracle: new Tracks('person', this.lookbackMs, Number.MAX_SAFE_INTEGER, oracle, () => {}),
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
      s.model?.push(e)
      this.drain(s)
      return
    }
    if (e.kind !== 'touch' && e.kind !== 'convert') return
    if (e.kind === 'touch') {
      this.stats.touches++
      // channels are numbered in order of first appearance in the input, as a path table read from a file
      for (const b of [this.builders.account, this.builders.person, this.builders.oracle, this.hardBuilder]) b.channelId(e.channel ?? 'other')
    } else {
      this.stats.conversions++
    }
    if (this.splits.has('hard') && s.model) this.hard(s, s.model, e)
    if (s.model) s.model.push(e)
    else if (e.kind === 'touch') s.ledger.touch(e, UNKNOWN_PERSON)
    else s.ledger.convert(e, [{ person: UNKNOWN_PERSON, p: 1 }])
    this.drain(s)
    if (this.levels.has('oracle')) this.oracle(s, e)
  }

  /** The hard split's track: touches as the soft one, each conversion whole to the most probable person. */
  private hard(s: AccountState, model: Account, e: IdrEvent): void {
    const top = model.personsAt(e.device, e.ts, false)[0]!.person
    s.personHard.expire(e.ts)
    if (e.kind === 'touch') {
      s.personHard.touch(top, { ts: e.ts, channel: channelIndex(e.channel ?? 'other'), device: e.device, person: top })
      return
    }
    if (!s.personHard.hasPath(top, e.ts)) this.hardUnattributed++
    s.personHard.convert(top, e.ts, 1, e.value ?? 0, e.device)
  }

  private oracle(s: AccountState, e: IdrEvent): void {
    if (e.truth === undefined) {
      this.oracleMissing = true
      return
    }
    s.oracle.expire(e.ts)
    if (e.kind === 'touch') {
      s.oracle.touch(e.truth, { ts: e.ts, channel: channelIndex(e.channel ?? 'other'), device: e.device, person: e.truth })
      return
    }
    if (!s.oracle.hasPath(e.truth, e.ts)) this.stats.unattributed.oracle++
    s.oracle.convert(e.truth, e.ts, 1, e.value ?? 0, e.device)
  }

  /** Moves the ledger's completed journeys into the level tables. */
  private drain(s: AccountState): void {
    for (const r of s.ledger.take()) {
      if (r.level === 'account') {
        if (this.levels.has('account')) this.add(this.builders.account, r, this.timed?.account)
      } else if (this.splits.has('soft')) {
        this.add(this.builders.person, r, this.timed?.person)
      }
    }
  }

  private readonly ids: number[] = []

  private add(b: PathTableBuilder, r: JourneyRecord, timed: TimedJourneys | undefined): void {
    timed?.add(r)
    const ids = this.ids
    ids.length = 0
    for (const t of r.touches) ids.push(b.channelId(CHANNELS[t.channel]!))
    b.addIds(ids, 0, ids.length, r.conversions, r.value, r.nulls)
  }

  /** Ends the input: closes the model's sessions and turns every pending touch into a null path. */
  flush(): void {
    if (this.flushed) return
    this.flushed = true
    for (const s of this.accounts.values()) {
      s.ledger.flush()
      s.personHard.flush()
      s.oracle.flush()
      this.drain(s)
      s.model?.flush()
    }
    const src = this.stats.sources
    for (const s of this.accounts.values()) {
      if (!s.model) continue
      for (const k of Object.keys(src) as AssignSource[]) src[k] += s.model.sources[k]
    }
    let account = 0
    let person = 0
    for (const s of this.accounts.values()) {
      account += s.ledger.stats.unattributed.account
      person += s.ledger.stats.unattributed.person
    }
    this.stats.unattributed.account = this.levels.has('account') ? account : 0
    this.stats.unattributed.person = !this.levels.has('person') ? 0 : this.splits.has('soft') ? person : this.hardUnattributed
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
