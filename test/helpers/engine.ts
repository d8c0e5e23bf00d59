// Engine fixtures: simulated events, their batching into msgpack messages, and the direct replay the
// engine's outputs are compared with.
import { decode, encode } from '@msgpack/msgpack'
import { PLAYBACK_KINDS, type IdrEvent } from '../../src/model/events.js'
import { Account } from '../../src/account/account.js'
import type { Assignment, HouseholdOutput } from '../../src/model/household.js'
import { DEFAULT_ALLOWED_LATENESS_MS, DEFAULT_SESSION_GAP_MS } from '../../src/model/sessionizer.js'
import { Pseudonymiser } from '../../src/privacy/pseudonymise.js'
import { simulate } from '../../src/sim/simulator.js'

export const TEST_KEY = 'test-pseudonym-key-0123456789abcdef'

/** Simulated events in stream order, without the duplicates and disorder the simulator can add. */
export function simEvents(households: number, days: number, seed: number): IdrEvent[] {
  return [...simulate({ households, days, seed, duplicateRate: 0, lateRate: 0 }).events()]
}

/**
 * Messages of up to `batch` events (single events when batch = 1). 'mixed': consecutive events of any
 * accounts; 'per-account': each message holds one account's consecutive events (what mapped subjects need).
 */
export function messages(events: readonly IdrEvent[], batch: number, grouping: 'mixed' | 'per-account' = 'mixed'): { account: string, data: Uint8Array }[] {
  const out: { account: string, data: Uint8Array }[] = []
  const push = (chunk: readonly IdrEvent[]): void => {
    out.push({ account: chunk[0]!.account, data: batch === 1 ? encode(chunk[0]) : encode(chunk) })
  }
  if (grouping === 'mixed') {
    for (let i = 0; i < events.length; i += batch) push(events.slice(i, i + batch))
    return out
  }
  const open = new Map<string, IdrEvent[]>()
  for (const e of events) {
    const chunk = open.get(e.account) ?? []
    chunk.push(e)
    if (chunk.length === batch) {
      push(chunk)
      open.delete(e.account)
    } else {
      open.set(e.account, chunk)
    }
  }
  for (const chunk of open.values()) push(chunk)
  return out
}

/**
 * Per account, the assignments a household replay of the same (pseudonymised) events publishes, sent as messages
 * of `batch` events of one partition, with the event-time timers written out plainly as the reference: an
 * account's timer is due a session gap after the partition's newest playback event time when its last playback
 * event arrived; after each message, every account whose timer the partition's watermark (newest − allowed
 * lateness) has passed is expired (Household.expire) and its timer disarmed until its next playback event.
 */
export function directAssignments(events: readonly IdrEvent[], batch: number, key = TEST_KEY): Map<string, Assignment[]> {
  const pseudo = new Pseudonymiser(key)
  const out = new Map<string, Assignment[]>()
  directReplay(chunks(events.map((e) => ({ ...e, device: pseudo.device(e.device) })), batch), (account, o) => {
    out.set(account, [...(out.get(account) ?? []), ...o.assignments])
  })
  return out
}

/** Consecutive chunks of up to `batch` events: the messages messages(events, batch) makes. */
export function chunks<T>(items: readonly T[], batch: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += batch) out.push(items.slice(i, i + batch))
  return out
}

/** The replay directAssignments describes over these messages, handing every household output to `each`. */
export function directReplay(messageEvents: readonly (readonly IdrEvent[])[], each: (account: string, out: HouseholdOutput, a: Account) => void): void {
  const households = new Map<string, Account>()
  const due = new Map<string, number>() // account → when its timer is due, epoch ms
  let newest = -Infinity
  for (const message of messageEvents) {
    for (const e of message) {
      let h = households.get(e.account)
      if (!h) households.set(e.account, (h = new Account(e.account)))
      each(e.account, h.push(e, Date.now()), h)
      if (PLAYBACK_KINDS.includes(e.kind)) {
        newest = Math.max(newest, e.ts)
        due.set(e.account, Math.max(due.get(e.account) ?? -Infinity, newest + DEFAULT_SESSION_GAP_MS))
      }
    }
    const watermark = newest - DEFAULT_ALLOWED_LATENESS_MS
    for (const [account, at] of due) {
      if (!(watermark > at)) continue
      due.delete(account)
      const q = households.get(account)!
      each(account, q.expire(), q)
    }
  }
}

/** Decoded assignments grouped by account, in arrival order. */
export class AssignmentLog {
  readonly byAccount = new Map<string, Assignment[]>()
  count = 0
  add(data: Uint8Array): void {
    const a = decode(data) as Assignment
    const list = this.byAccount.get(a.account) ?? []
    list.push(a)
    this.byAccount.set(a.account, list)
    this.count++
  }
}
