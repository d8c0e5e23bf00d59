// One account's model: sessions → features → persons → calibrated assignments. Deterministic, no I/O.
// The rules (cold start, refit schedule, device priors, temperature) are described in docs/model.md.
import { IdrError } from '../errors.js'
import { defaultKernels, type Kernels } from '../kernels/backend.js'
import { checkOptionNames } from '../options/check.js'
import type { IdrEvent } from './events.js'
import { explain } from './explain.js'
import { allocEncoded, encodeObservation, mixtureOptions } from './mixture.js'
import { eStep } from './mixture-fit.js'
import * as removal from './household-removal.js'
import { SNAPSHOT_VERSION, decodeSnapshot, encodeSnapshot, upgradeState, type HouseholdState, type StoredHouseholdState } from './household-snapshot.js'
import { resultMixture, runRefit, type RefitResult, type RefitTask } from './refit.js'
import { DeviceSlots, MAX_DEVICES, ObservationRing, emptyObservation, observe } from './observation.js'
import { PersonModel, type PersonChange } from './persons.js'
import { Sessionizer, type Session, type SessionUpdate } from './sessionizer.js'
import { unseenFor, type UnseenMass } from './unseen.js'
import {
  HOUSEHOLD_OPTION_NAMES, UNIT_GROUP_WEIGHTS, UNKNOWN_PERSON, topIdentified,
  type Assignment, type HistoryRow, type HouseholdOptions, type HouseholdOutput, type PersonProbability, type Removal, type Stage,
} from './household-types.js'

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
/** Pair index of the genre and of the device in an encoded observation (two hour pairs, weekday, device, genre). */
const GENRE_PAIR = 4
const DEVICE_PAIR = 3

export class Household {
  readonly sessionizer: Sessionizer
  readonly persons: PersonModel
  private readonly o: Required<Omit<HouseholdOptions, 'sessionizer' | 'groupWeights' | 'prior' | 'unseen'>>
  /** The mass of persons not yet found (./unseen.ts); undefined when switched off. */
  private readonly unseen: UnseenMass | undefined
  private readonly devices: DeviceSlots
  /** Observations of the most recent closed sessions. */
  private readonly history: ObservationRing
  private closedSessions = 0
  private nextRefitAt: number
  /** Last published probabilities per open session, to decide what is a material change. */
  private published = new Map<string, readonly PersonProbability[]>()
  private readonly obs = emptyObservation()
  private readonly one = allocEncoded(1)
  /**
   * A refit triggered at a close and not yet applied: it is applied at the next close (before that session's
   * final assignment), so the sessions in between are assigned by the persons before it. `result` is a
   * deferred refit's result handed back early; `sent` whether its task went out in an output.
   */
  private due: { task: RefitTask, result?: RefitResult, sent: boolean } | undefined
  /** Updates held back at a close whose due (deferred) refit has not come back yet; input is refused meanwhile. */
  private held: SessionUpdate[] | undefined
  private readonly kernels: Kernels

  /** A new household, or (restored: a state of the current format) the one a snapshot holds. */
  constructor(readonly account: string, options: HouseholdOptions = {}, kernels: Kernels = defaultKernels(), restored?: HouseholdState) {
    checkOptionNames('Household', options, HOUSEHOLD_OPTION_NAMES)
    this.sessionizer = restored ? Sessionizer.fromState(account, restored.sessionizer, options.sessionizer) : new Sessionizer(account, options.sessionizer)
    this.o = {
      utcOffsetMinutes: options.utcOffsetMinutes ?? 0, kMax: options.kMax ?? 6, minSessions: options.minSessions ?? 3,
      penalty: options.penalty ?? 0.3, temperature: options.temperature ?? 2, historyMax: options.historyMax ?? 400,
      refitMinStep: options.refitMinStep ?? 5, refitGrowth: options.refitGrowth ?? 1.5,
      materialChange: options.materialChange ?? 0.1, nInit: options.nInit ?? 2, fullSearchBelow: options.fullSearchBelow ?? 30, refits: options.refits ?? 'inline',
    }
    this.unseen = options.unseen === false ? undefined : unseenFor(options.unseen)
    const g = { ...UNIT_GROUP_WEIGHTS, ...options.groupWeights }
    const mixture = mixtureOptions({
      prior: options.prior,
      weights: { time: g.time, weekday: g.time, device: g.device, genre: g.content, duration: g.behaviour },
    })
    this.kernels = kernels
    if (!restored) {
      this.persons = new PersonModel(mixture)
      this.devices = new DeviceSlots()
      this.history = new ObservationRing(this.o.historyMax)
      this.nextRefitAt = this.o.minSessions
      return
    }
    this.persons = PersonModel.fromState(mixture, restored.persons)
    this.devices = new DeviceSlots(restored.devices)
    this.history = ObservationRing.fromBytes(this.o.historyMax, restored.historyTotal, restored.history)
    this.closedSessions = restored.closedSessions
    this.nextRefitAt = restored.nextRefitAt
    this.published = new Map(restored.published.map(([id, ps]) => [id, ps.map(([person, p]) => ({ person, p }))]))
    // nothing a refit task reads changes between its trigger and the next close: it is recomputed exactly
    if (restored.refitDue) this.due = { task: this.refitTask(), sent: false }
  }

  /** Applies one validated playback event of this account (a touch or a conversion is refused as not playback). */
  push(e: IdrEvent, arrivalMs?: number): HouseholdOutput {
    this.ready()
    return this.handle(this.sessionizer.push(e, arrivalMs))
  }

  /**
   * The latest published probabilities of a session on `device` that started by ts and whose last event (or
   * stop) is at most the session gap before ts (the latest such session wins), or undefined.
   */
  publishedAt(device: string, ts: number): readonly PersonProbability[] | undefined {
    const gap = this.sessionizer.gapMs
    let best: readonly PersonProbability[] | undefined
    let bestStart = -Infinity
    for (const s of this.sessionizer.openSessions) {
      if (s.device !== device || s.startTs > ts || ts > (s.stopTs ?? s.lastTs) + gap || s.startTs < bestStart) continue
      const p = this.published.get(s.id)
      if (p) { best = p; bestStart = s.startTs }
    }
    return best
  }

  /**
   * The tempered posterior of a moment on a device, most probable first: hour, weekday and device terms only,
   * ∝ exp((ln π_j + ln p(hour, weekday, device | j)) / T). Needs persons (k > 0).
   */
  momentPosterior(device: string, ts: number): PersonProbability[] {
    const local = ts + this.o.utcOffsetMinutes * 60_000
    const o = this.obs
    o.hour = (((local % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS
    o.weekday = (((Math.floor(local / DAY_MS) + 3) % 7) + 7) % 7 // Monday = 0, as observe() counts
    const slot = this.devices.peek(device)
    o.device = slot === undefined ? 0 : Math.min(slot, MAX_DEVICES - 1)
    o.genre = 0
    encodeObservation(o, this.one, 0, false)
    this.one.w[GENRE_PAIR] = 0
    if (slot === undefined) this.one.w[DEVICE_PAIR] = 0 // a device the model has not learnt: no device term
    return this.ranked(false)
  }

  /** Advances event time without an event (to a watermark; expire() is what the runtime's timers call). */
  advance(watermarkMs: number): HouseholdOutput {
    this.ready()
    return this.handle(this.sessionizer.advance(watermarkMs))
  }

  /**
   * The account's partition has seen a session gap of event time pass since this account's last event arrived
   * (an event-time timer, src/runtime/event-time.ts): its open sessions end. Its own event time does not move,
   * so an account whose events run behind its partition's (a backfill, a device that was offline) does not
   * find its next events late; one that would have extended a closed session opens a new one.
   */
  expire(): HouseholdOutput {
    this.ready()
    return this.handle(this.sessionizer.expire())
  }

  /** Closes every open session (end of input). */
  flush(): HouseholdOutput {
    this.ready()
    return this.handle(this.sessionizer.flush())
  }

  /** The triggered refit not yet applied (its result may already be here), if any. */
  get dueRefit(): RefitTask | undefined {
    return this.due?.task
  }

  /** The refit this household is blocked on: its next close needs the result (deferred refits only). */
  get awaitedRefit(): RefitTask | undefined {
    return this.held ? this.due?.task : undefined
  }

  /**
   * Hands back a deferred refit's result. If the household is blocked on it, the refit is applied and the
   * held-back updates run; otherwise it is kept until the next close applies it.
   */
  completeRefit(result: RefitResult): HouseholdOutput {
    const d = this.due
    if (!d || d.task.seq !== result.seq || result.account !== this.account || d.result) {
      throw new IdrError('REFIT_MISMATCH', `household ${this.account} awaits ${d && !d.result ? `refit ${d.task.seq}` : 'no refit'}, got refit ${result.seq} of ${result.account}`)
    }
    d.result = result
    const held = this.held
    if (!held) return emptyOutput()
    this.held = undefined
    return this.handle(held)
  }

  private ready(): void {
    if (this.held) throw new IdrError('REFIT_PENDING', `household ${this.account} takes no input until refit ${this.due!.task.seq} completes`)
  }

  /** Applies the due refit if its result is at hand (inline: computed now); false when a deferred one is still out. */
  private applyDue(out: HouseholdOutput): boolean {
    const d = this.due!
    const result = d.result ?? (this.o.refits === 'inline' ? runRefit(d.task, this.kernels) : undefined)
    if (!result) return false
    this.due = undefined
    out.changes.push(...this.applyRefit(result))
    return true
  }

  /** Closed sessions learned from so far. */
  get sessionsSeen(): number {
    return this.closedSessions
  }

  private handle(updates: SessionUpdate[], out = emptyOutput()): HouseholdOutput {
    for (let at = 0; at < updates.length; at++) {
      const u = updates[at]!
      switch (u.type) {
        case 'rejected':
          out.rejected.push({ eventId: u.eventId, reason: u.reason })
          break
        case 'open':
          out.assignments.push(this.assign(u.session, 'open', u.eventId))
          break
        case 'update':
          if (u.contentChanged) {
            const a = this.assign(u.session, 'update', u.eventId)
            if (this.isMaterial(u.session.id, a.persons)) {
              this.published.set(u.session.id, a.persons)
              out.assignments.push(a)
            }
          }
          break
        case 'close':
          if (this.due && !this.applyDue(out)) {
            // the refit due here is still out: hold this close and what follows until it is back
            this.held = updates.slice(at)
            if (!this.due.sent) {
              this.due.sent = true
              out.refit = this.due.task
            }
            return out
          }
          const final = this.assign(u.session, 'close', u.session.firstEventId)
          out.assignments.push(final)
          out.closed.push(u.session)
          this.learn(u.session, out)
          break
      }
    }
    return out
  }

  private isMaterial(session: string, next: readonly PersonProbability[]): boolean {
    const prev = this.published.get(session)
    if (!prev) return true
    if (prev[0]?.person !== next[0]?.person) return true
    const before = new Map(prev.map((q) => [q.person, q.p]))
    return next.some((q) => Math.abs(q.p - (before.get(q.person) ?? 0)) >= this.o.materialChange)
  }

  private get cold(): boolean {
    return this.persons.k === 0 || this.closedSessions < this.o.minSessions
  }

  /** Person probabilities for a session at a stage. */
  private assign(s: Session, stage: Stage, eventId: string): Assignment {
    const cold = this.cold
    let persons: PersonProbability[]
    if (cold) {
      persons = this.coldStart(s)
    } else {
      // watched time is only known at close; before, the duration trait is left out
      this.encode(s, stage === 'close')
      persons = this.ranked()
    }
    // an update is published (and remembered) only when it is a material change: handle() decides
    if (stage === 'close') this.published.delete(s.id)
    else if (stage === 'open') this.published.set(s.id, persons)
    return {
      account: this.account, session: s.id, device: s.device, eventId, stage, modelVersion: this.persons.version,
      persons, coldStart: cold, explanation: explain(s, this.o.utcOffsetMinutes),
    }
  }

  /**
   * Person probabilities for a described session without learning from it or remembering it (what-if
   * queries); watched time counts when withDuration.
   */
  score(s: Session, withDuration: boolean): PersonProbability[] {
    if (this.cold) return this.coldStart(s)
    this.encode(s, withDuration, false)
    return this.ranked()
  }

  /**
   * The encoded row's tempered posterior as person probabilities, most probable first (ties by id); with
   * `unseen`, the persons share 1 − U and `unknown` holds U, the mass of members not found yet (./unseen.ts).
   */
  private ranked(unseen = true): PersonProbability[] {
    const resp = this.posterior(this.o.temperature)
    const u = unseen && this.unseen ? this.unseen.of(this.persons.k, this.closedSessions) : 0
    const out = this.persons.ids.map((id, j) => ({ person: id, p: resp[j]! * (1 - u) }))
    if (u > 0) out.push({ person: UNKNOWN_PERSON, p: u })
    return out.sort((a, b) => b.p - a.p || (a.person < b.person ? -1 : 1))
  }

  /** Device ids in slot order (the mixture's device trait). */
  get deviceIds(): string[] {
    return this.devices.ids()
  }

  /** Writes the session's observation into the one-row buffer (a device never seen gets its slot only when it closes). */
  private encode(s: Session, withDuration: boolean, learning = withDuration): void {
    const slot = learning ? this.devices.slot(s.device) : this.devices.peek(s.device) ?? this.devices.size
    observe(s, Math.min(slot, MAX_DEVICES - 1), this.o.utcOffsetMinutes, this.obs)
    encodeObservation(this.obs, this.one, 0, withDuration)
  }

  /**
   * Cold start: one known person (the first one seen) against someone not identified yet. The known person's
   * share starts from the share of the most active member in typical households and leans on the device:
   * personal screens (mobile, tablet, desktop) are mostly one person's, the living-room screens are shared.
   */
  private coldStart(s: Session): PersonProbability[] {
    const personal = s.deviceType === 'mobile' || s.deviceType === 'tablet' || s.deviceType === 'desktop'
    const p = personal ? 0.8 : 0.6
    const first = this.persons.ids[0] ?? 'p1'
    return [{ person: first, p }, { person: UNKNOWN_PERSON, p: 1 - p }]
  }

  /** softmax((ln π_j + ln p(x | j)) / T) of the encoded row over the persons. */
  private posterior(temperature: number): Float64Array {
    const k = this.persons.k
    const ll = new Float64Array(k)
    this.persons.logJoint(this.one, 0, ll)
    let hi = -Infinity
    for (let j = 0; j < k; j++) hi = Math.max(hi, (ll[j] = ll[j]! / temperature))
    let sum = 0
    for (let j = 0; j < k; j++) sum += (ll[j] = Math.exp(ll[j]! - hi))
    for (let j = 0; j < k; j++) ll[j] = ll[j]! / sum
    return ll
  }

  /** After a close: remember the session, update persons online, refit when the schedule says so. */
  private learn(s: Session, out: HouseholdOutput): void {
    this.encode(s, true)
    this.history.push(this.obs)
    this.closedSessions++
    if (this.persons.k > 0) this.persons.update(this.one, 0, this.posterior(1))
    if (this.closedSessions >= this.nextRefitAt) {
      this.nextRefitAt = Math.max(this.closedSessions + this.o.refitMinStep, Math.ceil(this.closedSessions * this.o.refitGrowth))
      const task = this.refitTask()
      const deferred = this.o.refits === 'deferred'
      this.due = { task, sent: deferred }
      if (deferred) out.refit = task
    }
  }

  /** The refit of the kept history: a full search while it is short (cheap, persons still forming), then local moves. */
  private refitTask(): RefitTask {
    const n = this.history.length
    const e = allocEncoded(n)
    const o = emptyObservation()
    for (let i = 0; i < n; i++) encodeObservation(this.history.get(i, o), e, i)
    const kOld = this.persons.k
    const current = new Float64Array(n * kOld)
    if (kOld > 0) eStep(this.kernels, this.persons.mixture, e, current)
    return {
      account: this.account, seq: this.closedSessions, n, slot: e.slot, w: e.w, dur: e.dur, current, kOld,
      full: kOld === 0 || n <= this.o.fullSearchBelow, mixture: this.persons.options,
      select: { kMax: this.o.kMax, nInit: this.o.nInit, seed: this.closedSessions, minPersonSessions: this.o.minSessions, penalty: this.o.penalty },
    }
  }

  private applyRefit(r: RefitResult): PersonChange[] {
    return this.persons.applyRefit(resultMixture(r, this.persons.options), r.overlap)
  }

  /** Erases a person (./household-removal.ts): their sessions leave, the persons are rebuilt from the rest. */
  erasePerson(person: string): Removal {
    this.ready()
    return removal.erasePerson(this.removalParts(), person)
  }

  /** Erases a device (./household-removal.ts): its sessions leave, its id becomes a placeholder. */
  eraseDevice(device: string): Removal {
    this.ready()
    return removal.eraseDevice(this.removalParts(), device)
  }

  /** Retention (./household-removal.ts): what started before cutoffMs leaves, the persons are rebuilt. */
  purgeBefore(cutoffMs: number): Removal {
    this.ready()
    return removal.purgeBefore(this.removalParts(), cutoffMs)
  }

  /** Nothing left: no kept or open session. */
  get empty(): boolean {
    return this.history.length === 0 && this.sessionizer.openSessions.length === 0
  }

  /** The kept closed sessions, oldest first, each with its most probable person (for access exports). */
  historyRows(): HistoryRow[] {
    return removal.historyRows(this.removalParts())
  }

  /** What the removals of ./household-removal.ts work on: the household's parts and its rebuild. */
  private removalParts(): removal.RemovalParts {
    return {
      history: this.history, devices: this.devices, persons: this.persons, sessionizer: this.sessionizer, kernels: this.kernels,
      forgetOpen: (drop) => this.forgetOpen(drop), rebuild: () => this.rebuild(), topPerson: (s) => topIdentified(this.score(s, false)),
    }
  }

  /** Drops open sessions without closing them; returns how many went. */
  private forgetOpen(drop: (s: Session) => boolean): number {
    const gone = this.sessionizer.discard(drop)
    for (const s of gone) this.published.delete(s.id)
    return gone.length
  }

  /**
   * After data left the history: a refit over what is left replaces the persons (a due refit is superseded),
   * so their statistics no longer hold anything of it. With fewer than minSessions left the household has no
   * persons (cold start) and refits again after minSessions more closes.
   */
  private rebuild(): PersonChange[] {
    this.due = undefined
    const n = this.history.length
    if (n < this.o.minSessions) {
      const gone = this.persons.ids.map((person): PersonChange => ({ type: 'disappeared', person }))
      this.persons.clear()
      this.nextRefitAt = Math.min(this.nextRefitAt, this.closedSessions + this.o.minSessions - n)
      return gone
    }
    return this.applyRefit(runRefit(this.refitTask(), this.kernels))
  }

  /** The whole state as msgpack bytes (./household-snapshot.ts); the same inputs give the same bytes. */
  toSnapshot(): Uint8Array {
    this.ready()
    return encodeSnapshot(this.toState())
  }

  /** A household restored from toSnapshot() bytes (any readable format); it continues exactly as the original would have. */
  static fromSnapshot(account: string, bytes: Uint8Array, options: HouseholdOptions = {}, kernels?: Kernels): Household {
    return new Household(account, options, kernels, decodeSnapshot(account, bytes))
  }

  /** A household restored from a state of any readable format (upgraded first). */
  static fromState(account: string, s: StoredHouseholdState, options: HouseholdOptions = {}, kernels?: Kernels): Household {
    return new Household(account, options, kernels, upgradeState(s))
  }

  toState(): HouseholdState {
    return {
      v: SNAPSHOT_VERSION,
      sessionizer: this.sessionizer.toState(),
      persons: this.persons.toState(),
      devices: this.devices.ids(),
      history: this.history.toBytes(),
      historyTotal: this.history.total,
      closedSessions: this.closedSessions,
      nextRefitAt: this.nextRefitAt,
      published: [...this.published].map(([s, ps]) => [s, ps.map((q) => [q.person, q.p] as const)] as const),
      refitDue: this.due ? true : undefined,
    }
  }
}

function emptyOutput(): HouseholdOutput {
  return { assignments: [], changes: [], rejected: [], closed: [] }
}

export { SNAPSHOT_VERSION, type HouseholdState, type StoredHouseholdState }
export { UNKNOWN_PERSON, topIdentified, type Assignment, type HistoryRow, type HouseholdOptions, type HouseholdOutput, type PersonProbability, type Removal, type Stage }
