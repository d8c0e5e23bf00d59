// The path-table CSV that ChannelAttribution users already have:
//   path,total_conversions,total_conversion_value,total_null
//   "A > B > C",3,120.5,17
// Columns are found by header name in any order; total_conversion_value and total_null may be absent (read as
// 0). Channels are separated by ">" with any surrounding whitespace. Fields may be quoted ("" escapes a quote).
// Identical paths are merged. Bad rows raise AttributionError('BAD_PATH_TABLE') naming the 1-based line.
import { readFileSync } from 'node:fs'
import { AttributionError } from './errors.js'
import { MAX_SAFE_TOTAL, PathTableBuilder, type PathTable } from './path-table.js'

export const PATH_COLUMN = 'path'
export const CONVERSIONS_COLUMN = 'total_conversions'
export const VALUE_COLUMN = 'total_conversion_value'
export const NULL_COLUMN = 'total_null'
/** Separator written between channels; on reading, ">" with any whitespace around it. */
export const PATH_SEPARATOR = ' > '

/** Splits one CSV line into fields (RFC 4180 quoting within the line; surrounding whitespace trimmed). */
export function splitCsvLine(line: string, lineNo: number): string[] {
  const fields: string[] = []
  let i = 0
  for (;;) {
    while (line[i] === ' ' || line[i] === '\t') i++
    let field = ''
    if (line[i] === '"') {
      i++
      for (;;) {
        if (i >= line.length) throw new AttributionError('BAD_PATH_TABLE', `line ${lineNo}: unterminated quoted field`, { line: lineNo })
        const ch = line[i]!
        if (ch === '"') {
          if (line[i + 1] === '"') { field += '"'; i += 2; continue }
          i++
          break
        }
        field += ch
        i++
      }
      while (line[i] === ' ' || line[i] === '\t') i++
      if (i < line.length && line[i] !== ',') throw new AttributionError('BAD_PATH_TABLE', `line ${lineNo}: text after a closing quote`, { line: lineNo })
    } else {
      const end = line.indexOf(',', i)
      field = (end < 0 ? line.slice(i) : line.slice(i, end)).trim()
      i = end < 0 ? line.length : end
    }
    fields.push(field)
    if (i >= line.length) return fields
    i++ // the comma
  }
}

/** Longest excerpt of input text quoted in an error (characters, before escaping). */
export const MAX_EXCERPT_CHARS = 60
export { MAX_SAFE_TOTAL } from './path-table.js'

/** A short, escaped excerpt of input text for an error message: non-printable characters as \xNN / \uNNNN. */
export function excerpt(text: string): string {
  const cut = text.length > MAX_EXCERPT_CHARS ? text.slice(0, MAX_EXCERPT_CHARS) : text
  const esc = cut.replace(/[^\x20-\x7e]/g, (c) => {
    const n = c.charCodeAt(0)
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`
  })
  return text.length > MAX_EXCERPT_CHARS ? `${esc}…` : esc
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

function count(field: string | undefined, column: string, lineNo: number): number {
  if (field === undefined || field === '') return 0
  const n = DECIMAL.test(field) ? Number(field) : NaN
  if (!Number.isFinite(n)) throw new AttributionError('BAD_PATH_TABLE', `line ${lineNo}: ${column} "${excerpt(field)}" is not a number`, { line: lineNo })
  if (n < 0) throw new AttributionError('BAD_PATH_TABLE', `line ${lineNo}: ${column} ${excerpt(field)} is negative; counts and values must be ≥ 0`, { line: lineNo })
  if (n > MAX_SAFE_TOTAL) throw new AttributionError('OVERFLOW', `line ${lineNo}: ${column} ${excerpt(field)} is above ${MAX_SAFE_TOTAL}, the largest count or value summed exactly`, { line: lineNo })
  return n
}

/** Parses path-table CSV text. */
export function parsePathTable(text: string): PathTable {
  const lines = text.split(/\r?\n/)
  let lineNo = 0
  let header: string[] | undefined
  while (lineNo < lines.length && header === undefined) {
    const line = lines[lineNo++]!.replace(/^\uFEFF/, '')
    if (line.trim() !== '') header = splitCsvLine(line, lineNo).map((h) => h.toLowerCase())
  }
  if (header === undefined) throw new AttributionError('BAD_PATH_TABLE', 'the path table is empty: expected a header "path,total_conversions,total_conversion_value,total_null"', { line: 1 })
  const headerLine = lineNo
  const seen = new Set<string>()
  for (const h of header) {
    if (seen.has(h)) throw new AttributionError('BAD_PATH_TABLE', `line ${headerLine}: column "${excerpt(h)}" appears twice in the header`, { line: headerLine })
    seen.add(h)
  }
  const col = (name: string) => header.indexOf(name)
  const iPath = col(PATH_COLUMN)
  const iConv = col(CONVERSIONS_COLUMN)
  const iValue = col(VALUE_COLUMN)
  const iNull = col(NULL_COLUMN)
  if (iPath < 0 || iConv < 0) {
    throw new AttributionError('BAD_PATH_TABLE', `line ${headerLine}: the header needs columns "${PATH_COLUMN}" and "${CONVERSIONS_COLUMN}" (optional: "${VALUE_COLUMN}", "${NULL_COLUMN}"), got "${excerpt(header.join(','))}"`, { line: headerLine })
  }
  const b = new PathTableBuilder()
  const ids: number[] = []
  let rows = 0
  let totalConversions = 0
  let totalValue = 0
  let totalNulls = 0
  for (; lineNo < lines.length; lineNo++) {
    const line = lines[lineNo]!
    const no = lineNo + 1
    if (line.trim() === '') continue
    const f = splitCsvLine(line, no)
    if (f.length > header.length) throw new AttributionError('BAD_PATH_TABLE', `line ${no}: ${f.length} fields but the header has ${header.length} (quote paths that contain commas)`, { line: no })
    if (f.length < header.length) throw new AttributionError('BAD_PATH_TABLE', `line ${no}: ${f.length} fields but the header has ${header.length}: "${excerpt(line)}"`, { line: no })
    const conversions = count(f[iConv], CONVERSIONS_COLUMN, no)
    const value = iValue >= 0 ? count(f[iValue], VALUE_COLUMN, no) : 0
    const nulls = iNull >= 0 ? count(f[iNull], NULL_COLUMN, no) : 0
    const path = (f[iPath] ?? '').trim()
    ids.length = 0
    if (path !== '') {
      for (const raw of path.split('>')) {
        const name = raw.trim()
        if (name === '') throw new AttributionError('BAD_PATH_TABLE', `line ${no}: empty channel name in path "${excerpt(path)}"`, { line: no })
        ids.push(b.channelId(name))
      }
    } else if (conversions > 0 || value > 0) {
      throw new AttributionError('BAD_PATH_TABLE', `line ${no}: an empty path cannot have conversions or value (got ${conversions} conversions, value ${value})`, { line: no })
    }
    totalConversions += conversions
    totalValue += value
    totalNulls += nulls
    for (const [name, t] of [[CONVERSIONS_COLUMN, totalConversions], [VALUE_COLUMN, totalValue], [NULL_COLUMN, totalNulls]] as const) {
      if (!(t <= MAX_SAFE_TOTAL)) throw new AttributionError('OVERFLOW', `line ${no}: the ${name} total passes ${MAX_SAFE_TOTAL} here, too large to sum exactly`, { line: no })
    }
    b.addIds(ids, 0, ids.length, conversions, value, nulls)
    rows++
  }
  if (rows === 0) throw new AttributionError('NO_ROWS', `the path table has a header (line ${headerLine}) but no data rows`, { line: headerLine })
  return b.build()
}

/** Reads a path-table CSV file. */
export function readPathTable(file: string): PathTable {
  return parsePathTable(readFileSync(file, 'utf8'))
}

function quote(field: string): string {
  return /[",\r\n]/.test(field) || field !== field.trim() ? `"${field.replace(/"/g, '""')}"` : field
}

/** Serialises a table as path-table CSV (all four columns; numbers in shortest round-trip form). */
export function formatPathTable(table: PathTable): string {
  const out = [`${PATH_COLUMN},${CONVERSIONS_COLUMN},${VALUE_COLUMN},${NULL_COLUMN}`]
  const bad = table.channels.find((c) => c.includes('>') || c.trim() !== c || c === '')
  if (bad !== undefined) throw new AttributionError('BAD_VALUE', `channel "${bad}" cannot be written to a path table (no ">", no surrounding whitespace, not empty)`)
  for (let i = 0; i < table.rows; i++) {
    out.push(`${quote(table.pathNames(i).join(PATH_SEPARATOR))},${table.conversions[i]},${table.value[i]},${table.nulls[i]}`)
  }
  return out.join('\n') + '\n'
}
