// One account's model: sessions → features → persons → calibrated assignments. Deterministic, no I/O.
// The rules (cold start, refit schedule, device priors, temperature) are described in docs/model.md.
import { decode, encode } from '@msgpack/msgpack'
import { IdrError } from '../errors.js'
import { defaultKernels, type Kernels } from '../kernels/backend.js'
import { selectGmm } from '../kernels/gmm.js'
import { checkOptionNames } from '../kernels/validate.js'
import type { IdrEvent } from './events.js'
import {
  DEFAULT_GROUP_WEIGHTS, FEATURE_DIM, GROUP_DIMS, GROUPS_AT_OPEN, sessionFeatures,
  type FeatureGroup,
} from './features.js'
import { PersonModel, type PersonChange, type PersonModelState } from './persons.js'
import { Sessionizer, type Session, type SessionizerOptions, type SessionizerState, type SessionUpdate } from './sessionizer.js'
import { explain } from './explain.js'

export interface HouseholdOptions {
  sessionizer?: SessionizerOptions
  /** Household's offset from UTC, minutes. Default 0. */
  utcOffsetMinutes?: number
  /** Weights of the feature groups' log-likelihoods. Defaults: time 1.5, device 1.2, content 1.0, behaviour 1.0. */
  groupWeights?: Partial<Record<FeatureGroup, number>>
  /** Most persons considered. Default 6. */
  kMax?: number
  /** Closed sessions before the first refit (cold start before it). Default 3. */
  minSessions?: number
  /** Smallest per-dimension variance, standardised units. Default 0.5 (measured, docs/model.md). */
  varianceFloor?: number
  /** Softmax temperature applied to the scores (calibration). Default 10 (measured, docs/model.md). */
  temperature?: number
  /** Pseudo-count spreading a device's person prior toward the household weights. Default 2. */
  devicePriorStrength?: number
  /** Sessions kept for refits (most recent). Default 160. */
  historyMax?: number
  /** Probability shift that makes an update worth publishing. Default 0.1. */
  materialChange?: number
  /** Mean weighted symmetric KL above which a refit component becomes a new person. Default 4. */
  newPersonCost?: number
  /** EM initialisations per K at refits. Default 2. */
  nInit?: number
}

const OPTION_NAMES = ['sessionizer', 'utcOffsetMinutes', 'groupWeights', 'kMax', 'minSessions', 'varianceFloor', 'temperature',
  'devicePriorStrength', 'historyMax', 'materialChange', 'newPersonCost', 'nInit']

/** Pseudo-person of cold start: someone not identified yet. */
export const UNKNOWN_PERSON = 'unknown'

export type Stage = 'open' | 'update' | 'close'

export interface PersonProbability {
  readonly person: string
  readonly p: number
}

/** A session's person probabilities (the `idr.out.assign` payload, minus transport fields). */
export interface Assignment {
  readonly account: string
  readonly session: string
  readonly device: string
  /** Event that caused it (for close: the session's first event). */
  readonly eventId: string
  readonly stage: Stage
  readonly modelVersion: number
  /** Sorted by p, descending; sums to 1. */
  readonly persons: readonly PersonProbability[]
  readonly coldStart: boolean
  readonly explanation: string
}

/** What one input produced: assignments to publish, person changes from refits, rejected events. */
export interface HouseholdOutput {
  readonly assignments: Assignment[]
  readonly changes: PersonChange[]
  readonly rejected: { readonly eventId: string, readonly reason: string }[]
  /** Sessions closed by this input (live views; for evaluation, with their truth). */
  readonly closed: Session[]
}

export class Household {
  readonly sessionizer: Sessionizer
  readonly persons: PersonModel
  private readonly o: Required<Omit<HouseholdOptions, 'sessionizer' | 'groupWeights'>>
  private readonly fullWeights: Float64Array
  private readonly openWeights: Float64Array
  /** Raw feature rows of the most recent closed sessions (ring, oldest overwritten). */
  private history: Float32Array
  private historyCount = 0
  private closedSessions = 0
  private nextRefitAt: number
  /** device → person id → Σ responsibilities. */
  private deviceCounts = new Map<string, Map<string, number>>()
  private lastEndByDevice = new Map<string, number>()
  private previousDevice: string | undefined
  /** Last published probabilities per open session, to decide what is a material change. */
  private published = new Map<string, readonly PersonProbability[]>()
  private readonly scratch = new Float64Array(FEATURE_DIM)
  private readonly z = new Float64Array(FEATURE_DIM)

  constructor(readonly account: string, options: HouseholdOptions = {}, private readonly kernels: Kernels = defaultKernels()) {
    checkOptionNames('Household', options, OPTION_NAMES)
    this.sessionizer = new Sessionizer(account, options.sessionizer)
    this.o = {
      utcOffsetMinutes: options.utcOffsetMinutes ?? 0, kMax: options.kMax ?? 6, minSessions: options.minSessions ?? 3,
      varianceFloor: options.varianceFloor ?? 0.5, temperature: options.temperature ?? 10,
      devicePriorStrength: options.devicePriorStrength ?? 2, historyMax: options.historyMax ?? 160,
      materialChange: options.materialChange ?? 0.1, newPersonCost: options.newPersonCost ?? 4, nInit: options.nInit ?? 2,
    }
    const groups = { ...DEFAULT_GROUP_WEIGHTS, ...options.groupWeights }
    this.fullWeights = new Float64Array(FEATURE_DIM)
    this.openWeights = new Float64Array(FEATURE_DIM)
    for (const [g, dims] of Object.entries(GROUP_DIMS) as [FeatureGroup, readonly number[]][]) {
      for (const t of dims) {
        this.fullWeights[t] = groups[g]
        this.openWeights[t] = GROUPS_AT_OPEN.includes(g) ? groups[g] : 0
      }
    }
    this.persons = new PersonModel(FEATURE_DIM, { dimWeights: this.fullWeights, varianceFloor: this.o.varianceFloor, newPersonCost: this.o.newPersonCost })
    this.history = new Float32Array(this.o.historyMax * FEATURE_DIM)
    this.nextRefitAt = this.o.minSessions
  }

  /** Applies one validated event of this account. */
  push(e: IdrEvent, arrivalMs?: number): HouseholdOutput {
    return this.handle(this.sessionizer.push(e, arrivalMs))
  }

  /** Idle flush: advances event time without an event. */
  advance(watermarkMs: number): HouseholdOutput {
    return this.handle(this.sessionizer.advance(watermarkMs))
  }

  /** Closes every open session (end of input). */
  flush(): HouseholdOutput {
    return this.handle(this.sessionizer.flush())
  }

  /** Closed sessions learned from so far. */
  get sessionsSeen(): number {
    return this.closedSessions
  }

  private handle(updates: SessionUpdate[]): HouseholdOutput {
    const out: HouseholdOutput = { assignments: [], changes: [], rejected: [], closed: [] }
    for (const u of updates) {
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
            if (this.isMaterial(u.session.id, a.persons)) out.assignments.push(a)
          }
          break
        case 'close':
          out.assignments.push(this.assign(u.session, 'close', u.session.firstEventId))
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

  private features(s: Session, out: Float64Array): void {
    sessionFeatures(s, {
      utcOffsetMinutes: this.o.utcOffsetMinutes,
      previousOnDeviceEndTs: this.lastEndByDevice.get(s.device),
      previousDevice: this.previousDevice,
    }, out)
  }

  /** Person probabilities for a session at a stage. */
  private assign(s: Session, stage: Stage, eventId: string): Assignment {
    this.features(s, this.scratch)
    const persons = this.persons.k === 0 || this.closedSessions < this.o.minSessions
      ? this.coldStart(s)
      : this.posterior(s, stage === 'open' ? this.openWeights : this.fullWeights).persons
    if (stage === 'close') this.published.delete(s.id)
    else this.published.set(s.id, persons)
    return {
      account: this.account, session: s.id, device: s.device, eventId, stage, modelVersion: this.persons.version,
      persons, coldStart: this.persons.k === 0 || this.closedSessions < this.o.minSessions,
      explanation: explain(s, this.scratch, this.o.utcOffsetMinutes),
    }
  }

  /**
   * Cold start: one known person (the first one seen) against someone not identified yet. The known person's
   * share starts from the share of the most active member in typical households and leans on the device:
   * personal screens (mobile, tablet, desktop) are mostly one person's, the living-room screens are shared.
   */
  private coldStart(s: Session): PersonProbability[] {
    const personal = s.deviceType === 'mobile' || s.deviceType === 'tablet' || s.deviceType === 'desktop'
    const p = personal ? 0.8 : 0.6
    const first = this.persons.persons[0]?.id ?? 'p1'
    return [{ person: first, p }, { person: UNKNOWN_PERSON, p: 1 - p }]
  }

  /** softmax((ln p(x | j) + ln prior_j(device)) / T) over the known persons. */
  private posterior(s: Session, w: Float64Array): { persons: PersonProbability[], resp: Float64Array } {
    const k = this.persons.k
    this.persons.standardise(this.scratch, this.z)
    const ll = new Float64Array(k)
    this.persons.logLikelihoods(this.kernels, this.z, w, ll)
    const prior = this.devicePrior(s.device)
    let hi = -Infinity
    for (let j = 0; j < k; j++) {
      ll[j] = (ll[j]! + Math.log(prior[j]!)) / this.o.temperature
      hi = Math.max(hi, ll[j]!)
    }
    let sum = 0
    for (let j = 0; j < k; j++) {
      ll[j] = Math.exp(ll[j]! - hi)
      sum += ll[j]!
    }
    const resp = ll.map((v) => v / sum)
    const persons = this.persons.persons
      .map((p, j) => ({ person: p.id, p: resp[j]! }))
      .sort((a, b) => b.p - a.p || (a.person < b.person ? -1 : 1))
    return { persons, resp }
  }

  /** P(person | device) = (c_dj + α·π_j) / (Σ_j c_dj + α): the household weights, sharpened by the device's history. */
  private devicePrior(device: string): Float64Array {
    const k = this.persons.k
    const pi = new Float64Array(k)
    this.persons.weights(pi)
    const counts = this.deviceCounts.get(device)
    const alpha = this.o.devicePriorStrength
    let total = 0
    const c = this.persons.persons.map((p) => {
      const v = counts?.get(p.id) ?? 0
      total += v
      return v
    })
    return pi.map((w, j) => (c[j]! + alpha * w) / (total + alpha))
  }

  /** After a close: remember the session, update persons online, refit when the schedule says so. */
  private learn(s: Session, out: HouseholdOutput): void {
    this.features(s, this.scratch)
    const row = (this.closedSessions % this.o.historyMax) * FEATURE_DIM
    for (let t = 0; t < FEATURE_DIM; t++) this.history[row + t] = this.scratch[t]!
    this.historyCount = Math.min(this.historyCount + 1, this.o.historyMax)
    this.closedSessions++
    this.lastEndByDevice.set(s.device, s.lastTs)
    this.previousDevice = s.device
    if (this.persons.k > 0) {
      const { resp } = this.posterior(s, this.fullWeights)
      this.persons.update(this.z, resp)
      const counts = this.deviceCounts.get(s.device) ?? new Map<string, number>()
      this.persons.persons.forEach((p, j) => counts.set(p.id, (counts.get(p.id) ?? 0) + resp[j]!))
      this.deviceCounts.set(s.device, counts)
    }
    if (this.closedSessions >= this.nextRefitAt) {
      out.changes.push(...this.refit())
      this.nextRefitAt = Math.max(this.closedSessions + 5, Math.ceil(this.closedSessions * 1.5))
    }
  }

  /** Model selection on the kept history (diagonal, tempered), mapped back onto the persons' ids. */
  private refit(): PersonChange[] {
    const n = this.historyCount
    const data = new Float64Array(n * FEATURE_DIM)
    for (let i = 0; i < n * FEATURE_DIM; i++) data[i] = this.history[i]!
    const center = new Float64Array(FEATURE_DIM)
    const scale = new Float64Array(FEATURE_DIM)
    for (let t = 0; t < FEATURE_DIM; t++) {
      let m = 0
      for (let i = 0; i < n; i++) m += data[i * FEATURE_DIM + t]!
      m /= n
      let v = 0
      for (let i = 0; i < n; i++) v += (data[i * FEATURE_DIM + t]! - m) ** 2
      const sd = Math.sqrt(v / n)
      center[t] = m
      scale[t] = sd > 1e-6 ? sd : 1
      for (let i = 0; i < n; i++) data[i * FEATURE_DIM + t] = (data[i * FEATURE_DIM + t]! - m) / scale[t]!
    }
    const sel = selectGmm(this.kernels, { rows: n, cols: FEATURE_DIM, data }, {
      covariance: 'diag', kMin: 1, kMax: Math.min(this.o.kMax, n), nInit: this.o.nInit,
      regCovar: this.o.varianceFloor, dimWeights: this.fullWeights, seed: this.closedSessions,
      minComponentPoints: this.o.minSessions,
    })
    const changes = this.persons.applyRefit(sel.best, center, scale, this.closedSessions)
    // device counts follow persons that merged; persons that disappeared lose theirs
    for (const c of changes) {
      if (c.type !== 'merged' && c.type !== 'disappeared') continue
      for (const counts of this.deviceCounts.values()) {
        const v = counts.get(c.person) ?? 0
        counts.delete(c.person)
        if (c.type === 'merged') counts.set(c.into, (counts.get(c.into) ?? 0) + v)
      }
    }
    return changes
  }

  /** The whole state as msgpack bytes (format version 1); the same inputs give the same bytes. */
  toSnapshot(): Uint8Array {
    return encode(this.toState(), { ignoreUndefined: true })
  }

  /** A household restored from toSnapshot() bytes; it continues exactly as the original would have. */
  static fromSnapshot(account: string, bytes: Uint8Array, options: HouseholdOptions = {}, kernels?: Kernels): Household {
    let state: HouseholdState
    try {
      state = decode(bytes) as HouseholdState
    } catch (cause) {
      throw new IdrError('BAD_SNAPSHOT', `snapshot of ${account} cannot be decoded`, { cause })
    }
    if (typeof state !== 'object' || state === null || state.v !== 1) {
      throw new IdrError('BAD_SNAPSHOT', `snapshot of ${account} has format ${String((state as { v?: unknown } | null)?.v)}, expected 1`)
    }
    return Household.fromState(account, state, options, kernels)
  }

  static fromState(account: string, s: HouseholdState, options: HouseholdOptions = {}, kernels?: Kernels): Household {
    const h = new Household(account, options, kernels)
    const mutable = h as unknown as { sessionizer: Sessionizer, persons: PersonModel }
    mutable.sessionizer = Sessionizer.fromState(account, s.sessionizer, options.sessionizer)
    mutable.persons = PersonModel.fromState(FEATURE_DIM, h.persons.options, s.persons)
    h.history.set(new Float32Array(s.history.slice().buffer))
    h.historyCount = s.historyCount
    h.closedSessions = s.closedSessions
    h.nextRefitAt = s.nextRefitAt
    h.deviceCounts = new Map(s.deviceCounts.map(([d, m]) => [d, new Map(m)]))
    h.lastEndByDevice = new Map(s.lastEndByDevice)
    h.previousDevice = s.previousDevice ?? undefined
    h.published = new Map(s.published.map(([id, ps]) => [id, ps.map(([person, p]) => ({ person, p }))]))
    return h
  }

  toState(): HouseholdState {
    return {
      v: 1,
      sessionizer: this.sessionizer.toState(),
      persons: this.persons.toState(),
      // raw float32 bytes (little-endian, as every supported platform): 4 bytes a value instead of msgpack's 9
      history: new Uint8Array(this.history.buffer.slice(0, this.historyCount * FEATURE_DIM * 4)),
      historyCount: this.historyCount,
      closedSessions: this.closedSessions,
      nextRefitAt: this.nextRefitAt,
      deviceCounts: [...this.deviceCounts].map(([d, m]) => [d, [...m]] as const),
      lastEndByDevice: [...this.lastEndByDevice],
      previousDevice: this.previousDevice ?? null,
      published: [...this.published].map(([s, ps]) => [s, ps.map((q) => [q.person, q.p] as const)] as const),
    }
  }
}

/** Serializable household state (snapshot format version 1). */
export interface HouseholdState {
  readonly v: 1
  readonly sessionizer: SessionizerState
  readonly persons: PersonModelState
  /** Float32 little-endian feature rows, in ring order. */
  readonly history: Uint8Array
  readonly historyCount: number
  readonly closedSessions: number
  readonly nextRefitAt: number
  readonly deviceCounts: readonly (readonly [string, readonly (readonly [string, number])[]])[]
  readonly lastEndByDevice: readonly (readonly [string, number])[]
  readonly previousDevice: string | null
  readonly published: readonly (readonly [string, readonly (readonly [string, number])[]])[]
}
