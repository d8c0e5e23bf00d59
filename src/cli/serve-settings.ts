// The one table of `idr serve`'s settings: defaults with units, the resolved ServeConfig, each setting's parser,
// help and names (flag, IDR_* variable), and the "did you mean" every unknown name gets.
import { createHash } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { suggest } from '../options/suggest.js'
import type { AccountBinding } from '../ingress/ingress.js'
import { DEFAULT_IDLE_WARNING_MS } from './serve-watch.js'
import { DEFAULT_PREFIX, SUBJECT_PREFIX } from '../contracts/token.js'
import { DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_SNAPSHOT_INTERVAL_MS } from '../engine/engine.js'
import { DEFAULT_MAX_MESSAGE_BYTES } from '../ingress/ingress.js'
import { DEFAULT_RETENTION_INTERVAL_MS, DEFAULT_RETENTION_MS } from '../privacy/retention.js'
import { DEFAULT_MAILBOX_MAX, DEFAULT_MAX_QUEUED, DEFAULT_MAX_RESIDENT } from '../runtime/runtime.js'
import { MAX_KEY_EPOCH } from '../privacy/pseudonymise.js'
import {
  DEFAULT_JETSTREAM_TIMEOUT_MS, DEFAULT_KEYED_STREAM, DEFAULT_LANDING_MAX_AGE_MS, DEFAULT_LANDING_MAX_BYTES, DEFAULT_LANDING_STREAM, DEFAULT_STREAM,
  type LandingStorage,
} from '../transport/nats.js'
import {
  EMBEDDED_BUS, Invalid, MAX_MESSAGE_BYTES, MAX_PARTITIONS, MAX_RETENTION_DAYS, bool, int, natsUrls, optional, partitionList, secret, text,
  type Parse,
} from './serve-values.js'

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** The fixed, public key `--dev-key` uses: pseudonyms made with it can be reversed by anyone. */
export const DEV_PSEUDONYM_KEY = createHash('sha256').update('idr insecure development pseudonym key').digest('hex')

/** Defaults; the unit is in the name or the comment. The library's own defaults are imported, not restated. */
export const DEFAULTS = {
  nats: 'nats://127.0.0.1:4222',
  db: 'idr.db',
  jetstream: false,
  stream: DEFAULT_STREAM,
  landing: false,
  landingStream: DEFAULT_LANDING_STREAM,
  keyedStream: DEFAULT_KEYED_STREAM,
  landingMaxAgeMs: DEFAULT_LANDING_MAX_AGE_MS, // ms a raw event may wait unrelayed in the landing stream
  landingMaxBytes: DEFAULT_LANDING_MAX_BYTES,
  landingStorage: 'memory' as LandingStorage,
  landingThread: true,
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
  /**
   * The landing path (implies JetStream): raw events only in a work-queue landing stream, for seconds; the durable
   * stream the engine replays (keyedStream) holds pseudonymised events only (docs/privacy.md, "The landing path").
   */
  readonly landing: boolean
  readonly landingStream: string
  readonly keyedStream: string
  /** How long a raw event may wait unrelayed in the landing stream before the server drops it, ms. */
  readonly landingMaxAgeMs: number
  readonly landingMaxBytes: number
  readonly landingStorage: LandingStorage
  /** Relay on a worker thread with its own NATS connection (else on the engine's event loop). */
  readonly landingThread: boolean
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
export type Raw = Omit<ServeConfig, 'sources' | 'warnings' | 'partitions' | 'pseudonymKey' | 'pseudonymEpoch' | 'pseudonymKeys'> & {
  partitions?: readonly number[]
  pseudonymKey?: string
  pseudonymEpoch?: number
}

interface Setting<T> {
  readonly default: T
  readonly unit: string
  readonly help: string
  readonly parse: Parse<T>
  /** A flag that takes no value (`--jetstream`, `--jetstream=false`). */
  readonly boolean?: true
  /** Never echo the value in an error. */
  readonly secret?: true
}

const NON_EMPTY = /^\S(.*\S)?$/
// JetStream stream names may not contain spaces, '.', '*', '>', path separators
const STREAM_NAME = /^[A-Za-z0-9_-]{1,255}$/

/** Every setting: its default, unit, help and parser. */
export const SETTINGS: { readonly [K in keyof Raw]-?: Setting<Raw[K]> } = {
  nats: { default: DEFAULTS.nats, unit: 'URL', help: `NATS server URL(s), or "${EMBEDDED_BUS}" for the in-process bus`, parse: natsUrls },
  natsUser: { default: undefined, unit: '', help: 'NATS user name', parse: optional(text(NON_EMPTY, 'a non-empty string')) },
  natsPassword: { default: undefined, unit: '', help: 'NATS password', parse: optional(text(NON_EMPTY, 'a non-empty string')), secret: true },
  db: { default: DEFAULTS.db, unit: 'path', help: 'SQLite file (household snapshots with positions and timers, journeys, erasure tombstones, audit trail)', parse: text(NON_EMPTY, 'a file path') },
  jetstream: { default: DEFAULTS.jetstream, unit: '', help: 'consume a JetStream stream (one ordered consumer over the whole input)', parse: bool, boolean: true },
  stream: { default: DEFAULTS.stream, unit: 'name', help: 'JetStream stream of the input events', parse: text(STREAM_NAME, 'a JetStream stream name (letters, digits, _ and -)') },
  landing: { default: DEFAULTS.landing, unit: '', help: 'the landing path (implies --jetstream): raw events live only in a short-lived landing stream; the durable stream holds pseudonyms', parse: bool, boolean: true },
  landingStream: { default: DEFAULTS.landingStream, unit: 'name', help: 'the landing path\'s work-queue stream of raw events', parse: text(STREAM_NAME, 'a JetStream stream name (letters, digits, _ and -)') },
  keyedStream: { default: DEFAULTS.keyedStream, unit: 'name', help: 'the landing path\'s durable stream of pseudonymised events', parse: text(STREAM_NAME, 'a JetStream stream name (letters, digits, _ and -)') },
  landingMaxAgeMs: { default: DEFAULTS.landingMaxAgeMs, unit: 'ms', help: 'longest a raw event waits unrelayed in the landing stream (then the server drops it)', parse: int(1_000, Number.MAX_SAFE_INTEGER, 'ms') },
  landingMaxBytes: { default: DEFAULTS.landingMaxBytes, unit: 'bytes', help: 'bytes the landing stream holds at most (further publishes are refused)', parse: int(1, Number.MAX_SAFE_INTEGER, 'bytes') },
  landingStorage: {
    default: DEFAULTS.landingStorage, unit: '', help: 'memory: raw events never reach a disk; file: they survive a nats-server restart',
    parse: (raw) => {
      if (raw !== 'memory' && raw !== 'file') throw new Invalid('"memory" or "file"')
      return raw
    },
  },
  landingThread: { default: DEFAULTS.landingThread, unit: '', help: 'relay on a worker thread with its own NATS connection (false: on the engine\'s event loop)', parse: bool, boolean: true },
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

/** The JetStream stream the engine reads and replays: the keyed one on the landing path, else `stream`. */
export function durableStream(cfg: Pick<ServeConfig, 'landing' | 'keyedStream' | 'stream'>): string {
  return cfg.landing ? cfg.keyedStream : cfg.stream
}

/** Every setting's name, in the table's order. */
export const NAMES = Object.keys(SETTINGS) as (keyof Raw)[]
const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
/** `--max-resident` for maxResident. */
export const flagOf = (name: SettingName): string => `--${kebab(name)}`
/** `IDR_MAX_RESIDENT` for maxResident. */
export const envOf = (name: SettingName): string => `IDR_${kebab(name).replaceAll('-', '_').toUpperCase()}`
/** The flag and the variable that name the JSON config file. */
export const CONFIG_FLAG = '--config'
export const CONFIG_ENV = 'IDR_CONFIG'

/** One row per setting, for `idr serve --help` and docs/operations.md. */
export const SETTING_ROWS: readonly { name: SettingName, flag: string, env: string, default: unknown, unit: string, help: string }[] =
  NAMES.map((name) => ({ name, flag: flagOf(name), env: envOf(name), default: SETTINGS[name].default, unit: SETTINGS[name].unit, help: SETTINGS[name].help }))

/** The closest of `known` to `given` (suggest()), comparing letters and digits only, case-insensitively. */
export function nearest(given: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '')
  const near = suggest(norm(given), known.map(norm))
  return near === undefined ? undefined : known[known.map(norm).indexOf(near)]
}

/** " (did you mean X?)" with the nearest of `known` to `given`, quoted by `quote`; '' when none is near. */
export function didYouMean(given: string, known: readonly string[], quote: (name: string) => string = (name) => name): string {
  const near = nearest(given, known)
  return near ? ` (did you mean ${quote(near)}?)` : ''
}
