// Request-reply services on the bus (docs/subjects.md): household.get, session.score, stats, attribution.report, and with an
// Eraser privacy.erase and privacy.export (admin only: the server's permissions decide). Requests and
// replies are JSON. With several engine processes each answers only for the accounts it owns, so a
// request reaches exactly one responder; stats answers for the process that replies.
import { attributionReport, checkReportRequest } from '../attribution/report.js'
import { IdrError } from '../errors.js'
import type { Engine } from '../engine/engine.js'
import { isToken, TOKEN_PATTERN, tokenProblem } from '../contracts/token.js'
import { GENRES, validateEvent } from '../model/events.js'
import { householdProfile } from '../model/profile.js'
import { addGenreWeights, type Session } from '../model/sessionizer.js'
import type { Eraser } from '../privacy/erase.js'
import type { Pseudonymiser } from '../privacy/pseudonymise.js'
import type { Bus } from '../runtime/bus.js'
import { partitionOf } from '../contracts/partition.js'

const json = new TextEncoder()
const text = new TextDecoder()

/** An error reply: { error: { code, message } }. */
function errorReply(code: string, message: string): Uint8Array {
  return json.encode(JSON.stringify({ error: { code, message } }))
}

/** What serveApi may be given besides the engine and its bus. */
export interface ApiExtras {
  /** Fields added to the stats reply (the landing relay's, say). */
  readonly moreStats?: () => object
  /** Told of a privacy request that failed unexpectedly (it is answered INTERNAL, so its requester does not wait). */
  readonly onError?: (err: unknown) => void
}

/** Registers the services of one engine on its bus (the privacy ones when an eraser is given). */
export function serveApi(engine: Engine, bus: Bus, privacy?: Eraser, extras: ApiExtras = {}): void {
  const { moreStats, onError } = extras
  const p = engine.prefix
  // what-if sessions name raw devices: the engine's own pseudonymiser keys them
  const pseudo = engine.ingress.pseudonymiser
  const owns = (account: string): boolean => engine.owned.has(partitionOf(account, engine.partitionsOf))

  bus.serve(`${p}.api.stats`, () => json.encode(JSON.stringify(moreStats ? { ...engine.stats(), ...moreStats() } : engine.stats())))

  bus.serve(`${p}.api.household.get`, (data) => {
    const req = parse(data)
    if ('error' in req) return req.error
    const account = req.value['account']
    if (typeof account !== 'string' || account.length === 0) return errorReply('BAD_REQUEST', 'account (string) is required')
    if (!isToken(account)) return errorReply('BAD_ACCOUNT', `account ${tokenProblem(account)} (an account is ${TOKEN_PATTERN})`)
    if (!owns(account)) return undefined
    const h = engine.household(account)
    if (!h) return errorReply('NOT_FOUND', `no household ${account}`)
    return json.encode(JSON.stringify(householdProfile(h)))
  })

  bus.serve(`${p}.api.attribution.report`, (data) => {
    const req = parse(data)
    if ('error' in req) return req.error
    try {
      const r = checkReportRequest(req.value)
      if (r.account !== undefined && !owns(r.account)) return undefined
      const report = attributionReport((q, each) => engine.journeys(q, each), r)
      return json.encode(JSON.stringify({ ...report, partitions: [...engine.owned].sort((a, b) => a - b), of: engine.partitionsOf }))
    } catch (e) {
      if (e instanceof IdrError) return errorReply(e.code, e.message)
      throw e
    }
  })

  if (privacy) {
    const guarded = (verb: string, run: (req: Record<string, unknown>) => Promise<unknown>): void => {
      bus.serve(`${p}.api.privacy.${verb}`, async (data) => {
        const req = parse(data)
        if ('error' in req) return req.error
        const account = req.value['account']
        if (typeof account === 'string' && account.length > 0 && !owns(account)) return undefined
        try {
          return json.encode(JSON.stringify(await run(req.value)))
        } catch (e) {
          if (e instanceof IdrError) return errorReply(e.code, e.message)
          onError?.(e)
          return errorReply('INTERNAL', `the ${verb} request failed: ${e instanceof Error ? e.message : String(e)}`)
        }
      })
    }
    guarded('erase', (req) => privacy.erase(req as never))
    guarded('export', (req) => privacy.export(req as never))
  }

  bus.serve(`${p}.api.session.score`, (data) => {
    const req = parse(data)
    if ('error' in req) return req.error
    try {
      const { account, session, withDuration } = describedSession(req.value, pseudo)
      if (!owns(account)) return undefined
      const h = engine.household(account)
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

/**
 * A what-if session: { account, device, deviceType, startTs, durationSec?, genres?, screenIn? }, checked by the
 * event validator as the play event that would open it (same types, limits and genre vocabulary).
 */
function describedSession(o: Record<string, unknown>, pseudo: Pseudonymiser): { account: string, session: Session, withDuration: boolean } {
  const e = validateEvent({
    v: 1, id: 'what-if', kind: 'play', content: 'what-if', ts: o['startTs'], account: o['account'], device: o['device'],
    deviceType: o['deviceType'], genres: o['genres'], durationSec: o['durationSec'], screenIn: o['screenIn'],
  })
  const watchedSec = e.durationSec ?? 0
  const genreWeights = new Float64Array(GENRES.length)
  if (e.genres) addGenreWeights(genreWeights, e.genres)
  const session: Session = {
    id: `${e.account}#what-if`, device: pseudo.device(e.device), deviceType: e.deviceType!, screenIn: e.screenIn,
    startTs: e.ts, lastTs: e.ts + watchedSec * 1000, stopTs: undefined, events: 1, pauses: 0, watchedSec,
    genreWeights, content: undefined, contentSwitches: 0, firstEventId: e.id, truth: undefined,
  }
  return { account: e.account, session, withDuration: e.durationSec !== undefined }
}
