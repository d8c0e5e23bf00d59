// Erasure (the right to be forgotten) by account, by person within an account, or by device: the cascade
// through the actor's memory, the stored snapshot, the tombstones that keep erased input from coming back,
// the audit trail, the WAL, and the raw events in the input stream. Runs inside a live engine (with its
// runtime) or on a stopped engine's database (without one). docs/privacy.md states the rules.
import { performance } from 'node:perf_hooks'
import { involvesDevice, involvesPerson, type JourneyRecord } from '../attribution/ledger.js'
import { IdrError } from '../errors.js'
import { isToken, TOKEN_PATTERN, tokenProblem } from '../contracts/token.js'
import { EVENT_LIMITS, type IdrEvent } from '../model/events.js'
import { Account, type AccountOptions, type AccountRemoval } from '../account/account.js'
import { partitionOf } from '../contracts/partition.js'
import { POSITION_STRIDE } from '../ports/store.js'
import { accessExport, type AccessExport } from './export.js'
import { streamSeqsOf } from './stream-rule.js'
import { modifyStored } from './modify-stored.js'
import type { AccountHost, ErasedInput, ModifyFn, PrivacyStore, Tombstone, TombstoneScope } from './ports.js'

/** What to erase: a whole account, one person of it (an id such as "p2"), or one device (its raw id). */
export type ErasureRequest =
  | { readonly account: string, readonly person?: undefined, readonly device?: undefined }
  | { readonly account: string, readonly person: string, readonly device?: undefined }
  | { readonly account: string, readonly device: string, readonly person?: undefined }

/** What an erasure did (the reply of idr.api.privacy.erase and of `idr erase --json`). */
export interface ErasureResult {
  /** The account's a_… pseudonym. */
  readonly account: string
  readonly scope: TombstoneScope
  /** '' (account), the person id, or the device pseudonym(s) joined by ','. */
  readonly target: string
  /** A household held data about the subject. */
  readonly found: boolean
  readonly sessions: number
  readonly openSessions: number
  readonly persons: number
  readonly devices: number
  /** Marketing journeys removed: stored ones, unstored ones and pending touches (docs/attribution.md). */
  readonly journeys: number
  /** Events of the account still queued in memory, dropped (account erasure). */
  readonly queuedEvents: number
  /** Messages deleted from the input stream (0 without a stream). */
  readonly streamMessages: number
  /** Position of the erasure's record in the audit trail. */
  readonly auditSeq: number
  /** The WAL was checkpointed and truncated afterwards (false: another connection's reader kept it; see docs/privacy.md). */
  readonly walTruncated: boolean
  readonly tookMs: number
}

/** The input stream as erasure needs it (JetStream: src/privacy/jetstream-events.ts). */
export interface EventStream {
  /** The account's stored messages in order, their events validated and pseudonymised as the ingress does. */
  scan(account: string): AsyncIterable<{ readonly seq: number, readonly events: readonly IdrEvent[] }>
  /** Deletes (overwriting) the messages at these sequences; returns how many were there. */
  deleteMessages(seqs: readonly number[]): Promise<number>
}

/** The keyed pseudonyms erasure needs, of a raw account token or device id under every key epoch kept, current first. */
export interface ErasurePseudonyms {
  accounts(raw: string): readonly string[]
  devices(raw: string): readonly string[]
}

export interface EraserOptions {
  store: PrivacyStore
  pseudonyms: ErasurePseudonyms
  /** The live engine's accounts (its runtime); absent on a stopped engine's database. */
  runtime?: AccountHost
  stream?: EventStream
  household?: AccountOptions
  partitionsOf?: number
  now?: () => number
}

export type ErasureErrorCode = 'BAD_REQUEST' | 'BAD_ACCOUNT' | 'ERASURE_FAILED'

export class ErasureError extends IdrError {
  declare readonly code: ErasureErrorCode
}

const ID_MAX = 256
/** WAL truncation attempts after an erasure, WAL_RETRY_MS apart. */
const WAL_ATTEMPTS = 50
const WAL_RETRY_MS = 20

/** Runs erasures and keeps the tombstones the runtime consults (erasedInput) in memory. */
export class Eraser {
  readonly #o: Required<Pick<EraserOptions, 'partitionsOf' | 'now'>> & EraserOptions
  /** a_… pseudonym → what erasures took back from its input. */
  readonly #erased = new Map<string, ErasedInput>()

  constructor(o: EraserOptions) {
    this.#o = { partitionsOf: 1, now: Date.now, ...o }
    for (const t of o.store.tombstones().all()) this.#remember(t)
  }

  /** For ActorRuntime's erasedInput option: what erasures took back from this account's input. */
  readonly erasedInput = (account: string): ErasedInput | undefined => {
    if (this.#erased.size === 0) return undefined
    // tombstones written under earlier key epochs name the account by that epoch's pseudonym
    let out: ErasedInput | undefined
    for (const a of this.#o.pseudonyms.accounts(account)) {
      const r = this.#erased.get(a)
      if (!r) continue
      out ??= { upTo: 0, devices: new Map() }
      out.upTo = Math.max(out.upTo, r.upTo)
      for (const [d, pos] of r.devices) out.devices.set(d, Math.max(pos, out.devices.get(d) ?? 0))
    }
    return out
  }

  async erase(request: ErasureRequest): Promise<ErasureResult> {
    const req = checkRequest(request)
    const started = performance.now()
    const account = this.#o.pseudonyms.accounts(req.account)[0]!
    const r = req.person !== undefined
      ? await this.#part(req.account, account, 'person', [req.person], (h) => h.erasePerson(req.person!))
      : req.device !== undefined
        ? await this.#part(req.account, account, 'device', this.#o.pseudonyms.devices(req.device), (h, d) => h.eraseDevice(d))
        : await this.#whole(req.account, account)
    const walTruncated = await this.#truncateWal()
    return { ...r, walTruncated, tookMs: Math.round((performance.now() - started) * 10) / 10 }
  }

  /** Checkpoints and truncates the WAL, so erased pages leave it too; a reader of another connection may hold it up a while. */
  async #truncateWal(): Promise<boolean> {
    for (let attempt = 0; attempt < WAL_ATTEMPTS; attempt++) {
      if (this.#o.store.checkpoint()) return true
      await new Promise((r) => setTimeout(r, WAL_RETRY_MS))
    }
    return false
  }

  /** Access request: everything held about the account, or one person of it (audited as an export). */
  async export(request: { account: string, person?: string }): Promise<AccessExport> {
    const req = checkRequest(request)
    if (req.device !== undefined) throw new ErasureError('BAD_REQUEST', 'an export is by account, or by account and person')
    const account = this.#o.pseudonyms.accounts(req.account)[0]!
    const now = this.#o.now()
    const out = await this.#modify(req.account, (h) => {
      const stored: JourneyRecord[] = []
      this.#o.store.journeys({ account: req.account }, (r) => { stored.push(r) })
      return accessExport(req.account, account, h, this.#o.store.tombstones().all(), now, req.person, stored)
    })
    const subject = req.person !== undefined ? { account, person: req.person } : { account }
    this.#o.store.auditLog().append({ op: 'export', at: now, subject, counts: { sessions: out.sessions.length, persons: out.persons.length, devices: out.devices.length, journeys: out.journeys.length } })
    return out
  }

  /** Deletes stream messages that earlier erasures left pending (after a crash between the two steps). */
  async settlePending(): Promise<number> {
    let n = 0
    for (const t of this.#o.store.tombstones().all()) {
      if (t.pending.length === 0) continue
      n += await this.#settle(t)
    }
    return n
  }

  async #whole(raw: string, account: string): Promise<Omit<ErasureResult, 'tookMs' | 'walTruncated'>> {
    const { store, runtime } = this.#o
    const pending = this.#o.stream ? await streamSeqsOf(this.#o.stream.scan(raw), 'all', raw, this.#household) : []
    const position = this.#position(raw)
    this.#remember({ account, scope: 'account', target: '', position, erasedAt: 0, pending: [] })
    const queuedEvents = runtime?.drop(raw) ?? 0
    const tomb: Tombstone = { account, scope: 'account', target: '', position, erasedAt: this.#o.now(), pending }
    const { found, journeys, auditSeq } = store.transaction(() => {
      const found = store.delete(raw)
      const journeys = store.deleteJourneys(raw)
      store.tombstones().put(tomb)
      const auditSeq = store.auditLog().append({ op: 'erasure', at: tomb.erasedAt, subject: { account }, counts: { snapshots: found ? 1 : 0, journeys, queuedEvents, streamMessages: pending.length } }).seq
      return { found, journeys, auditSeq }
    })
    const streamMessages = await this.#settle(tomb)
    return { account, scope: 'account', target: '', found: found || queuedEvents > 0 || journeys > 0, sessions: 0, openSessions: 0, persons: 0, devices: 0, journeys, queuedEvents, streamMessages, auditSeq }
  }

  async #part(raw: string, account: string, scope: 'person' | 'device', targets: readonly string[], erase: (a: Account, target: string) => AccountRemoval): Promise<Omit<ErasureResult, 'tookMs' | 'walTruncated'>> {
    const { store, runtime, stream } = this.#o
    // which stored raw events are the subject's is decided on the household as it is before the erasure
    let pending: number[] = []
    if (stream) {
      const before = await this.#modify(raw, (a) => (a ? Account.fromSnapshot(raw, a.toSnapshot(), this.#household).household : undefined))
      pending = await streamSeqsOf(stream.scan(raw), scope === 'person' ? { person: targets[0]!, household: before } : { devices: new Set(targets) }, raw, this.#household)
    }
    const position = this.#position(raw)
    return this.#modify(raw, (h, persist) => {
      const removals = h ? targets.map((t) => erase(h, t)) : []
      const total = sum(removals)
      const erasedAt = this.#o.now()
      const tombs = targets.map((target): Tombstone => ({ account, scope, target, position, erasedAt, pending: target === targets[0] ? pending : [] }))
      if (scope === 'device') for (const t of targets) runtime?.eraseInput(raw, t, position)
      for (const t of tombs) this.#remember(t)
      const devices = new Set(targets)
      const holds = scope === 'person' ? (j: JourneyRecord) => involvesPerson(j, targets[0]!) : (j: JourneyRecord) => involvesDevice(j, devices)
      const auditSeq = store.transaction(() => {
        if (h) store.commit({ households: [persist()], positions: new Map() })
        total.journeys += store.deleteJourneys(raw, holds)
        for (const t of tombs) store.tombstones().put(t)
        const subject = scope === 'person' ? { account, person: targets[0]! } : { account, device: targets[0]! }
        return store.auditLog().append({ op: 'erasure', at: erasedAt, subject, counts: { ...total, streamMessages: pending.length } }).seq
      })
      const found = total.sessions + total.openSessions + total.persons + total.devices + total.journeys > 0
      return { account, scope, target: targets.join(','), found, ...total, queuedEvents: 0, streamMessages: pending.length, auditSeq }
    }).then(async (r) => {
      if (pending.length > 0) await this.#settle({ account, scope, target: targets[0]!, position, erasedAt: 0, pending })
      return r
    })
  }

  get #household(): AccountOptions {
    return this.#o.household ?? {}
  }

  /** Runs fn on the household: through the live runtime, else on the stored snapshot (./modify-stored.ts). */
  #modify<R>(raw: string, fn: ModifyFn<R>): Promise<R> {
    return modifyStored({ runtime: this.#o.runtime, store: this.#o.store, household: this.#o.household }, raw, fn)
  }

  /** The input position the erasure covers: everything delivered of the account's partition so far. */
  #position(raw: string): number {
    const p = partitionOf(raw, this.#o.partitionsOf)
    const seq = this.#o.runtime?.deliveredUpTo(p) ?? this.#o.store.positions().get(p) ?? 0
    const household = this.#o.store.load(raw)?.seq ?? 0
    return Math.max(seq * POSITION_STRIDE + POSITION_STRIDE - 1, household)
  }

  #remember(t: Tombstone): void {
    const r = this.#erased.get(t.account) ?? { upTo: 0, devices: new Map<string, number>() }
    if (t.scope === 'account') r.upTo = Math.max(r.upTo, t.position)
    if (t.scope === 'device') r.devices.set(t.target, Math.max(t.position, r.devices.get(t.target) ?? 0))
    this.#erased.set(t.account, r)
  }

  /** Carries out a tombstone's pending stream deletions, then marks it settled (audited). */
  async #settle(t: Tombstone): Promise<number> {
    const stream = this.#o.stream
    if (!stream || t.pending.length === 0) return 0
    const n = await stream.deleteMessages(t.pending)
    const { store } = this.#o
    store.transaction(() => {
      store.tombstones().settle(t)
      store.auditLog().append({ op: 'erasure', at: this.#o.now(), subject: { account: t.account }, counts: { streamMessages: n } })
    })
    return n
  }
}

function sum(rs: readonly AccountRemoval[]): { sessions: number, openSessions: number, persons: number, devices: number, journeys: number } {
  const t = { sessions: 0, openSessions: 0, persons: 0, devices: 0, journeys: 0 }
  for (const r of rs) {
    t.journeys += r.journeys
    t.sessions += r.sessions
    t.openSessions += r.openSessions
    t.persons += r.persons.length
    t.devices += r.devices
  }
  return t
}

/** A request as given (JSON from the API or the CLI's flags), checked: a typed BAD_REQUEST when malformed. */
export function checkRequest(v: unknown): ErasureRequest {
  const bad = (why: string): never => { throw new ErasureError('BAD_REQUEST', why) }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('an erasure request is an object { account, person? | device? }')
  const o = v as Record<string, unknown>
  for (const k of Object.keys(o)) if (!['account', 'person', 'device'].includes(k) && o[k] !== undefined) bad(`unknown field "${k}": an erasure request has account, person and device`)
  const str = (k: string): string | undefined => {
    const x = o[k]
    if (x === undefined) return undefined
    if (typeof x !== 'string' || x.length === 0 || x.length > ID_MAX) bad(`${k} must be a string of 1..${ID_MAX} characters`)
    return x as string
  }
  const account = str('account')
  const person = str('person')
  const device = str('device')
  if (account === undefined) bad('account is required')
  // the token rule (docs/security.md): an account becomes part of stream subjects, a person id is one token too
  if (!isToken(account)) throw new ErasureError('BAD_ACCOUNT', `account ${tokenProblem(account!)} (an account is ${TOKEN_PATTERN})`)
  if (person !== undefined && !isToken(person)) bad(`person ${tokenProblem(person)} (a person id is ${TOKEN_PATTERN}, e.g. p2)`)
  if (device !== undefined && device.length > EVENT_LIMITS.deviceMaxLength) bad(`device is ${device.length} characters, at most ${EVENT_LIMITS.deviceMaxLength} (the event schema's limit)`)
  if (person !== undefined && device !== undefined) bad('give person or device, not both (two requests erase both)')
  return person !== undefined ? { account: account!, person } : device !== undefined ? { account: account!, device } : { account: account! }
}
