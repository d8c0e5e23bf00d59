// Retention (docs/privacy.md): every pass takes out of every household the closed sessions that started, and
// the open sessions last active, before now − retentionMs, with the devices seen only in them; the persons are
// rebuilt from what is left, and a household left with nothing is deleted. A pass works in slices so that the
// engine's event loop keeps turning. Raw events age out of the stream by its max_age (src/transport/nats.ts).
import { performance } from 'node:perf_hooks'
import { IdrError } from '../errors.js'
import { checkOptionNames, OptionError } from '../options/check.js'
import type { AccountOptions } from '../account/account.js'
import { modifyStored } from './modify-stored.js'
import type { AccountHost, ModifyFn, PrivacyStore } from './ports.js'

export const DEFAULT_RETENTION_MS = 90 * 86_400_000 // 90 days
export const DEFAULT_RETENTION_INTERVAL_MS = 3_600_000 // 1 h from the end of one pass to the start of the next
export const DEFAULT_RETENTION_SLICE_MS = 10 // ms of purging before the event loop gets a turn

export interface RetentionOptions {
  store: PrivacyStore
  /** The live engine's accounts (resident households are purged in memory too); absent on a stopped engine's file. */
  runtime?: AccountHost
  /** Age beyond which sessions are purged, ms. Default DEFAULT_RETENTION_MS (90 days). */
  retentionMs?: number
  /** The clock, epoch ms (event time is compared with it). Default Date.now. */
  now?: () => number
  /** Options of the households (without a runtime; the runtime uses its own). */
  household?: AccountOptions
  /** ms of work per slice before yielding to the event loop. Default DEFAULT_RETENTION_SLICE_MS. */
  sliceMs?: number
}

export interface RetentionScheduleOptions extends RetentionOptions {
  /** From the end of one pass to the start of the next, ms. Default DEFAULT_RETENTION_INTERVAL_MS (1 h). */
  intervalMs?: number
  /** Before the first pass, ms. Default 0 (at once); idr serve waits one interval, so a restart does not purge mid-recovery. */
  firstPassAfterMs?: number
  /** Told each scheduled pass's result (for the log); runNow() returns its own instead. */
  onPass?: (result: PassResult) => void
  /** Told when a scheduled pass fails; the schedule goes on. Default: a process warning. */
  onError?: (err: unknown) => void
}

const OPTION_NAMES = ['store', 'runtime', 'retentionMs', 'now', 'household', 'sliceMs']
const SCHEDULE_OPTION_NAMES = [...OPTION_NAMES, 'intervalMs', 'firstPassAfterMs', 'onPass', 'onError']

/** What one pass did. The audit record's counts are households, sessions, openSessions, devices, dropped. */
export interface PassResult {
  /** Sessions that started (open ones: were last active) before this, epoch ms, were purged. */
  readonly cutoffMs: number
  /** Households looked at. */
  readonly scanned: number
  /** Households that lost sessions (rewritten, or deleted when nothing was left). */
  readonly households: number
  /** Closed sessions purged. */
  readonly sessions: number
  /** Open sessions forgotten (last active before the cutoff: they would never close). */
  readonly openSessions: number
  /** Devices forgotten (seen only in purged sessions). */
  readonly devices: number
  /** Households deleted from the store, nothing being left of them. */
  readonly dropped: number
  /** Journeys purged: stored ones that ended before the cutoff, and pending touches and unstored journeys in households. */
  readonly journeys: number
  /** The pass's audit record; undefined when nothing was purged (no record is written then). */
  readonly auditSeq: number | undefined
  /** False when stop() cut the pass short (what it purged so far is written and audited). */
  readonly complete: boolean
  readonly tookMs: number
}

export type RetentionErrorCode = 'BAD_OPTION' | 'STOPPED'

export class RetentionError extends IdrError {
  declare readonly code: RetentionErrorCode
}

interface Totals {
  scanned: number
  households: number
  sessions: number
  openSessions: number
  devices: number
  dropped: number
  journeys: number
}

/** Runs retention passes over a store (and the live runtime's households). */
export class RetentionJob {
  readonly #o: RetentionOptions
  readonly #retentionMs: number
  readonly #sliceMs: number
  readonly #now: () => number

  constructor(o: RetentionOptions) {
    checkOptionNames('RetentionJob', o, OPTION_NAMES)
    this.#o = o
    this.#retentionMs = positive('retentionMs', o.retentionMs ?? DEFAULT_RETENTION_MS)
    this.#sliceMs = positive('sliceMs', o.sliceMs ?? DEFAULT_RETENTION_SLICE_MS)
    this.#now = o.now ?? Date.now
  }

  /**
   * One pass: resident households first, then every stored one not among them. An aborted signal ends the pass
   * between two households. One audit record if anything was purged, then the WAL is truncated.
   */
  async run(signal?: AbortSignal): Promise<PassResult> {
    const started = performance.now()
    const { store, runtime } = this.#o
    const at = this.#now()
    const cutoffMs = at - this.#retentionMs
    const t: Totals = { scanned: 0, households: 0, sessions: 0, openSessions: 0, devices: 0, dropped: 0, journeys: 0 }
    // copied at once: the runtime's map changes while the pass awaits; bounded by maxResident
    const resident = new Set(runtime?.residentAccounts() ?? [])
    let sliceEnd = performance.now() + this.#sliceMs
    let complete = true
    const visit = async (account: string): Promise<void> => {
      await this.#purge(account, cutoffMs, t)
      if (performance.now() >= sliceEnd) {
        await new Promise<void>((resolve) => setImmediate(resolve))
        sliceEnd = performance.now() + this.#sliceMs
      }
    }
    for (const account of resident) {
      if (signal?.aborted) break
      await visit(account)
    }
    // accounts() pages by key, so the rows this pass rewrites or deletes between pages do not upset it
    for (const account of store.accounts()) {
      if (signal?.aborted) break
      if (!resident.has(account)) await visit(account)
    }
    if (signal?.aborted) complete = false
    // stored journeys that ended before the cutoff (one statement over the end-time index)
    t.journeys += store.purgeJourneys(cutoffMs)
    let auditSeq: number | undefined
    if (t.households > 0 || t.dropped > 0 || t.journeys > 0) {
      const { scanned: _, ...counts } = t
      auditSeq = store.auditLog().append({ op: 'retention-purge', at, counts }).seq
      store.checkpoint() // WAL truncated: the purged snapshots' old pages leave it too
    }
    return { cutoffMs, ...t, auditSeq, complete, tookMs: Math.round((performance.now() - started) * 10) / 10 }
  }

  /** Purges one household; its new snapshot (or its deletion) is written before anything else can run. */
  async #purge(account: string, cutoffMs: number, t: Totals): Promise<void> {
    const { store } = this.#o
    await this.#modify(account, (h, persist) => {
      if (!h) return
      t.scanned++
      const r = h.purgeBefore(cutoffMs)
      const changed = r.openSessions > 0 || r.sessions > 0 || r.journeys > 0
      if (h.empty) {
        const deleted = store.delete(account)
        if (!deleted && !changed) return // a resident household that never held anything
        // A resident actor keeps its (empty) household and its queued input, if any: only the row goes, and
        // persist() marks the actor as stored, so a checkpoint writes it again only after new input.
        persist()
        t.dropped++
      } else if (changed) {
        store.commit({ households: [persist()], positions: new Map() })
      }
      if (!changed) return
      t.households++
      t.sessions += r.sessions
      t.openSessions += r.openSessions
      t.devices += r.devices
      t.journeys += r.journeys
    })
  }

  /** Runs fn on the household: through the live runtime, else on the stored snapshot (./modify-stored.ts). */
  #modify(account: string, fn: ModifyFn<void>): Promise<void> {
    return modifyStored({ runtime: this.#o.runtime, store: this.#o.store, household: this.#o.household }, account, fn)
  }
}

/** A running retention schedule. */
export interface RetentionSchedule {
  /** Runs a pass now (after the one under way, if any) and resolves with its result. */
  runNow(): Promise<PassResult>
  /** Ends the schedule: the pass under way stops after its current household, is audited, and is awaited. */
  stop(): Promise<void>
}

/**
 * Runs a retention pass after firstPassAfterMs (default at once) and then intervalMs after the end of each pass, on an unref'd timer (it
 * keeps no process alive). Stop it before closing the store.
 */
export function startRetention(o: RetentionScheduleOptions): RetentionSchedule {
  checkOptionNames('startRetention', o, SCHEDULE_OPTION_NAMES)
  const { intervalMs = DEFAULT_RETENTION_INTERVAL_MS, firstPassAfterMs = 0, onPass, onError, ...options } = o
  positive('intervalMs', intervalMs)
  const job = new RetentionJob(options)
  const report = onError ?? ((err: unknown) => process.emitWarning(`retention pass failed: ${(err as Error).message}`, 'RetentionWarning'))
  const abort = new AbortController()
  let timer: NodeJS.Timeout | undefined
  // passes run one after another: runNow() during a pass queues behind it
  let last: Promise<unknown> = Promise.resolve()
  const pass = (): Promise<PassResult> => {
    const p = last.then(() => job.run(abort.signal))
    last = p.catch(() => undefined)
    return p
  }
  const arm = (ms: number): void => {
    timer = setTimeout(() => {
      timer = undefined
      pass().then((r) => onPass?.(r)).catch(report).finally(() => {
        if (!abort.signal.aborted) arm(intervalMs)
      })
    }, ms)
    timer.unref()
  }
  if (!Number.isSafeInteger(firstPassAfterMs) || firstPassAfterMs < 0) throw new OptionError(`firstPassAfterMs must be an integer ≥ 0 (ms), got ${firstPassAfterMs}`)
  arm(firstPassAfterMs)
  return {
    runNow: () => (abort.signal.aborted ? Promise.reject(new RetentionError('STOPPED', 'the retention schedule is stopped')) : pass()),
    async stop() {
      abort.abort()
      clearTimeout(timer)
      await last
    },
  }
}

function positive(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new OptionError(`${name} must be a positive integer (ms), got ${v}`)
  return v
}
