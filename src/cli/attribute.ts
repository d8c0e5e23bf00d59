// `idr attribute`: channel attribution of a ChannelAttribution path-table CSV under one model or all of them
// (docs/attribution.md). NDJSON events as input (journeys built from persons) come with the engine integration.
import { extname } from 'node:path'
import { parseArgs } from 'node:util'
import {
  attribute, AttributionError, MAX_MARKOV_ORDER, MODELS, readPathTable,
  type AttributeOptions, type Attribution, type ModelName,
} from '../attribution/index.js'

export const ATTRIBUTE_USAGE = 'idr attribute --input FILE.csv [--model first|last|linear|decay|position|markov|shapley|all] [--order 1..3] [--half-life N] [--dedup-repeats] [--json]'
/** Extensions taken for event streams rather than path tables. */
const EVENT_EXTENSIONS = new Set(['.ndjson', '.jsonl'])

function parseModel(v: string | undefined): readonly ModelName[] {
  const name = v ?? 'all'
  if (name === 'all') return MODELS
  if (name === 'hybrid') throw new AttributionError('NOT_SUPPORTED', '--model hybrid is not defined yet: its combination rule of Markov and Shapley waits for the ground-truth measurements (issue 6, later part)')
  if (!(MODELS as readonly string[]).includes(name)) throw new AttributionError('BAD_OPTION', `--model must be one of ${MODELS.join(', ')}, all (hybrid: not yet), got "${name}"`)
  return [name as ModelName]
}

function parseOptions(values: { order?: string | undefined, 'half-life'?: string | undefined, 'dedup-repeats'?: boolean | undefined }): AttributeOptions {
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
  return options
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

/** Runs the command; refusals print their stable code (`idr attribute: … (BAD_PATH_TABLE)`) and exit 1. */
export function attributeCommand(args: string[]): number {
  try {
    return run(args)
  } catch (err) {
    if (!(err instanceof AttributionError)) throw err
    console.error(`idr attribute: ${err.message} (${err.code})`)
    return 1
  }
}

function run(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      input: { type: 'string' }, model: { type: 'string' }, order: { type: 'string' }, 'half-life': { type: 'string' },
      'dedup-repeats': { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
    },
    strict: true,
  })
  if (values.help) {
    console.log(ATTRIBUTE_USAGE)
    return 0
  }
  if (!values.input) throw new AttributionError('BAD_OPTION', `--input FILE is required\nusage: ${ATTRIBUTE_USAGE}`)
  const models = parseModel(values.model)
  const options = parseOptions(values)
  if (EVENT_EXTENSIONS.has(extname(values.input).toLowerCase())) {
    throw new AttributionError('NOT_SUPPORTED', `${values.input}: NDJSON event input is not yet supported in this version (journeys from events come with the engine integration); give a path-table CSV with columns path,total_conversions,total_conversion_value,total_null`)
  }
  const table = readPathTable(values.input)
  const results = models.map((m) => attribute(table, m, options))
  if (values.json) for (const r of results) console.log(JSON.stringify(toJson(r)))
  else console.log(results.length === 1 ? humanOne(results[0]!) : humanAll(results))
  return 0
}
