// The attribution report of a running engine (idr.api.attribution.report, `idr attribute --nats`): the
// journeys the engine kept, selected by level, account, person and end time, aggregated into a path table and
// run through the models (docs/attribution.md, "On the running engine").
import { isToken, TOKEN_PATTERN, tokenProblem } from '../contracts/token.js'
import { CHANNELS } from '../model/events.js'
import { AttributionError } from './errors.js'
import { MODELS, attribute, type AttributeOptions } from './index.js'
import type { JourneyPath, JourneySelection, LedgerLevel } from './ledger.js'
import { MAX_MARKOV_ORDER } from './markov.js'
import type { Attribution, ModelName } from './result.js'
import { DAY_MS, DEFAULT_DECAY_HALF_LIFE_DAYS, TimedJourneys } from './timed.js'

/** A checked report request. */
export interface ReportRequest {
  readonly level: LedgerLevel
  readonly models: readonly ModelName[]
  /** Markov order (and the hybrid's). */
  readonly order: number
  /** Journeys that ended in [fromMs, toMs); absent: unbounded. */
  readonly fromMs?: number
  readonly toMs?: number
  readonly account?: string
  readonly person?: string
  /** Time decay by real time: half-life in days (default 7); with halfLifeTouches, by touches instead. */
  readonly halfLifeDays: number
  readonly halfLifeTouches?: number
  readonly dedupRepeats: boolean
  readonly markovWeight?: number
}

/** The reply: the selection, its totals, and per model the `idr attribute --json` object. */
export interface AttributionReport {
  readonly level: LedgerLevel
  readonly from: string | null
  readonly to: string | null
  readonly account?: string
  readonly person?: string
  readonly journeys: number
  readonly conversions: number
  readonly value: number
  readonly nulls: number
  readonly models: readonly Attribution[]
}

/** Where the journeys come from: calls `each` for every journey of the selection. */
export type JourneySource = (q: JourneySelection & { level: LedgerLevel }, each: (p: JourneyPath) => void) => void

const FIELDS = ['level', 'model', 'order', 'from', 'to', 'account', 'person', 'halfLifeDays', 'halfLifeTouches', 'dedupRepeats', 'markovWeight']

/** Checks a JSON request: `{ level: 'account'|'person', model?, order?, from?, to?, account?, person?, halfLifeDays?, halfLifeTouches?, dedupRepeats?, markovWeight? }`. */
export function checkReportRequest(o: Record<string, unknown>): ReportRequest {
  for (const k of Object.keys(o)) if (!FIELDS.includes(k)) bad(`unknown field "${k}"; known: ${FIELDS.join(', ')}`)
  const level = o['level'] ?? 'person'
  if (level !== 'account' && level !== 'person') bad(`level must be "account" or "person", got ${JSON.stringify(level)}`)
  const model = o['model'] ?? 'all'
  if (typeof model !== 'string' || (model !== 'all' && !MODELS.includes(model as ModelName))) bad(`model must be one of ${MODELS.join(', ')} or all, got ${JSON.stringify(model)}`)
  const order = o['order'] ?? 1
  if (!(Number.isInteger(order) && (order as number) >= 1 && (order as number) <= MAX_MARKOV_ORDER)) bad(`order must be an integer in 1..${MAX_MARKOV_ORDER}, got ${JSON.stringify(order)}`)
  const fromMs = time(o['from'], 'from')
  const toMs = time(o['to'], 'to')
  if (fromMs !== undefined && toMs !== undefined && !(fromMs < toMs)) bad(`from must be before to, got ${o['from']} and ${o['to']}`)
  const account = text(o['account'], 'account')
  if (account !== undefined && !isToken(account)) bad(`account ${tokenProblem(account)} (an account is ${TOKEN_PATTERN})`)
  const person = text(o['person'], 'person')
  if (person !== undefined && !isToken(person)) bad(`person ${tokenProblem(person)} (a person id is ${TOKEN_PATTERN}, e.g. p2)`)
  if (person !== undefined && account === undefined) bad('person needs account: person ids are per household')
  if (person !== undefined && level !== 'person') bad('person needs level "person"')
  const halfLifeDays = o['halfLifeDays'] ?? DEFAULT_DECAY_HALF_LIFE_DAYS
  if (!(typeof halfLifeDays === 'number' && halfLifeDays > 0 && halfLifeDays < Infinity)) bad(`halfLifeDays must be a positive number, got ${JSON.stringify(halfLifeDays)}`)
  const halfLifeTouches = o['halfLifeTouches']
  if (halfLifeTouches !== undefined && !(typeof halfLifeTouches === 'number' && halfLifeTouches > 0 && halfLifeTouches < Infinity)) bad(`halfLifeTouches must be a positive number, got ${JSON.stringify(halfLifeTouches)}`)
  const dedupRepeats = o['dedupRepeats'] ?? false
  if (typeof dedupRepeats !== 'boolean') bad(`dedupRepeats must be true or false, got ${JSON.stringify(dedupRepeats)}`)
  const markovWeight = o['markovWeight']
  if (markovWeight !== undefined && !(typeof markovWeight === 'number' && markovWeight >= 0 && markovWeight <= 1)) bad(`markovWeight must be a number in [0, 1], got ${JSON.stringify(markovWeight)}`)
  return {
    level, models: model === 'all' ? MODELS : [model as ModelName], order: order as number, halfLifeDays, dedupRepeats,
    ...(fromMs !== undefined ? { fromMs } : {}), ...(toMs !== undefined ? { toMs } : {}),
    ...(account !== undefined ? { account } : {}), ...(person !== undefined ? { person } : {}),
    ...(halfLifeTouches !== undefined ? { halfLifeTouches } : {}), ...(markovWeight !== undefined ? { markovWeight: markovWeight as number } : {}),
  }
}

/** Runs the report over the journeys `source` selects. Channels are listed in CHANNELS order, those present only. */
export function attributionReport(source: JourneySource, req: ReportRequest): AttributionReport {
  const timed = new TimedJourneys()
  const present = new Set<number>()
  let conversions = 0
  let value = 0
  let nulls = 0
  const q = { level: req.level, account: req.account, person: req.person, fromMs: req.fromMs, toMs: req.toMs }
  source(q, (r) => {
    timed.addPath(r)
    for (let i = 0; i < r.channels.length; i++) present.add(r.channels[i]!)
    conversions += r.conversions
    value += r.value
    nulls += r.nulls
  })
  const base = {
    level: req.level, from: iso(req.fromMs), to: iso(req.toMs),
    ...(req.account !== undefined ? { account: req.account } : {}), ...(req.person !== undefined ? { person: req.person } : {}),
    journeys: timed.size, conversions, value, nulls,
  }
  if (conversions === 0) return { ...base, models: req.models.map((model) => ({ model, channels: [] })) }
  const table = timed.table(CHANNELS.filter((_, i) => present.has(i)))
  const options: AttributeOptions = {
    order: req.order, dedupRepeats: req.dedupRepeats,
    ...(req.halfLifeTouches !== undefined ? { halfLife: req.halfLifeTouches } : {}),
    ...(req.markovWeight !== undefined ? { markovWeight: req.markovWeight } : {}),
  }
  const models = req.models.map((model) => (model === 'decay' && req.halfLifeTouches === undefined
    ? timed.decay(req.halfLifeDays * DAY_MS, table)
    : attribute(table, model, options)))
  return { ...base, models }
}

function time(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined
  const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN
  if (!Number.isFinite(ms)) bad(`${name} must be epoch ms or an ISO date, got ${JSON.stringify(v)}`)
  return ms
}

function text(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || v.length === 0) bad(`${name} must be a non-empty string, got ${JSON.stringify(v)}`)
  return v
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString())

function bad(message: string): never {
  throw new AttributionError('BAD_OPTION', `attribution report: ${message}`)
}
