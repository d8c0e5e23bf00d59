// The values of `idr serve`'s settings: the parsers that turn a JSON value or a string into one, the limits they
// enforce, and ConfigError, which names the refused setting and the source that gave it.
import { IdrError } from '../errors.js'

/** A setting of `idr serve` is unknown, misspelt or has a bad value. */
export class ConfigError extends IdrError {
  declare readonly code: 'BAD_CONFIG'
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_CONFIG', message, options)
  }
}

const MIB = 1024 * 1024
/** nats-server's own ceiling for max_payload. */
export const MAX_MESSAGE_BYTES = 64 * MIB
/** Most partitions of a deployment. */
export const MAX_PARTITIONS = 1024
/** Longest retention period accepted, days (100 years: in effect no purge). */
export const MAX_RETENTION_DAYS = 36_500
/** An HMAC key shorter than this many characters is refused (128 bits of ASCII at least). */
export const MIN_PSEUDONYM_KEY_CHARS = 16
/** The embedded in-process bus instead of a NATS server: `--nats embedded` (or `"nats": null` in the file). */
export const EMBEDDED_BUS = 'embedded'

/** A parser's refusal: what it expected ("a positive integer (actors)"). */
export class Invalid {
  constructor(readonly expected: string) {}
}

/** Turns a JSON value (config file) or a string (environment, flag: `text`) into a setting's value, or throws Invalid. */
export type Parse<T> = (raw: unknown, text: boolean) => T

/** Parses `raw`; a refusal becomes the ConfigError "<what> must be <expected>, got <shown()>". */
export function parseValue<T>(parse: Parse<T>, raw: unknown, isText: boolean, what: string, shown: () => string): T {
  try {
    return parse(raw, isText)
  } catch (e) {
    if (!(e instanceof Invalid)) throw e
    throw new ConfigError(`${what} must be ${e.expected}, got ${shown()}`)
  }
}

/** How an error shows a secret: its length, never its characters. */
export function describeSecret(raw: unknown): string {
  return typeof raw === 'string' ? `a ${raw.length}-character string` : raw === undefined ? 'nothing' : typeof raw
}

const SAFE_INT = /^[+-]?\d+$/

/** An integer in min..max, `unit` named in the refusal. */
export function int(min: number, max: number, unit: string): Parse<number> {
  const expected = max === Number.MAX_SAFE_INTEGER
    ? `${min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`} (${unit})`
    : `an integer in ${min}..${max} (${unit})`
  return (raw, text) => {
    const v = text && typeof raw === 'string' && SAFE_INT.test(raw.trim()) ? Number(raw) : raw
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new Invalid(expected)
    return v
  }
}

/** true or false; from text also 1 or 0. */
export function bool(raw: unknown, text: boolean): boolean {
  if (typeof raw === 'boolean') return raw
  if (text && typeof raw === 'string') {
    const s = raw.trim().toLowerCase()
    if (s === 'true' || s === '1') return true
    if (s === 'false' || s === '0') return false
  }
  throw new Invalid('true or false')
}

/** A string that matches `pattern`. */
export function text(pattern: RegExp, expected: string): Parse<string> {
  return (raw) => {
    if (typeof raw !== 'string' || !pattern.test(raw)) throw new Invalid(expected)
    return raw
  }
}

/** `null` in the config file leaves the setting unset (overriding a default). */
export function optional<T>(parse: Parse<T>): Parse<T | undefined> {
  return (raw, isText) => (raw === null && !isText ? undefined : parse(raw, isText))
}

/** NATS server URLs, or EMBEDDED_BUS (or `null` in the file) for the in-process bus: undefined. */
export function natsUrls(raw: unknown, isText: boolean): string | undefined {
  if (raw === EMBEDDED_BUS || (raw === null && !isText)) return undefined
  const expected = `nats:// or tls:// URLs, comma-separated, or "${EMBEDDED_BUS}" for the in-process bus`
  if (typeof raw !== 'string') throw new Invalid(expected)
  for (const item of raw.split(',')) {
    let url: URL
    try {
      url = new URL(item.trim())
    } catch {
      throw new Invalid(expected)
    }
    if ((url.protocol !== 'nats:' && url.protocol !== 'tls:') || url.hostname === '') throw new Invalid(expected)
  }
  return raw
}

/** "A-B", "A" or a comma list of either: "0-3", "5", "0-1,4,6-7"; in a config file also an array of integers. */
export function partitionList(raw: unknown, isText: boolean): readonly number[] | undefined {
  const expected = `a partition range "A-B", a single partition "A" or a comma list of them (e.g. "0-3,6")${isText ? '' : ', or an array of integers'}`
  if (raw === null && !isText) return undefined
  const out: number[] = []
  if (Array.isArray(raw) && !isText) {
    for (const p of raw) {
      if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0) throw new Invalid(expected)
      out.push(p)
    }
  } else if (typeof raw === 'string') {
    for (const item of raw.split(',')) {
      const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(item)
      if (!m) throw new Invalid(expected)
      const lo = Number(m[1])
      const hi = m[2] === undefined ? lo : Number(m[2])
      if (hi < lo || hi - lo >= MAX_PARTITIONS) throw new Invalid(`${expected}, with A ≤ B`)
      for (let p = lo; p <= hi; p++) out.push(p)
    }
  } else {
    throw new Invalid(expected)
  }
  if (out.length === 0) throw new Invalid(expected)
  if (new Set(out).size !== out.length) throw new Invalid(`${expected}, each partition once`)
  return out.sort((a, b) => a - b)
}

/** A pseudonym key: a string of at least MIN_PSEUDONYM_KEY_CHARS. */
export function secret(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length < MIN_PSEUDONYM_KEY_CHARS) throw new Invalid(`a secret string of at least ${MIN_PSEUDONYM_KEY_CHARS} characters`)
  return raw
}
