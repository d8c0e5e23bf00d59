// `idr attribute`: channel attribution under one model or all of them, of a ChannelAttribution path-table CSV,
// of NDJSON events whose journeys are built per account, per person or per true person, or of the journeys a
// running engine keeps (--nats: idr.api.attribution.report) (docs/attribution.md).
import { extname } from 'node:path'
import { connect } from 'nats'
import {
  attribute, AttributionError, DEFAULT_DECAY_HALF_LIFE_DAYS, DEFAULT_LOOKBACK_MS, MAX_MARKOV_ORDER, MODELS, readPathTable,
  type AttributeOptions, type Attribution, type ModelName, type PathTable,
} from '../attribution/index.js'
import { JOURNEY_LEVELS, JourneyBuilder, type JourneyLevel, type PersonSplit } from '../account/index.js'
import type { AttributionReport } from '../attribution/report.js'
import type { IdrEvent } from '../model/events.js'
import { readEventsNdjson } from '../sim/ndjson.js'
import { exitCodeOf, parseFlags, UsageError, wantsHelp } from '../options/args.js'
import { DEFAULT_PREFIX } from '../contracts/subjects.js'

/** One day, ms. */
const DAY_MS = 86_400_000

export const ATTRIBUTE_USAGE = `idr attribute (--input FILE | --nats URL) [options]: channel attribution (docs/attribution.md)

Input, one of:
  --input FILE           a ChannelAttribution path-table CSV, or NDJSON events (.ndjson, .jsonl; idr simulate
                         writes them) whose journeys are built per account, per person or per true person
  --nats URL             the journeys a running engine keeps (idr.api.attribution.report), narrowed by
                         --account A, --person P, --from T, --to T (epoch ms or ISO time), --prefix P

Models:
  --model M              first, last, linear, decay, position, markov, shapley, hybrid or all (default all)
  --order N              Markov order, 1 to ${MAX_MARKOV_ORDER} (default 1; also the hybrid's Markov part)
  --half-life N          time decay by touches: half-life in touches (the only rule for a path table; default 1)
  --half-life-days D     time decay by real time: half-life in days (events and --nats; default ${DEFAULT_DECAY_HALF_LIFE_DAYS})
  --dedup-repeats        collapse consecutive repeats (A > A > B → A > B) before the Markov chain is built
  --markov-weight W      the hybrid's weight on Markov, 0 to 1 (default 0)

Journeys from events:
  --level L              account, person or oracle (the true person; needs truth on every touch and convert);
                         default person (with --nats: account or person)
  --split soft|hard      person level: split a conversion by the model's probabilities (soft, default) or give
                         it to the most probable person (hard)
  --lookback-days D      touches this long before a conversion count (default ${DEFAULT_LOOKBACK_MS / DAY_MS})

Output:
  --json                 one JSON object per model, one per line

Examples:
  idr attribute --input test/fixtures/attribution-paths.csv --model markov --order 2
  idr simulate --households 500 --out events.ndjson
  idr attribute --input events.ndjson --level person --model shapley --json`
/** How long `--nats` waits for the engine's reply, ms. */
const REPORT_TIMEOUT_MS = 60_000
/** How a person-level conversion is credited by default (docs/attribution.md, "Soft or hard"). */
const DEFAULT_SPLIT: PersonSplit = 'soft'
/** Extensions taken for event streams rather than path tables. */
const EVENT_EXTENSIONS = new Set(['.ndjson', '.jsonl'])

function parseModel(v: string | undefined): readonly ModelName[] {
  const name = v ?? 'all'
  if (name === 'all') return MODELS
  if (!(MODELS as readonly string[]).includes(name)) throw new AttributionError('BAD_OPTION', `--model must be one of ${MODELS.join(', ')}, all, got "${name}"`)
  return [name as ModelName]
}

function parseOptions(values: { order?: string | undefined, 'half-life'?: string | undefined, 'dedup-repeats'?: boolean | undefined, 'markov-weight'?: string | undefined }): AttributeOptions {
  const options: AttributeOptions = {}
  if (values.order !== undefined) {
    const order = Number(values.order)
    if (!Number.isInteger(order) || order < 1 || order > MAX_MARKOV_ORDER) throw new AttributionError('BAD_OPTION', `--order must be an integer from 1 to ${MAX_MARKOV_ORDER}, got "${values.order}"`)
    options.order = order
  }
  if (values['half-life'] !== undefined) {
    const h = Number(values['half-life'])
    if (!(h > 0 && h < Infinity)) throw new AttributionError('BAD_OPTION', `--half-life must be a positive number of touches, got "${values['half-life']}"`)
    options.halfLife = h
  }
  if (values['dedup-repeats']) options.dedupRepeats = true
  if (values['markov-weight'] !== undefined) {
    const w = Number(values['markov-weight'])
    if (!(w >= 0 && w <= 1) || values['markov-weight'].trim() === '') throw new AttributionError('BAD_OPTION', `--markov-weight must be a number in [0, 1], got "${values['markov-weight']}"`)
    options.markovWeight = w
  }
  return options
}

function parseLevel(v: string | undefined): JourneyLevel {
  const level = v ?? 'person'
  if (!(JOURNEY_LEVELS as readonly string[]).includes(level)) throw new AttributionError('BAD_OPTION', `--level must be one of ${JOURNEY_LEVELS.join(', ')}, got "${level}"`)
  return level as JourneyLevel
}

function parseSplit(v: string | undefined): PersonSplit {
  const split = v ?? DEFAULT_SPLIT
  if (split !== 'soft' && split !== 'hard') throw new AttributionError('BAD_OPTION', `--split must be soft or hard, got "${split}"`)
  return split
}

function parseLookback(v: string | undefined): number {
  if (v === undefined) return DEFAULT_LOOKBACK_MS
  const days = Number(v)
  const ms = Math.round(days * DAY_MS)
  if (!(days > 0 && days <= 3650) || v.trim() === '') throw new AttributionError('BAD_OPTION', `--lookback-days must be a number of days in (0, 3650], got "${v}"`)
  return ms
}

/**
 * Journeys of one level from an NDJSON event file, in event-time order (a stable sort by ts: the file is a
 * finished batch). Bad lines are skipped and counted on stderr, as `idr eval --input` does.
 */
async function eventTable(file: string, level: JourneyLevel, split: PersonSplit, lookbackMs: number, decayDays: number | undefined): Promise<{ table: PathTable, summary: string, decay?: Attribution }> {
  const reader = readEventsNdjson(file)
  const events: IdrEvent[] = []
  for await (const e of reader) events.push(e)
  if (reader.errors.length > 0) {
    const first = reader.errors[0]!
    console.error(`idr attribute: ${file}: skipped ${reader.errors.length} bad line(s); first: line ${first.line}: ${first.message}`)
  }
  events.sort((a, b) => a.ts - b.ts)
  const b = new JourneyBuilder({ lookbackMs, levels: [level], split, timed: decayDays !== undefined })
  for (const e of events) b.push(e)
  const table = b.table(level)
  if (!table) throw new AttributionError('BAD_OPTION', `${file}: --level oracle needs the true person (truth) on every touch and convert event`)
  if (b.stats.touches === 0) throw new AttributionError('NOT_SUPPORTED', `${file}: no touch events, so no journeys to attribute`)
  const st = b.stats
  const summary = `journeys (${level} level${level === 'person' ? `, ${split} split` : ''}, lookback ${lookbackMs / DAY_MS} days): ${table.rows} distinct paths, ${num(table.totalConversions())} conversions, ${num(table.totalNulls())} null; ` +
    `${st.touches} touches, ${st.conversions} conversions in the file, ${st.unattributed[level]} without a touch in the window`
  if (decayDays === undefined) return { table, summary }
  const timed = b.timed![level === 'person' && split === 'hard' ? 'personHard' : level]
  return { table, summary, decay: timed.decay(decayDays * DAY_MS, table) }
}

/** The JSON shape of one model's result (extra fields of the library result, like the chain's size, left out). */
function toJson(a: Attribution): Attribution {
  return {
    model: a.model,
    channels: a.channels.map((c) => (c.removalEffect === undefined
      ? { channel: c.channel, conversions: c.conversions, value: c.value }
      : { channel: c.channel, conversions: c.conversions, value: c.value, removalEffect: c.removalEffect })),
  }
}

/** An aligned text table: first column left-aligned, the rest right-aligned. */
function aligned(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n')
}

function num(x: number): string {
  return x.toFixed(Math.abs(x) >= 1000 ? 1 : 3)
}

function humanOne(a: Attribution): string {
  const total = a.channels.reduce((s, c) => s + c.conversions, 0)
  const hasRe = a.channels.some((c) => c.removalEffect !== undefined)
  const rows = a.channels.map((c) => [
    c.channel, num(c.conversions), total > 0 ? `${((100 * c.conversions) / total).toFixed(1)} %` : '—', num(c.value),
    ...(hasRe ? [c.removalEffect!.toFixed(4)] : []),
  ])
  return `model: ${a.model}\n${aligned(['channel', 'conversions', 'share', 'value', ...(hasRe ? ['removal effect'] : [])], rows)}`
}

function humanAll(results: readonly Attribution[]): string {
  const channels = results[0]!.channels.map((c) => c.channel)
  const markov = results.find((r) => r.model === 'markov')
  const conv = aligned(
    ['conversions', ...results.map((r) => r.model), ...(markov ? ['markov RE'] : [])],
    channels.map((ch, i) => [ch, ...results.map((r) => num(r.channels[i]!.conversions)), ...(markov ? [markov.channels[i]!.removalEffect!.toFixed(4)] : [])]),
  )
  const value = aligned(['value', ...results.map((r) => r.model)], channels.map((ch, i) => [ch, ...results.map((r) => num(r.channels[i]!.value))]))
  return `${conv}\n\n${value}`
}

/**
 * Runs the command; refusals print their stable code (`idr attribute: … (BAD_PATH_TABLE)`) and exit 2 for a
 * wrong command line (BAD_OPTION), 1 otherwise.
 */
export async function attributeCommand(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    console.log(ATTRIBUTE_USAGE)
    return 0
  }
  try {
    return await run(args)
  } catch (err) {
    if (!(err instanceof AttributionError) && !(err instanceof UsageError)) throw err
    console.error(`idr attribute: ${err.message} (${err.code})`)
    return exitCodeOf(err)
  }
}

/** A positive number of days, or undefined when absent. */
function parseDays(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const days = Number(v)
  if (!(days > 0 && days < Infinity) || v.trim() === '') throw new AttributionError('BAD_OPTION', `--${flag} must be a positive number of days, got "${v}"`)
  return days
}

/** The journeys a running engine keeps, attributed by the engine (idr.api.attribution.report). */
async function engineReport(url: string, prefix: string, request: Record<string, unknown>): Promise<AttributionReport> {
  let nc
  try {
    nc = await connect({ servers: url.split(','), name: 'idr-attribute' })
  } catch (cause) {
    throw new AttributionError('ENGINE_UNAVAILABLE', `cannot connect to NATS at ${url}: ${(cause as Error).message}`, { cause })
  }
  try {
    const m = await nc.request(`${prefix}.api.attribution.report`, new TextEncoder().encode(JSON.stringify(request)), { timeout: REPORT_TIMEOUT_MS })
    const reply = JSON.parse(new TextDecoder().decode(m.data)) as AttributionReport & { error?: { code: string, message: string } }
    if (reply.error) throw new AttributionError('BAD_OPTION', `the engine refused the report: ${reply.error.message} [${reply.error.code}]`)
    return reply
  } catch (e) {
    if (e instanceof AttributionError) throw e
    throw new AttributionError('ENGINE_UNAVAILABLE', `no attribution report from an engine at ${url}: ${(e as Error).message}`, { cause: e })
  } finally {
    await nc.close()
  }
}

async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
      input: { type: 'string' }, nats: { type: 'string' }, account: { type: 'string' }, person: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' },
      prefix: { type: 'string' }, model: { type: 'string' }, order: { type: 'string' }, 'half-life': { type: 'string' }, 'half-life-days': { type: 'string' },
      'markov-weight': { type: 'string' }, level: { type: 'string' }, split: { type: 'string' }, 'lookback-days': { type: 'string' },
      'dedup-repeats': { type: 'boolean' }, json: { type: 'boolean' },
  })
  if (!values.input === !values.nats) throw new UsageError('give either --input FILE or --nats URL')
  const models = parseModel(values.model)
  const options = parseOptions(values)
  const decayDays = parseDays('half-life-days', values['half-life-days'])
  if (decayDays !== undefined && options.halfLife !== undefined) throw new AttributionError('BAD_OPTION', '--half-life (touches) and --half-life-days (real time) are two rules for time decay: give one')
  const engineOnly = ['account', 'person', 'from', 'to', 'prefix'] as const
  if (values.input && engineOnly.some((k) => values[k] !== undefined)) throw new AttributionError('BAD_OPTION', '--account, --person, --from, --to and --prefix select journeys of a running engine (--nats)')
  if (values.nats) {
    if (values.split !== undefined || values['lookback-days'] !== undefined) throw new AttributionError('BAD_OPTION', '--split and --lookback-days are the engine\'s settings; they do not apply to --nats')
    const level = values.level ?? 'person'
    if (level !== 'account' && level !== 'person') throw new AttributionError('BAD_OPTION', `--level must be account or person with --nats, got "${level}"`)
    const time = (v: string | undefined): number | string | undefined => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : v)
    const report = await engineReport(values.nats, values.prefix ?? DEFAULT_PREFIX, {
      level, model: values.model ?? 'all', ...(options.order !== undefined ? { order: options.order } : {}), from: time(values.from), to: time(values.to),
      account: values.account, person: values.person, ...(decayDays !== undefined ? { halfLifeDays: decayDays } : {}),
      ...(options.halfLife !== undefined ? { halfLifeTouches: options.halfLife } : {}), dedupRepeats: options.dedupRepeats ?? false,
      ...(options.markovWeight !== undefined ? { markovWeight: options.markovWeight } : {}),
    })
    const summary = `journeys kept by the engine (${level} level${report.account ? `, account ${report.account}` : ''}${report.person ? `, person ${report.person}` : ''}, ended ${report.from ?? 'any time'} to ${report.to ?? 'now'}): ` +
      `${report.journeys} journeys, ${num(report.conversions)} conversions, ${num(report.nulls)} null`
    if (values.json) for (const r of report.models) console.log(JSON.stringify(toJson(r)))
    else if (report.conversions === 0) console.log(`${summary}\n\nno conversions to attribute`)
    else console.log(`${summary}\n\n${report.models.length === 1 ? humanOne(report.models[0]!) : humanAll(report.models)}`)
    return 0
  }
  const input = values.input!
  let table: PathTable
  let summary: string | undefined
  let decay: Attribution | undefined
  if (EVENT_EXTENSIONS.has(extname(input).toLowerCase())) {
    ({ table, summary, decay } = await eventTable(input, parseLevel(values.level), parseSplit(values.split), parseLookback(values['lookback-days']), options.halfLife === undefined ? decayDays ?? DEFAULT_DECAY_HALF_LIFE_DAYS : undefined))
  } else {
    if (values.level !== undefined || values.split !== undefined || values['lookback-days'] !== undefined) {
      throw new AttributionError('BAD_OPTION', '--level, --split and --lookback-days apply to NDJSON event input (.ndjson, .jsonl); a path table already holds journeys')
    }
    if (decayDays !== undefined) throw new AttributionError('BAD_OPTION', '--half-life-days needs touch times: NDJSON events or --nats; a path table has none (use --half-life N touches)')
    table = readPathTable(input)
  }
  const results = models.map((m) => (m === 'decay' && decay ? decay : attribute(table, m, options)))
  if (values.json) for (const r of results) console.log(JSON.stringify(toJson(r)))
  else console.log(`${summary ? `${summary}\n\n` : ''}${results.length === 1 ? humanOne(results[0]!) : humanAll(results)}`)
  return 0
}
