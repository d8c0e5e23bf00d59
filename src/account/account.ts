// One account's state as its actor holds it: the household model and the marketing journey ledger, composed
// here so that neither knows the other. Playback events go to the household; touches and conversions to the
// ledger, with the persons the household sees on the event's device at its time. Deterministic, no I/O.
import { JourneyLedger, type LedgerOptions, type LedgerState } from '../attribution/ledger.js'
import { IdrError } from '../errors.js'
import type { Kernels } from '../kernels/backend.js'
import { checkOptionNames } from '../options/check.js'
import { PLAYBACK_KINDS, type IdrEvent } from '../model/events.js'
import { Household, UNKNOWN_PERSON, topIdentified, type HouseholdOptions, type HouseholdOutput, type PersonProbability, type Removal } from '../model/household.js'
import { decodeSnapshot, encodeSnapshot } from '../model/household-snapshot.js'
import type { RefitResult } from '../model/refit.js'
import type { Session } from '../model/sessionizer.js'
import type { Snapshot } from '../ports/store.js'

export interface AccountOptions extends HouseholdOptions {
  /**
   * Marketing journeys (touch and convert events) kept per account and per person (docs/attribution.md):
   * options of the ledger, or false to reject those events as not playback. Default {} (kept, 30-day lookback).
   */
  journeys?: LedgerOptions | false
}

/** Where person probabilities for a moment on a device came from (docs/attribution.md). */
export type AssignSource = 'session' | 'device-time' | 'cold'

/** What an erasure or a retention purge took out of an account: the household's part and the journeys'. */
export interface AccountRemoval extends Removal {
  /** Pending journey touches and not yet stored journeys removed (stored journeys are the store's to delete). */
  readonly journeys: number
}

/** Everything to the pseudo-person of cold start: nobody is identified yet. */
const COLD: readonly PersonProbability[] = Object.freeze([{ person: UNKNOWN_PERSON, p: 1 }])

type Shares = readonly (readonly [string, number])[]

/** The fields an account adds to its household's snapshot record (format 5 has always held them there). */
interface AccountFields {
  /** Pending journey touches (absent: none, or journeys off). */
  readonly journeys?: LedgerState
  /** Per device, the last closed session's end and final probabilities (absent: none). */
  readonly lastClosed?: readonly (readonly [string, number, Shares])[]
}

const shares = (ps: readonly PersonProbability[]): Shares => ps.map((q) => [q.person, q.p] as const)
const probabilities = (s: Shares): PersonProbability[] => s.map(([person, p]) => ({ person, p }))

export class Account {
  readonly household: Household
  /** Marketing journeys (undefined when the option turns them off). */
  readonly journeys: JourneyLedger | undefined
  /** Where person probabilities of touches and conversions came from (not in snapshots). */
  readonly sources: Record<AssignSource, number> = { session: 0, 'device-time': 0, cold: 0 }
  /** Per device, the last closed session's end and final probabilities (what a touch just after it belongs to). */
  private readonly lastClosed = new Map<string, { end: number, persons: readonly PersonProbability[] }>()

  constructor(readonly account: string, options: AccountOptions = {}, kernels?: Kernels, restored?: Uint8Array) {
    const { journeys, ...household } = options
    checkOptionNames('Account', { journeys }, ['journeys'])
    if (!restored) {
      this.household = new Household(account, household, kernels)
      this.journeys = journeys === false ? undefined : new JourneyLedger(journeys)
      return
    }
    const state = decodeSnapshot<AccountFields>(account, restored)
    this.household = new Household(account, household, kernels, state)
    this.journeys = journeys === false ? undefined : JourneyLedger.fromState(state.journeys, journeys)
    for (const [device, end, ps] of state.lastClosed ?? []) this.lastClosed.set(device, { end, persons: probabilities(ps) })
  }

  /** An account restored from toSnapshot() bytes (any readable format); it continues exactly as the original would have. */
  static fromSnapshot(account: string, bytes: Uint8Array, options: AccountOptions = {}, kernels?: Kernels): Account {
    return new Account(account, options, kernels, bytes)
  }

  /** Applies one validated event of this account. */
  push(e: IdrEvent, arrivalMs?: number): HouseholdOutput {
    if (this.journeys && !PLAYBACK_KINDS.includes(e.kind)) return this.marketing(this.journeys, e, arrivalMs)
    const out = this.remember(this.household.push(e, arrivalMs))
    this.journeys?.advance(this.household.sessionizer.newestTs)
    return out
  }

  /** An event-time timer fired: the open sessions end (Household.expire). */
  expire(): HouseholdOutput {
    return this.remember(this.household.expire())
  }

  /** Closes every open session (end of input). */
  flush(): HouseholdOutput {
    return this.remember(this.household.flush())
  }

  /** Hands back a deferred refit's result (Household.completeRefit). */
  completeRefit(result: RefitResult): HouseholdOutput {
    return this.remember(this.household.completeRefit(result))
  }

  /**
   * A touch or a conversion: the sessionizer's checks (duplicate, clock ahead, late), then the journey ledger,
   * with the persons as the model sees the event's device at its time. It moves no session clock.
   */
  private marketing(ledger: JourneyLedger, e: IdrEvent, arrivalMs: number | undefined): HouseholdOutput {
    this.ready()
    const out: HouseholdOutput = { assignments: [], changes: [], rejected: [], closed: [] }
    const rejected = this.household.sessionizer.admit(e, arrivalMs)
    if (rejected?.type === 'rejected') {
      out.rejected.push({ eventId: rejected.eventId, reason: rejected.reason })
      return out
    }
    const persons = this.personsAt(e.device, e.ts)
    // a touch belongs to one person's journey: the most probable identified one (the unseen mass is not a journey)
    if (e.kind === 'touch') ledger.touch(e, topIdentified(persons) ?? persons[0]!.person)
    else if (e.kind === 'convert') ledger.convert(e, persons)
    return out
  }

  /**
   * Person probabilities for something that happened on `device` at `ts`, most probable first (no look-ahead):
   * 1. a session on the device that started by ts and whose last event (or stop) is at most the session gap
   *    before ts: its latest published probabilities (open or update; a closed one's final ones);
   * 2. no such session, the model has persons: the posterior given the time of day, weekday and device only
   *    (Household.momentPosterior);
   * 3. no persons yet (cold start): everything to the pseudo-person `unknown`.
   */
  personsAt(device: string, ts: number, count = true): readonly PersonProbability[] {
    const h = this.household
    let best = h.publishedAt(device, ts)
    if (!best) {
      const c = this.lastClosed.get(device)
      if (c && ts >= c.end && ts - c.end <= h.sessionizer.gapMs) best = c.persons
    }
    const source: AssignSource = best ? 'session' : h.persons.k === 0 ? 'cold' : 'device-time'
    if (count) this.sources[source]++
    return best ?? (source === 'cold' ? COLD : h.momentPosterior(device, ts))
  }

  /** Keeps each device's last closed session for personsAt (journeys only); entries too old to matter any more go. */
  private remember(out: HouseholdOutput): HouseholdOutput {
    if (!this.journeys || out.closed.length === 0) return out
    const s = this.household.sessionizer
    let i = 0
    for (const a of out.assignments) {
      if (a.stage !== 'close') continue
      const closed: Session = out.closed[i++]!
      this.lastClosed.set(closed.device, { end: closed.stopTs ?? closed.lastTs, persons: a.persons })
    }
    const horizon = s.newestTs - s.gapMs - s.allowedLatenessMs
    for (const [device, c] of this.lastClosed) if (c.end < horizon) this.lastClosed.delete(device)
    return out
  }

  /** Erases a person (Household.erasePerson) and their journeys. */
  erasePerson(person: string): AccountRemoval {
    const known = this.household.persons.ids.includes(person)
    const removal = this.household.erasePerson(person)
    if (!known) return { ...removal, journeys: 0 }
    const journeys = this.journeys?.erasePerson(person) ?? 0
    // the recent final probabilities name the person: they are 30 minutes of context, gone with them
    this.lastClosed.clear()
    return { ...removal, journeys }
  }

  /** Erases a device (Household.eraseDevice) and the journeys that involve it. */
  eraseDevice(device: string): AccountRemoval {
    this.ready()
    const journeys = this.journeys?.eraseDevices(new Set([device])) ?? 0
    this.lastClosed.delete(device)
    return { ...this.household.eraseDevice(device), journeys }
  }

  /** Retention (Household.purgeBefore), journeys included. */
  purgeBefore(cutoffMs: number): AccountRemoval {
    this.ready()
    const journeys = this.journeys?.purgeBefore(cutoffMs) ?? 0
    for (const [device, c] of this.lastClosed) if (c.end < cutoffMs) this.lastClosed.delete(device)
    return { ...this.household.purgeBefore(cutoffMs), journeys }
  }

  /** Nothing left: no kept or open session, no pending journey (an erased or fully purged account can be dropped). */
  get empty(): boolean {
    return this.household.empty && (this.journeys?.empty ?? true)
  }

  /** The snapshot and the journeys completed since the last one, taken out (each is stored once, with a snapshot). */
  takeSnapshot(): Snapshot {
    return { bytes: this.toSnapshot(), journeys: this.journeys?.take() ?? [] }
  }

  /** The whole state as msgpack bytes: the household's record with the account's fields after it. */
  toSnapshot(): Uint8Array {
    this.ready()
    const lastClosed = this.lastClosed.size > 0 ? [...this.lastClosed].map(([device, c]) => [device, c.end, shares(c.persons)] as const) : undefined
    return encodeSnapshot<AccountFields>(this.household.toState(), { journeys: this.journeys?.toState(), lastClosed })
  }

  private ready(): void {
    const t = this.household.awaitedRefit
    if (t) throw new IdrError('REFIT_PENDING', `household ${this.account} takes no input until refit ${t.seq} completes`)
  }
}
