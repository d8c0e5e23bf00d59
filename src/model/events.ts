// Event schema version 1: the contract with publishers (field names fixed by ../shared/DESIGN.md; types,
// limits and codes defined here and in docs/events.md). One validator for every entry point: the bus
// ingress, NDJSON files, the simulator's own output in tests.
import { IdrError } from '../errors.js'
import { isToken, TOKEN_MAX_LENGTH, TOKEN_PATTERN, tokenProblem } from '../contracts/token.js'

export const SCHEMA_VERSION = 1

export const EVENT_KINDS = ['play', 'heartbeat', 'pause', 'stop', 'touch', 'convert'] as const
export type EventKind = (typeof EVENT_KINDS)[number]
/** Kinds that belong to a viewing session. */
export const PLAYBACK_KINDS: readonly EventKind[] = ['play', 'heartbeat', 'pause', 'stop']

export const DEVICE_TYPES = ['tv', 'desktop', 'mobile', 'tablet', 'console', 'other'] as const
export type DeviceType = (typeof DEVICE_TYPES)[number]

/** The genre vocabulary; any other name maps to 'other'. */
export const GENRES = [
  'drama', 'comedy', 'action', 'thriller', 'crime', 'scifi', 'fantasy', 'horror', 'romance', 'documentary',
  'news', 'sports', 'kids', 'animation', 'reality', 'music', 'other',
] as const
export type Genre = (typeof GENRES)[number]

/** Marketing channels for `touch` events; any other name maps to 'other'. */
export const CHANNELS = ['email', 'social', 'search', 'display', 'affiliate', 'push', 'tv', 'organic', 'referral', 'other'] as const
export type Channel = (typeof CHANNELS)[number]

/** Limits enforced by the validator (documented in docs/events.md). */
export const EVENT_LIMITS = {
  idMaxLength: 128,
  /** The account is a subject token: TOKEN_PATTERN (src/contracts/token.ts). */
  accountMaxLength: TOKEN_MAX_LENGTH,
  deviceMaxLength: 128,
  contentMaxLength: 256,
  campaignMaxLength: 128,
  truthMaxLength: 64,
  ipMaxLength: 64,
  genresMax: 16,
  /** 2000-01-01T00:00:00Z .. 2100-01-01T00:00:00Z, epoch ms */
  tsMin: 946_684_800_000,
  tsMax: 4_102_444_800_000,
  durationSecMax: 86_400,
  screenInMin: 1,
  screenInMax: 300,
  valueMax: 1e9,
} as const

/** A validated event. Optional fields are absent, never undefined-valued. */
export interface IdrEvent {
  readonly v: 1
  readonly id: string
  /** Event time, epoch milliseconds. */
  readonly ts: number
  readonly account: string
  readonly device: string
  readonly kind: EventKind
  readonly deviceType?: DeviceType
  /** Screen diagonal, inches. */
  readonly screenIn?: number
  readonly content?: string
  readonly genres?: readonly Genre[]
  /** Seconds watched since the previous event of this session. */
  readonly durationSec?: number
  readonly ip?: string
  readonly channel?: Channel
  readonly campaign?: string
  readonly value?: number
  /** The real person (simulations and evaluations only; never read by the model). Co-viewing: ids joined by '+'. */
  readonly truth?: string
}

export type EventErrorCode =
  | 'NOT_AN_OBJECT'
  | 'MISSING_FIELD'
  | 'BAD_TYPE'
  | 'BAD_VERSION'
  | 'BAD_KIND'
  | 'BAD_DEVICE_TYPE'
  | 'OUT_OF_RANGE'
  | 'TOO_LONG'
  | 'BAD_ACCOUNT'

/** An event that does not meet schema version 1. `field` names the offending field (undefined: the event as a whole). */
export class EventError extends IdrError {
  declare readonly code: EventErrorCode
  constructor(code: EventErrorCode, readonly field: string | undefined, message: string) {
    super(code, message)
  }
}

type Raw = Record<string, unknown>

/** A string field's value checked (the one copy of the rule: validateEvent and ingress's single pass call it). */
export function checkString(v: unknown, field: string, max: number, required: boolean): string | undefined {
  if (v === undefined || v === null) {
    if (required) throw new EventError('MISSING_FIELD', field, `${field} is required`)
    return undefined
  }
  if (typeof v !== 'string') throw new EventError('BAD_TYPE', field, `${field} must be a string, got ${typeof v}`)
  if (required && v.length === 0) throw new EventError('MISSING_FIELD', field, `${field} must not be empty`)
  if (v.length > max) throw new EventError('TOO_LONG', field, `${field} is ${v.length} characters, at most ${max}`)
  return v
}

/** A number field's value checked against [min, max] (the one copy of the rule). */
export function checkNumber(v: unknown, field: string, min: number, max: number, required: boolean, unit: string): number | undefined {
  if (v === undefined || v === null) {
    if (required) throw new EventError('MISSING_FIELD', field, `${field} is required`)
    return undefined
  }
  if (typeof v !== 'number') throw new EventError('BAD_TYPE', field, `${field} must be a number (${unit}), got ${typeof v}`)
  if (!(v >= min && v <= max)) throw new EventError('OUT_OF_RANGE', field, `${field} must be in [${min}, ${max}] ${unit}, got ${v}`)
  return v
}

/** value if it is one of `allowed`, else fallback. */
export function oneOf<T extends string>(value: string, allowed: readonly T[], fallback: T): T {
  return (allowed as readonly string[]).includes(value) ? (value as T) : fallback
}
export const str = (o: Raw, field: string, max: number, required: boolean): string | undefined => checkString(o[field], field, max, required)

// The account becomes a subject token (idr.out.assign.<account>): the token rule, not just a length.
export function checkAccount(v: unknown): string {
  const a = checkString(v, 'account', Infinity, true)!
  if (!isToken(a)) throw new EventError('BAD_ACCOUNT', 'account', `account ${tokenProblem(a)} (an account is ${TOKEN_PATTERN})`)
  return a
}

const account = (o: Raw): string => checkAccount(o['account'])

const num = (o: Raw, field: string, min: number, max: number, required: boolean, unit: string): number | undefined => checkNumber(o[field], field, min, max, required, unit)

/** Checks one decoded event against schema version 1 and returns it typed; throws EventError otherwise. */
export function validateEvent(raw: unknown): IdrEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new EventError('NOT_AN_OBJECT', undefined, `an event must be an object, got ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : typeof raw}`)
  }
  const o = raw as Raw
  const L = EVENT_LIMITS
  if (o['v'] === undefined) throw new EventError('MISSING_FIELD', 'v', 'v (schema version) is required')
  if (o['v'] !== SCHEMA_VERSION) {
    const v = o['v']
    const got = typeof v === 'number' ? `version ${v} is not supported` : `v is a ${Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v}`
    throw new EventError('BAD_VERSION', 'v', `${got}: v must be the number ${SCHEMA_VERSION}`)
  }
  const kindRaw = str(o, 'kind', 16, true)!
  if (!(EVENT_KINDS as readonly string[]).includes(kindRaw)) {
    throw new EventError('BAD_KIND', 'kind', `kind "${kindRaw}" is not one of ${EVENT_KINDS.join(', ')}`)
  }
  const kind = kindRaw as EventKind
  const ts = num(o, 'ts', L.tsMin, L.tsMax, true, 'epoch ms')!
  if (!Number.isInteger(ts)) throw new EventError('BAD_TYPE', 'ts', `ts must be an integer (epoch ms), got ${ts}`)
  const e: { -readonly [K in keyof IdrEvent]: IdrEvent[K] } = {
    v: 1,
    id: str(o, 'id', L.idMaxLength, true)!,
    ts,
    account: account(o),
    device: str(o, 'device', L.deviceMaxLength, true)!,
    kind,
  }
  const playback = PLAYBACK_KINDS.includes(kind)
  const deviceType = str(o, 'deviceType', 16, false)
  if (deviceType !== undefined) {
    if (!(DEVICE_TYPES as readonly string[]).includes(deviceType)) {
      throw new EventError('BAD_DEVICE_TYPE', 'deviceType', `deviceType "${deviceType}" is not one of ${DEVICE_TYPES.join(', ')}`)
    }
    e.deviceType = deviceType as DeviceType
  } else if (kind === 'play') {
    throw new EventError('MISSING_FIELD', 'deviceType', 'deviceType is required on play events')
  }
  const screenIn = num(o, 'screenIn', L.screenInMin, L.screenInMax, false, 'inches')
  if (screenIn !== undefined) e.screenIn = screenIn
  const content = str(o, 'content', L.contentMaxLength, kind === 'play')
  if (content !== undefined) e.content = content
  const genres = o['genres']
  if (genres !== undefined && genres !== null) {
    if (!Array.isArray(genres)) throw new EventError('BAD_TYPE', 'genres', 'genres must be an array of strings')
    if (genres.length > L.genresMax) throw new EventError('TOO_LONG', 'genres', `genres has ${genres.length} entries, at most ${L.genresMax}`)
    e.genres = genres.map((g, i) => {
      if (typeof g !== 'string') throw new EventError('BAD_TYPE', `genres[${i}]`, `genres[${i}] must be a string`)
      return oneOf(g.toLowerCase(), GENRES, 'other')
    })
  }
  const durationSec = num(o, 'durationSec', 0, L.durationSecMax, false, 's')
  if (durationSec !== undefined) e.durationSec = durationSec
  else if (playback && kind !== 'play') e.durationSec = 0
  const ip = str(o, 'ip', L.ipMaxLength, false)
  if (ip !== undefined) e.ip = ip
  if (kind === 'touch') {
    e.channel = oneOf(str(o, 'channel', 32, true)!.toLowerCase(), CHANNELS, 'other')
    const campaign = str(o, 'campaign', L.campaignMaxLength, false)
    if (campaign !== undefined) e.campaign = campaign
  }
  if (kind === 'convert') {
    const value = num(o, 'value', 0, L.valueMax, false, 'currency units')
    if (value !== undefined) e.value = value
  }
  const truth = str(o, 'truth', L.truthMaxLength, false)
  if (truth !== undefined) e.truth = truth
  return e
}
