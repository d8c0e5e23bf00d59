// The household's snapshot format: its versions, its codec, and the upgrades of older formats to the current
// one. Household (./household.ts) only ever sees a state of the current format.
import { decode, encode } from '@msgpack/msgpack'
import { IdrError } from '../errors.js'
import { LEGACY_ROW_BYTES, ObservationRing } from './observation.js'
import type { PersonModelState } from './persons.js'
import type { SessionizerState } from './sessionizer.js'

/**
 * Format version of toSnapshot(); 1 was the Gaussian model of the first release, 2 applied refits at their
 * trigger, 3 kept no session start times in the history, 4 no journeys.
 */
export const SNAPSHOT_VERSION = 5
const READABLE_SNAPSHOT_VERSIONS: readonly number[] = [2, 3, 4, 5]

/** Serializable household state of the current format (what Household restores from). */
export interface HouseholdState {
  readonly v: typeof SNAPSHOT_VERSION
  readonly sessionizer: SessionizerState
  readonly persons: PersonModelState
  /** Device ids in slot order. */
  readonly devices: readonly string[]
  /** Observation rows (16 bytes each; 12 in formats 2 and 3) in ring order. */
  readonly history: Uint8Array
  readonly historyTotal: number
  readonly closedSessions: number
  readonly nextRefitAt: number
  readonly published: readonly (readonly [string, readonly (readonly [string, number])[]])[]
  /** A refit was triggered and is applied at the next close (absent: none). */
  readonly refitDue?: true
}

/** A state as stored, in any readable format (2 to 5); upgradeState() makes it current. */
export type StoredHouseholdState = Omit<HouseholdState, 'v'> & { readonly v: 2 | 3 | 4 | typeof SNAPSHOT_VERSION }

/**
 * The state as msgpack bytes; the same state gives the same bytes. A layer above may store its own fields in
 * the same record (the account's journeys, src/account/): `extra` follows the household's fields.
 */
export function encodeSnapshot<X extends object>(s: HouseholdState, extra?: X): Uint8Array {
  return encode(extra ? { ...s, ...extra } : s, { ignoreUndefined: true })
}

/**
 * The current-format state of snapshot bytes of any readable format, with whatever else the record holds
 * (fields of the layer above, each to be checked by that layer); BAD_SNAPSHOT when unreadable.
 */
export function decodeSnapshot<X extends object = object>(account: string, bytes: Uint8Array): HouseholdState & Partial<X> {
  let state: StoredHouseholdState
  try {
    state = decode(bytes) as StoredHouseholdState
  } catch (cause) {
    throw new IdrError('BAD_SNAPSHOT', `snapshot of ${account} cannot be decoded`, { cause })
  }
  if (typeof state !== 'object' || state === null || !READABLE_SNAPSHOT_VERSIONS.includes((state as { v: number }).v)) {
    throw new IdrError('BAD_SNAPSHOT', `snapshot of ${account} has format ${String((state as { v?: unknown } | null)?.v)}, expected ${READABLE_SNAPSHOT_VERSIONS.join(' or ')}`)
  }
  // the fields of the layer above are carried through unread (upgradeState keeps them): that layer checks them
  return upgradeState(state) as HouseholdState & Partial<X>
}

/**
 * A stored state in the current format. Format 2 differs only in having no due refit (it refused snapshots while
 * one was out); formats 2 and 3 kept 12-byte history rows without session start times (their rows count as
 * started at the last event time); formats 2 to 4 kept no journeys and no last closed sessions (both start empty).
 */
export function upgradeState(s: StoredHouseholdState): HouseholdState {
  if (s.v === SNAPSHOT_VERSION) return s as HouseholdState
  const rows = Math.floor(s.history.length / (s.v >= 4 ? 16 : LEGACY_ROW_BYTES))
  const history = s.v >= 4
    ? s.history
    : ObservationRing.fromBytes(Math.max(1, rows), s.historyTotal, s.history, LEGACY_ROW_BYTES, Math.floor(Math.max(0, s.sessionizer.maxTs) / 1000)).toBytes()
  return { ...s, v: SNAPSHOT_VERSION, history }
}
