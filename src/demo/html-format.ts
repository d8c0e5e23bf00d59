// Text helpers for report.html: HTML escaping and number formatting that never prints NaN or undefined.
// report.json is parsed JSON, so a field typed `number` may arrive as null (JSON has no NaN): every helper
// here takes `unknown` and renders what it cannot show as DASH.

/** What a missing or non-finite value renders as. */
export const DASH = '—'

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes text for HTML content and quoted attribute values alike. */
export function esc(value: unknown): string {
  return str(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

/** A string from the report as is, other values as their string, null and undefined as DASH (unescaped). */
export function str(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : DASH
  if (typeof value === 'boolean') return String(value)
  return DASH
}

/** The value if it is a finite number, else null. */
export function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

/** The array, or an empty one when the field is missing or not an array; positions kept (for parallel arrays). */
export function list<T>(value: readonly T[] | null | undefined): readonly T[] {
  return Array.isArray(value) ? value : []
}

/** The array's items that are objects (null and stray values dropped), for lists of records. */
export function records<T extends object>(value: readonly T[] | null | undefined): readonly T[] {
  return list(value).filter((v) => v !== null && typeof v === 'object')
}

const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** An integer with thousands separators: 12,345. */
export function fmtInt(value: unknown): string {
  const v = num(value)
  return v === null ? DASH : INTEGER.format(v)
}

/** A probability or share with two decimals: 0.83. */
export function fmtP(value: unknown): string {
  const v = num(value)
  return v === null ? DASH : v.toFixed(2)
}

/** A share as a whole percentage: 93%. */
export function fmtPct(value: unknown): string {
  const v = num(value)
  return v === null ? DASH : `${Math.round(v * 100)}%`
}

/** A number with 2–3 significant digits (and separators from 1,000 on), without unit. */
export function fmtSig(value: unknown): string {
  const v = num(value)
  if (v === null) return DASH
  const a = Math.abs(v)
  if (a >= 100) return INTEGER.format(v)
  if (a >= 10) return v.toFixed(1)
  if (a >= 1) return v.toFixed(2)
  if (a === 0) return '0'
  return String(Number(v.toPrecision(2)))
}

/** Milliseconds with 2–3 significant digits: "0.42 ms", "4.27 ms", "1,250 ms". */
export function fmtMs(value: unknown): string {
  const s = fmtSig(value)
  return s === DASH ? DASH : `${s} ms`
}

/** A count in at most four characters for chart labels: 950, 1.2k, 34k, 1.5M. */
export function fmtCompact(value: unknown): string {
  const v = num(value)
  if (v === null) return DASH
  const a = Math.abs(v)
  if (a < 1000) return String(Math.round(v))
  if (a < 1e6) return `${Number((v / 1e3).toPrecision(a < 1e4 ? 2 : 3))}k`
  return `${Number((v / 1e6).toPrecision(2))}M`
}

/** Bytes in binary units: 12.3 MiB. */
export function fmtBytes(value: unknown): string {
  const v = num(value)
  if (v === null) return DASH
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let x = v
  let u = 0
  while (Math.abs(x) >= 1024 && u < units.length - 1) {
    x /= 1024
    u++
  }
  return u === 0 ? `${Math.round(x)} B` : `${fmtSig(x)} ${units[u]}`
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']

/** Epoch ms as "Tue 2026-03-03 21:04" in UTC (the simulator's clock), DASH when not a valid time. */
export function fmtTime(epochMs: unknown): string {
  const v = num(epochMs)
  if (v === null) return DASH
  const d = new Date(v)
  if (Number.isNaN(d.getTime())) return DASH
  return `${WEEKDAYS[d.getUTCDay()]} ${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)}`
}
