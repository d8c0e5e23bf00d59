// Request-reply services on the bus (docs/subjects.md): household.get, session.score, stats. Requests and
// replies are JSON. With several engine processes each answers only for the accounts it owns, so a
// request reaches exactly one responder; stats answers for the process that replies.
import { IdrError } from '../errors.js'
import type { Engine } from '../engine/engine.js'
import { DEVICE_TYPES, EventError, GENRES, type DeviceType } from '../model/events.js'
import { householdProfile } from '../model/profile.js'
import type { Session } from '../model/sessionizer.js'
import { Pseudonymiser } from '../privacy/pseudonymise.js'
import type { Bus } from '../runtime/bus.js'
import { partitionOf } from '../runtime/partition.js'

const json = new TextEncoder()
const text = new TextDecoder()

/** An error reply: { error: { code, message } }. */
function errorReply(code: string, message: string): Uint8Array {
  return json.encode(JSON.stringify({ error: { code, message } }))
}

export interface ApiServiceOptions {
  /** The key the engine pseudonymises device ids with (what-if sessions name raw devices). */
  pseudonymKey: string | Uint8Array
}

/** Registers the services of one engine on its bus. */
export function serveApi(engine: Engine, bus: Bus, options: ApiServiceOptions): void {
  const p = engine.prefix
  const pseudo = new Pseudonymiser(options.pseudonymKey)
  const owns = (account: string): boolean => engine.owned.has(partitionOf(account, engine.partitionsOf))

  bus.serve(`${p}.api.stats`, () => json.encode(JSON.stringify(engine.stats())))

  bus.serve(`${p}.api.household.get`, (data) => {
    const req = parse(data)
    if ('error' in req) return req.error
    const account = req.value['account']
    if (typeof account !== 'string' || account.length === 0) return errorReply('BAD_REQUEST', 'account (string) is required')
    if (!owns(account)) return undefined
    const h = engine.runtime.peek(account)
    if (!h) return errorReply('NOT_FOUND', `no household ${account}`)
    return json.encode(JSON.stringify(householdProfile(h)))
  })

  bus.serve(`${p}.api.session.score`, (data) => {
    const req = parse(data)
    if ('error' in req) return req.error
    try {
      const { account, session, withDuration } = describedSession(req.value, pseudo)
      if (!owns(account)) return undefined
      const h = engine.runtime.peek(account)
      if (!h) return errorReply('NOT_FOUND', `no household ${account}`)
      return json.encode(JSON.stringify({ account, modelVersion: h.persons.version, persons: h.score(session, withDuration) }))
    } catch (e) {
      if (e instanceof IdrError) return errorReply(e.code, e.message)
      throw e
    }
  })
}

function parse(data: Uint8Array): { value: Record<string, unknown> } | { error: Uint8Array } {
  try {
    const v: unknown = JSON.parse(text.decode(data))
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: errorReply('BAD_REQUEST', 'the request must be a JSON object') }
    return { value: v as Record<string, unknown> }
  } catch {
    return { error: errorReply('BAD_REQUEST', 'the request is not JSON') }
  }
}

/** A what-if session: { account, device, deviceType, startTs, durationSec?, genres?, screenIn? }. */
function describedSession(o: Record<string, unknown>, pseudo: Pseudonymiser): { account: string, session: Session, withDuration: boolean } {
  const str = (f: string): string => {
    const v = o[f]
    if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw new EventError('BAD_TYPE', f, `${f} must be a non-empty string`)
    return v
  }
  const num = (f: string, min: number, max: number): number | undefined => {
    const v = o[f]
    if (v === undefined) return undefined
    if (typeof v !== 'number' || !(v >= min && v <= max)) throw new EventError('OUT_OF_RANGE', f, `${f} must be a number in [${min}, ${max}]`)
    return v
  }
  const account = str('account')
  const deviceType = str('deviceType')
  if (!(DEVICE_TYPES as readonly string[]).includes(deviceType)) throw new EventError('BAD_DEVICE_TYPE', 'deviceType', `deviceType must be one of ${DEVICE_TYPES.join(', ')}`)
  const startTs = num('startTs', 946_684_800_000, 4_102_444_800_000)
  if (startTs === undefined) throw new EventError('MISSING_FIELD', 'startTs', 'startTs (epoch ms) is required')
  const durationSec = num('durationSec', 0, 86_400)
  const genreWeights = new Float64Array(GENRES.length)
  const genres = Array.isArray(o['genres']) ? o['genres'] : []
  genres.slice(0, 16).forEach((g, i) => {
    const at = typeof g === 'string' ? GENRES.indexOf(g.toLowerCase() as (typeof GENRES)[number]) : -1
    genreWeights[at >= 0 ? at : GENRES.length - 1]! += i === 0 ? 1 : 0.5
  })
  const session: Session = {
    id: `${account}#what-if`, device: pseudo.device(str('device')), deviceType: deviceType as DeviceType, screenIn: num('screenIn', 1, 300),
    startTs, lastTs: startTs + (durationSec ?? 0) * 1000, stopTs: undefined, events: 1, pauses: 0, watchedSec: durationSec ?? 0,
    genreWeights, content: undefined, contentSwitches: 0, firstEventId: 'what-if', truth: undefined,
  }
  return { account, session, withDuration: durationSec !== undefined }
}
