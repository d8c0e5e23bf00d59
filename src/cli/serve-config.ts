// Settings of `idr serve`, from one table: defaults < JSON config file (--config) < environment (IDR_*) < flags.
// Every value is validated where it enters, and an error names the setting and the source that gave it.
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { IdrError } from '../errors.js'
import { suggest } from '../options/suggest.js'
import type { AccountBinding } from '../ingress/ingress.js'
import { DEFAULT_IDLE_WARNING_MS } from './serve-watch.js'
import { DEFAULT_PREFIX, SUBJECT_PREFIX } from '../contracts/token.js'
import { DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_SNAPSHOT_INTERVAL_MS } from '../engine/engine.js'
import { DEFAULT_MAX_MESSAGE_BYTES } from '../ingress/ingress.js'
import { DEFAULT_RETENTION_INTERVAL_MS, DEFAULT_RETENTION_MS } from '../privacy/retention.js'
import { DEFAULT_MAILBOX_MAX, DEFAULT_MAX_QUEUED, DEFAULT_MAX_RESIDENT } from '../runtime/runtime.js'
import { MAX_KEY_EPOCH } from '../privacy/pseudonymise.js'
import { DEFAULT_JETSTREAM_TIMEOUT_MS, DEFAULT_STREAM } from '../transport/nats.js'

/** A setting of `idr serve` is unknown, misspelt or has a bad value. */
export class ConfigError extends IdrError {
  declare readonly code: 'BAD_CONFIG'
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_CONFIG', message, options)
  }
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

const MIB = 1024 * 1024
/** nats-server's own ceiling for max_payload. */
const MAX_MESSAGE_BYTES = 64 * MIB
const MAX_PARTITIONS = 1024
/** Longest retention period accepted, days (100 years: in effect no purge). */
const MAX_RETENTION_DAYS = 36_500
/** An HMAC key shorter than this many characters is refused (128 bits of ASCII at least). */
export const MIN_PSEUDONYM_KEY_CHARS = 16
/** The embedded in-process bus instead of a NATS server: `--nats embedded` (or `"nats": null` in the file). */
export const EMBEDDED_BUS = 'embedded'

/** The fixed, public key `--dev-key` uses: pseudonyms made with it can be reversed by anyone. */
export const DEV_PSEUDONYM_KEY = createHash('sha256').update('idr insecure development pseudonym key').digest('hex')

/** Defaults; the unit is in the name or the comment. The library's own defaults are imported, not restated. */
export const DEFAULTS = {
  nats: 'nats://127.0.0.1:4222',
  db: 'idr.db',
  jetstream: false,
  stream: DEFAULT_STREAM,
  jetstreamTimeoutMs: DEFAULT_JETSTREAM_TIMEOUT_MS, // ms, each JetStream API call at start-up
  idleWarningMs: DEFAULT_IDLE_WARNING_MS, // ms without any input after start before a warning; 0 = never
  of: 8, // partitions in the whole deployment; a process owns all of them unless --partitions says otherwise
  prefix: DEFAULT_PREFIX,
  maxResident: DEFAULT_MAX_RESIDENT, // actors in memory; idle ones beyond this are passivated
  mailboxMax: DEFAULT_MAILBOX_MAX, // events per actor mailbox
  maxQueued: DEFAULT_MAX_QUEUED, // events queued over all mailboxes
  snapshotIntervalMs: DEFAULT_SNAPSHOT_INTERVAL_MS,
  drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  retentionDays: DEFAULT_RETENTION_MS / 86_400_000, // sessions, journeys and raw events older than this are purged
  retentionIntervalMs: DEFAULT_RETENTION_INTERVAL_MS, // between retention passes
  devKey: false,
  poolThreads: Math.max(0, Math.min(2, availableParallelism() - 1)), // 0 = refits inline on the main thread
  logLevel: 'info' as LogLevel,
  accountBinding: 'single' as AccountBinding, // a batch may mix accounts; 'strict': every event names its subject's account
} as const

/** The resolved settings of `idr serve`. */
export interface ServeConfig {
  /** NATS server URL(s), comma-separated; absent = the embedded in-process bus. */
  readonly nats?: string
  readonly natsUser?: string
  readonly natsPassword?: string
  /** SQLite file. */
  readonly db: string
  /** Consume from a JetStream stream (one ordered consumer over the whole input) instead of core subjects. */
  readonly jetstream: boolean
  readonly stream: string
  /** How long each JetStream API call at start-up may take, ms; beyond it `idr serve` exits with NATS_TIMEOUT. */
  readonly jetstreamTimeoutMs: number
  /** Warn when no input has arrived this long after start, ms (0: never). */
  readonly idleWarningMs: number
  /** Partitions this process owns, ascending, each in [0, of). */
  readonly partitions: readonly number[]
  /** Partition count of the whole deployment. */
  readonly of: number
  readonly prefix: string
  /** HTTP port for /healthz, /readyz, /metrics (0 = ephemeral); absent = no HTTP server. */
  readonly http?: number
  readonly maxResident: number
  readonly mailboxMax: number
  readonly maxQueued: number
  readonly snapshotIntervalMs: number
  readonly drainTimeoutMs: number
  readonly maxMessageBytes: number
  /** Sessions and raw events older than this many days are purged (the database by a pass, the stream by max_age). */
  readonly retentionDays: number
  /** From the end of one retention pass to the start of the next, ms. */
  readonly retentionIntervalMs: number
  /** HMAC key that pseudonymises device ids and IPs: the current epoch's. Secret: never stored in the db, never logged. */
  readonly pseudonymKey: string
  /** The epoch of pseudonymKey (1 unless set, or the key file's highest). */
  readonly pseudonymEpoch: number
  /** JSON file of keys by epoch (docs/key-rotation.md), instead of pseudonymKey. */
  readonly pseudonymKeyFile?: string
  /** Every kept key, epochs ascending; the last is pseudonymKey. Secret, like it. */
  readonly pseudonymKeys: readonly { readonly epoch: number, readonly key: string }[]
  /** pseudonymKey is DEV_PSEUDONYM_KEY; the caller logs the warning in `warnings`. */
  readonly devKey: boolean
  /** Refit worker threads; 0 = refits inline. */
  readonly poolThreads: number
  readonly logLevel: LogLevel
  /** How events must agree with their subject's account (docs/security.md). */
  readonly accountBinding: AccountBinding
  /** Where each setting came from ("default", "config file idr.json", "environment IDR_DB", "flag --db"). */
  readonly sources: Readonly<Record<SettingName, string>>
  /** To be logged at startup: the insecure dev key, ignored IDR_* variables, ignored credentials. */
  readonly warnings: readonly string[]
}

export type SettingName = Exclude<keyof ServeConfig, 'sources' | 'warnings' | 'pseudonymKeys'>

/** Values as the sources give them; partitions and the pseudonym keys are settled after all sources are merged. */
type Raw = Omit<ServeConfig, 'sources' | 'warnings' | 'partitions' | 'pseudonymKey' | 'pseudonymEpoch' | 'pseudonymKeys'> & {
  partitions?: readonly number[]
  pseudonymKey?: string
  pseudonymEpoch?: number
}

/** A parser's refusal: what it expected ("a positive integer (actors)"). */
class Invalid {
  constructor(readonly expected: string) {}
}

interface Setting<T> {
  readonly default: T
  readonly unit: string
  readonly help: string
  /** Turns a JSON value (config file) or a string (environment, flag: `text`) into the value, or throws Invalid. */
  readonly parse: (raw: unknown, text: boolean) => T
  /** A flag that takes no value (`--jetstream`, `--jetstream=false`). */
  readonly boolean?: true
  /** Never echo the value in an error. */
  readonly secret?: true
}

const SAFE_INT = /^[+-]?\d+$/

function int(min: number, max: number, unit: string): Setting<number>['parse'] {
  const expected = max === Number.MAX_SAFE_INTEGER
    ? `${min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`} (${unit})`
    : `an integer in ${min}..${max} (${unit})`
  return (raw, text) => {
    const v = text && typeof raw === 'string' && SAFE_INT.test(raw.trim()) ? Number(raw) : raw
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new Invalid(expected)
    return v
  }
}

function bool(raw: unknown, text: boolean): boolean {
  if (typeof raw === 'boolean') return raw
  if (text && typeof raw === 'string') {
    const s = raw.trim().toLowerCase()
    if (s === 'true' || s === '1') return true
    if (s === 'false' || s === '0') return false
  }
  throw new Invalid('true or false')
}

function text(pattern: RegExp, expected: string): Setting<string>['parse'] {
  return (raw) => {
    if (typeof raw !== 'string' || !pattern.test(raw)) throw new Invalid(expected)
    return raw
  }
}

/** `null` in the config file leaves the setting unset (overriding a default). */
function optional<T>(parse: Setting<T>['parse']): Setting<T | undefined>['parse'] {
  return (raw, isText) => (raw === null && !isText ? undefined : parse(raw, isText))
}

function natsUrls(raw: unknown, isText: boolean): string | undefined {
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
function partitionList(raw: unknown, isText: boolean): readonly number[] | undefined {
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

function secret(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length < MIN_PSEUDONYM_KEY_CHARS) throw new Invalid(`a secret string of at least ${MIN_PSEUDONYM_KEY_CHARS} characters`)
  return raw
}

const NON_EMPTY = /^\S(.*\S)?$/
// JetStream stream names may not contain spaces, '.', '*', '>', path separators
const STREAM_NAME = /^[A-Za-z0-9_-]{1,255}$/

const SETTINGS: { readonly [K in keyof Raw]-?: Setting<Raw[K]> } = {
  nats: { default: DEFAULTS.nats, unit: 'URL', help: `NATS server URL(s), or "${EMBEDDED_BUS}" for the in-process bus`, parse: natsUrls },
  natsUser: { default: undefined, unit: '', help: 'NATS user name', parse: optional(text(NON_EMPTY, 'a non-empty string')) },
  natsPassword: { default: undefined, unit: '', help: 'NATS password', parse: optional(text(NON_EMPTY, 'a non-empty string')), secret: true },
  db: { default: DEFAULTS.db, unit: 'path', help: 'SQLite file (household snapshots with positions and timers, journeys, erasure tombstones, audit trail)', parse: text(NON_EMPTY, 'a file path') },
  jetstream: { default: DEFAULTS.jetstream, unit: '', help: 'consume a JetStream stream (one ordered consumer over the whole input)', parse: bool, boolean: true },
  stream: { default: DEFAULTS.stream, unit: 'name', help: 'JetStream stream of the input events', parse: text(STREAM_NAME, 'a JetStream stream name (letters, digits, _ and -)') },
  idleWarningMs: { default: DEFAULTS.idleWarningMs, unit: 'ms', help: 'warn, naming likely causes, when no input arrived this long after start (0 = never)', parse: int(0, Number.MAX_SAFE_INTEGER, 'ms') },
  jetstreamTimeoutMs: { default: DEFAULTS.jetstreamTimeoutMs, unit: 'ms', help: 'time each JetStream API call at start-up may take', parse: int(1, Number.MAX_SAFE_INTEGER, 'ms') },
  partitions: { default: undefined, unit: 'partitions', help: 'partitions this process owns (default: all)', parse: partitionList },
  of: { default: DEFAULTS.of, unit: 'partitions', help: 'partition count of the whole deployment', parse: int(1, MAX_PARTITIONS, 'partitions') },
  prefix: { default: DEFAULTS.prefix, unit: 'subject', help: 'subject prefix (idr.ev.<account>, idr.out.…)', parse: text(SUBJECT_PREFIX, 'one to eight subject tokens of letters, digits, _ and - (1–128 each), separated by dots') },
  http: { default: undefined, unit: 'port', help: 'HTTP port of /healthz, /readyz, /metrics (0 = ephemeral; default: none)', parse: optional(int(0, 65_535, 'port')) },
  maxResident: { default: DEFAULTS.maxResident, unit: 'actors', help: 'household actors kept in memory; idle ones beyond are passivated', parse: int(1, Number.MAX_SAFE_INTEGER, 'actors') },
  mailboxMax: { default: DEFAULTS.mailboxMax, unit: 'events', help: 'events queued in one actor mailbox', parse: int(1, Number.MAX_SAFE_INTEGER, 'events') },
  maxQueued: { default: DEFAULTS.maxQueued, unit: 'events', help: 'events queued over all mailboxes (backpressure beyond)', parse: int(1, Number.MAX_SAFE_INTEGER, 'events') },
  snapshotIntervalMs: { default: DEFAULTS.snapshotIntervalMs, unit: 'ms', help: 'time between snapshot batches', parse: int(1, Number.MAX_SAFE_INTEGER, 'ms') },
  drainTimeoutMs: { default: DEFAULTS.drainTimeoutMs, unit: 'ms', help: 'time a graceful stop may take before it fails', parse: int(1, Number.MAX_SAFE_INTEGER, 'ms') },
  maxMessageBytes: { default: DEFAULTS.maxMessageBytes, unit: 'bytes', help: 'larger input messages go to the DLQ', parse: int(1, MAX_MESSAGE_BYTES, 'bytes') },
  retentionDays: { default: DEFAULTS.retentionDays, unit: 'days', help: 'sessions and raw events older than this are purged (stream max_age too)', parse: int(1, MAX_RETENTION_DAYS, 'days') },
  retentionIntervalMs: { default: DEFAULTS.retentionIntervalMs, unit: 'ms', help: 'time between retention passes over the database', parse: int(1, Number.MAX_SAFE_INTEGER, 'ms') },
  pseudonymKey: { default: undefined, unit: 'secret', help: 'HMAC key that pseudonymises device ids and IPs (required)', parse: secret, secret: true },
  pseudonymEpoch: { default: undefined, unit: 'epoch', help: 'key epoch of pseudonymKey (default 1)', parse: optional(int(1, MAX_KEY_EPOCH, 'epoch')) },
  pseudonymKeyFile: { default: undefined, unit: 'path', help: 'JSON file of pseudonym keys by epoch, instead of pseudonymKey', parse: optional(text(NON_EMPTY, 'a file path')) },
  devKey: { default: DEFAULTS.devKey, unit: '', help: 'use a fixed, public, insecure pseudonym key (development only)', parse: bool, boolean: true },
  poolThreads: { default: DEFAULTS.poolThreads, unit: 'threads', help: 'refit worker threads (0 = refits inline)', parse: int(0, 256, 'threads') },
  accountBinding: {
    default: DEFAULTS.accountBinding, unit: '', help: 'single: a one-event message names its subject\'s account, batches may mix; strict: every event does',
    parse: (raw) => {
      if (raw !== 'single' && raw !== 'strict') throw new Invalid('"single" or "strict"')
      return raw
    },
  },
  logLevel: {
    default: DEFAULTS.logLevel, unit: '', help: `log level: ${LOG_LEVELS.join(', ')}`,
    parse: (raw) => {
      if (!LOG_LEVELS.includes(raw as LogLevel)) throw new Invalid(`one of ${LOG_LEVELS.join(', ')}`)
      return raw as LogLevel
    },
  },
}

const NAMES = Object.keys(SETTINGS) as (keyof Raw)[]
const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
/** `--max-resident` for maxResident. */
export const flagOf = (name: SettingName): string => `--${kebab(name)}`
/** `IDR_MAX_RESIDENT` for maxResident. */
export const envOf = (name: SettingName): string => `IDR_${kebab(name).replaceAll('-', '_').toUpperCase()}`
const CONFIG_FLAG = '--config'
const CONFIG_ENV = 'IDR_CONFIG'

/** One row per setting, for `idr serve --help` and docs/operations.md. */
export const SETTING_ROWS: readonly { name: SettingName, flag: string, env: string, default: unknown, unit: string, help: string }[] =
  NAMES.map((name) => ({ name, flag: flagOf(name), env: envOf(name), default: SETTINGS[name].default, unit: SETTINGS[name].unit, help: SETTINGS[name].help }))

/** The closest of `known` to `given` (suggest()), comparing letters and digits only, case-insensitively. */
function nearest(given: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '')
  const near = suggest(norm(given), known.map(norm))
  return near === undefined ? undefined : known[known.map(norm).indexOf(near)]
}

function show(name: keyof Raw, raw: unknown): string {
  if (SETTINGS[name].secret) return typeof raw === 'string' ? `a ${raw.length}-character string` : typeof raw
  return JSON.stringify(raw) ?? String(raw)
}

/** A file's permission bits (undefined where there are none to check, on Windows). */
function fileMode(path: string): number | undefined {
  return process.platform === 'win32' ? undefined : statSync(path).mode
}

/**
 * Reads the settings of `idr serve` from argv (the arguments after `serve`), env and the `--config` file;
 * `readFile` and `modeOf` also serve the pseudonym key file.
 */
export function loadServeConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
  modeOf: (path: string) => number | undefined = fileMode,
): ServeConfig {
  const raw: Partial<Record<keyof Raw, unknown>> = {}
  const sources: Partial<Record<SettingName, string>> = {}
  const warnings: string[] = []
  const set = (name: keyof Raw, value: unknown, source: string, isText: boolean) => {
    try {
      raw[name] = SETTINGS[name].parse(value, isText)
    } catch (e) {
      if (!(e instanceof Invalid)) throw e
      throw new ConfigError(`${source}: ${name} must be ${e.expected}, got ${show(name, value)}`)
    }
    sources[name] = source
  }

  const flags = parseFlags(argv)
  const configPath = flags.config ?? (env[CONFIG_ENV] || undefined)
  if (configPath !== undefined) {
    for (const [name, value] of Object.entries(readConfigFile(configPath, readFile))) set(name as keyof Raw, value, `config file ${configPath}`, false)
  }

  const byEnv = new Map(NAMES.map((n) => [envOf(n), n]))
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('IDR_') || key === CONFIG_ENV || value === undefined || value === '') continue
    const name = byEnv.get(key)
    if (name) {
      set(name, value, `environment ${key}`, true)
    } else {
      const near = nearest(key, [...byEnv.keys(), CONFIG_ENV])
      warnings.push(`unknown environment variable ${key} ignored${near ? ` (did you mean ${near}?)` : ''}`)
    }
  }

  for (const [name, value] of flags.values) set(name, value, `flag ${flagOf(name)}`, true)

  for (const name of NAMES) if (!(name in raw)) [raw[name], sources[name]] = [SETTINGS[name].default, 'default']
  return settle(raw as Raw, sources as Record<SettingName, string>, warnings, (path) => readKeyFile(path, sources.pseudonymKeyFile!, readFile, modeOf))
}

function parseFlags(argv: readonly string[]): { config?: string, values: [keyof Raw, string][] } {
  const byFlag = new Map(NAMES.map((n) => [flagOf(n), n]))
  const values: [keyof Raw, string][] = []
  let config: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}: settings are flags, e.g. --db idr.db`)
    const eq = arg.indexOf('=')
    const flag = eq < 0 ? arg : arg.slice(0, eq)
    const name = byFlag.get(flag)
    if (flag !== CONFIG_FLAG && name === undefined) {
      const near = nearest(flag, [...byFlag.keys(), CONFIG_FLAG])
      throw new ConfigError(`unknown flag ${flag}${near ? ` (did you mean ${near}?)` : ''}`)
    }
    let value: string
    if (eq >= 0) {
      value = arg.slice(eq + 1)
    } else if (name !== undefined && SETTINGS[name].boolean) {
      value = 'true'
    } else {
      // the next argument is the value even if it starts with '-' (a negative number is refused by name, not as a flag)
      const next = argv[i + 1]
      if (next === undefined || next.startsWith('--')) {
        throw new ConfigError(`flag ${flag} needs a value${name ? ` (${SETTINGS[name].unit || SETTINGS[name].help})` : ' (a JSON file)'}`)
      }
      value = next
      i++
    }
    if (name === undefined) config = value
    else values.push([name, value])
  }
  return config === undefined ? { values } : { config, values }
}

function readConfigFile(path: string, readFile: (path: string) => string): Record<string, unknown> {
  let body: string
  try {
    body = readFile(path)
  } catch (e) {
    throw new ConfigError(`config file ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch (e) {
    throw new ConfigError(`config file ${path}: not valid JSON (${(e as Error).message})`, { cause: e })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path}: must hold one JSON object of settings, e.g. {"db": "idr.db"}`)
  }
  for (const key of Object.keys(parsed)) {
    if (key in SETTINGS) continue
    const near = nearest(key, NAMES)
    throw new ConfigError(`unknown setting ${JSON.stringify(key)} in ${path}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}`)
  }
  return parsed as Record<string, unknown>
}

/** Checks that span settings, and fills in partitions and the pseudonym keys. */
function settle(raw: Raw, sources: Record<SettingName, string>, warnings: string[], keyFile: (path: string) => ServeConfig['pseudonymKeys']): ServeConfig {
  const from = (name: SettingName) => (sources[name] === 'default' ? 'by default' : `from ${sources[name]}`)
  let partitions = raw.partitions
  if (partitions === undefined) {
    partitions = Array.from({ length: raw.of }, (_, i) => i)
  } else {
    const out = partitions.find((p) => p >= raw.of)
    if (out !== undefined) {
      throw new ConfigError(`${sources.partitions}: partitions must lie in 0..${raw.of - 1} (of = ${raw.of} ${from('of')}), got ${out}`)
    }
  }

  if ((raw.natsUser === undefined) !== (raw.natsPassword === undefined)) {
    const [given, missing] = raw.natsUser === undefined ? ['natsPassword', 'natsUser'] as const : ['natsUser', 'natsPassword'] as const
    throw new ConfigError(`${sources[given]}: ${given} is set but ${missing} is not; give both (${envOf(missing)} or ${flagOf(missing)})`)
  }
  if (raw.nats === undefined && raw.natsUser !== undefined) warnings.push('natsUser and natsPassword are ignored: the bus is embedded (nats = embedded)')

  let pseudonymKeys: ServeConfig['pseudonymKeys']
  for (const other of ['pseudonymKey', 'pseudonymKeyFile'] as const) {
    if (raw.devKey && raw[other] !== undefined) throw new ConfigError(`${sources.devKey}: devKey and ${other} (${from(other)}) are both set; drop one`)
  }
  if (raw.pseudonymKeyFile !== undefined && raw.pseudonymKey !== undefined) {
    throw new ConfigError(`${sources.pseudonymKeyFile}: pseudonymKeyFile and pseudonymKey (${from('pseudonymKey')}) are both set; drop one (the key file holds every epoch's key)`)
  }
  if (raw.pseudonymEpoch !== undefined && raw.pseudonymKey === undefined) {
    throw new ConfigError(`${sources.pseudonymEpoch}: pseudonymEpoch is the epoch of pseudonymKey, which is not set${raw.pseudonymKeyFile === undefined ? '' : ' (a key file gives each key its own epoch)'}`)
  }
  if (raw.devKey) {
    pseudonymKeys = [{ epoch: 1, key: DEV_PSEUDONYM_KEY }]
    warnings.push('devKey: pseudonyms use a fixed, public development key and can be reversed by anyone; never use it with real data')
  } else if (raw.pseudonymKeyFile !== undefined) {
    pseudonymKeys = keyFile(raw.pseudonymKeyFile)
    sources.pseudonymKey = sources.pseudonymEpoch = `key file ${raw.pseudonymKeyFile}`
  } else if (raw.pseudonymKey !== undefined) {
    pseudonymKeys = [{ epoch: raw.pseudonymEpoch ?? 1, key: raw.pseudonymKey }]
  } else {
    throw new ConfigError(`pseudonymKey is required: set ${envOf('pseudonymKey')} (a secret of at least ${MIN_PSEUDONYM_KEY_CHARS} characters) or ${envOf('pseudonymKeyFile')} (keys by epoch), or pass ${flagOf('devKey')} for an insecure development key`)
  }
  const current = pseudonymKeys[pseudonymKeys.length - 1]!

  return { ...raw, partitions, pseudonymKey: current.key, pseudonymEpoch: current.epoch, pseudonymKeys, sources, warnings }
}

/**
 * Reads `{"keys": [{"epoch": 1, "key": "…"}, …]}` (docs/key-rotation.md): at least one key, each epoch and each
 * key once, keys of at least MIN_PSEUDONYM_KEY_CHARS. A file other users may read or write is refused, as ssh
 * refuses such a private key. Errors never echo a key. Returns the keys, epochs ascending.
 */
function readKeyFile(path: string, source: string, readFile: (path: string) => string, modeOf: (path: string) => number | undefined): ServeConfig['pseudonymKeys'] {
  const where = `${source}: key file ${path}`
  let body: string
  let mode: number | undefined
  try {
    mode = modeOf(path)
    body = readFile(path)
  } catch (e) {
    throw new ConfigError(`${where}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e })
  }
  if (mode !== undefined && (mode & 0o006) !== 0) {
    throw new ConfigError(`${where}: other users may read or write it (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); chmod 600 it (640 for a group of the service)`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch (e) {
    // JSON.parse's message may quote the text around the error, i.e. a key: not echoed
    throw new ConfigError(`${where}: not valid JSON`, { cause: e })
  }
  const expected = '{"keys": [{"epoch": 1, "key": "…"}, …]}'
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`${where}: must hold one JSON object, ${expected}`)
  for (const k of Object.keys(parsed)) {
    if (k !== 'keys') throw new ConfigError(`${where}: unknown field ${JSON.stringify(k)}${nearest(k, ['keys']) ? ' (did you mean "keys"?)' : ''}; expected ${expected}`)
  }
  const list = (parsed as { keys?: unknown }).keys
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`${where}: keys must be a non-empty array, ${expected}`)
  const out: { epoch: number, key: string }[] = []
  list.forEach((entry: unknown, i) => {
    const at = `${where}: keys[${i}]`
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ConfigError(`${at} must be an object {"epoch": …, "key": "…"}`)
    for (const k of Object.keys(entry)) {
      if (k === 'epoch' || k === 'key') continue
      const near = nearest(k, ['epoch', 'key'])
      throw new ConfigError(`${at}: unknown field ${JSON.stringify(k)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; an entry has epoch and key`)
    }
    const { epoch, key } = entry as { epoch?: unknown, key?: unknown }
    if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 1 || epoch > MAX_KEY_EPOCH) {
      throw new ConfigError(`${at}.epoch must be an integer in 1..${MAX_KEY_EPOCH} (epoch), got ${JSON.stringify(epoch) ?? 'nothing'}`)
    }
    if (typeof key !== 'string' || key.length < MIN_PSEUDONYM_KEY_CHARS) {
      throw new ConfigError(`${at}.key must be a secret string of at least ${MIN_PSEUDONYM_KEY_CHARS} characters, got ${typeof key === 'string' ? `a ${key.length}-character string` : key === undefined ? 'nothing' : typeof key}`)
    }
    const twin = out.find((o) => o.epoch === epoch)
    if (twin) throw new ConfigError(`${at}: epoch ${epoch} appears twice; give each epoch one key`)
    const same = out.find((o) => o.key === key)
    if (same) throw new ConfigError(`${at}: the key of epoch ${epoch} is the key of epoch ${same.epoch}; a new epoch needs a new secret`)
    out.push({ epoch, key })
  })
  return out.sort((a, b) => a.epoch - b.epoch)
}
