// The actor runtime's handler for accounts: an account's state is its Account ({ household, ledger }), its
// input idr events and event-time ticks, its output what the household produced, its offloaded work refits.
import { Account, type AccountOptions } from '../account/account.js'
import type { JourneyRecord } from '../attribution/ledger.js'
import type { HouseholdOutput } from '../model/household.js'
import { runRefit, type RefitResult, type RefitTask } from '../model/refit.js'
import type { Input } from '../runtime/actor.js'
import { Counters } from '../runtime/counters.js'
import type { Snapshot } from '../ports/store.js'
import type { ActorContext, ActorHandler, OffloadRunner, Outcome } from '../runtime/handler.js'
import { ActorRuntime, type RuntimeOptions } from '../runtime/runtime.js'

/** The runtime of accounts. */
export type AccountRuntime = ActorRuntime<Account, HouseholdOutput, RefitTask, RefitResult>

type Ctx = ActorContext<HouseholdOutput, RefitTask>

export interface AccountHandlerOptions {
  /** The accounts' options (refits: set here from `offloads`). */
  account?: AccountOptions
  /** Refits go to the runtime's offload runner (a pool): 'deferred'; else inline, on the event path. */
  offloads?: boolean
  /** Where what the households did with each event is counted (the runtime's record). */
  counters?: Counters
}

export class AccountHandler implements ActorHandler<Account, HouseholdOutput, RefitTask, RefitResult> {
  readonly options: AccountOptions
  readonly eventTime: ActorHandler<Account, HouseholdOutput>['eventTime']
  readonly counters: Counters

  constructor(o: AccountHandlerOptions = {}) {
    this.options = { ...o.account, refits: o.offloads ? 'deferred' : 'inline' }
    this.counters = o.counters ?? new Counters()
    // an account is built once here so that bad options fail at construction, not at the first event
    const s = new Account('options-check', this.options).household.sessionizer
    this.eventTime = { gapMs: s.gapMs, allowedLatenessMs: s.allowedLatenessMs, maxClockSkewMs: s.maxClockSkewMs }
  }

  create(account: string): Account {
    return new Account(account, this.options)
  }

  restore(account: string, bytes: Uint8Array): Account {
    return Account.fromSnapshot(account, bytes, this.options)
  }

  snapshot(a: Account): Snapshot {
    return a.takeSnapshot()
  }

  untake(a: Account, s: Snapshot): void {
    if (s.journeys.length > 0) a.journeys?.restore(s.journeys)
  }

  process(a: Account, input: Input, ctx: Ctx): void {
    const out = input.event ? a.push(input.event, input.arrivalMs) : a.expire()
    if (input.event) this.count(out)
    this.emit(out, ctx)
  }

  resume(a: Account, outcome: Outcome<RefitResult>, ctx: Ctx): void {
    // a refit that failed on the pool runs here, inline: the same function, the same result
    const result = outcome.ok ? outcome.result : runRefit(a.household.dueRefit!)
    this.emit(a.completeRefit(result), ctx)
  }

  blocked(a: Account): boolean {
    return a.household.awaitedRefit !== undefined
  }

  pending(a: Account, each: (r: JourneyRecord) => void): void {
    for (const r of a.journeys?.unstored ?? []) each(r)
  }

  /** Emits the output; a refit it carries goes to the pool as a copy (the pool transfers the task's buffers, the household keeps its own for an inline retry). */
  private emit(out: HouseholdOutput, ctx: Ctx): void {
    ctx.emit(out)
    if (out.refit) ctx.offload(cloneTask(out.refit))
  }

  /**
   * What the household did with the one event it was given. Late and clock-ahead refusals are counted by the
   * engine, which dead-letters them (Counters.deadLettered), so that each refusal is counted once.
   */
  private count(out: HouseholdOutput): void {
    const refused = out.rejected[0] // one event pushed: at most one refusal, of that event
    if (refused === undefined) this.counters.eventsApplied++
    else if (refused.reason === 'duplicate') this.counters.duplicatesById++
    else if (refused.reason === 'not-playback') this.counters.notPlayback++
  }
}

function cloneTask(t: RefitTask): RefitTask {
  return { ...t, slot: t.slot.slice(), w: t.w.slice(), dur: t.dur.slice(), current: t.current.slice() }
}

export interface AccountRuntimeOptions extends Omit<RuntimeOptions<Account, HouseholdOutput, RefitTask, RefitResult>, 'handler' | 'offload'> {
  /** Options of every account's model and journeys. */
  account?: AccountOptions
  /** Where refits run (a RefitPool); absent: inline. */
  refits?: OffloadRunner<RefitTask, RefitResult>
}

/** The actor runtime of accounts: an ActorRuntime over an AccountHandler, sharing one counter record. */
export function accountRuntime(o: AccountRuntimeOptions): AccountRuntime {
  const { account, refits, ...runtime } = o
  const counters = o.counters ?? new Counters()
  const handler = new AccountHandler({ account, offloads: refits !== undefined, counters })
  return new ActorRuntime({ ...runtime, counters, handler, offload: refits })
}
