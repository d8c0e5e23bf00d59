// Settings of `idr serve`: precedence, misspellings, bad values named with their source, partitions, the key.
import { describe, expect, it } from 'vitest'
import { loadServeConfig } from '../src/cli/serve-config.js'
import { DEFAULTS, DEV_PSEUDONYM_KEY, type ServeConfig } from '../src/cli/serve-settings.js'
import { ConfigError } from '../src/cli/serve-values.js'
import { errorCode } from './helpers/errors.js'

const KEY = 'a-secret-of-32-characters-000000'
const BASE_ENV = { IDR_PSEUDONYM_KEY: KEY }

/** loadServeConfig with an in-memory config file named idr.json and pseudonym key file named keys.json (mode 600 unless given). */
function load(argv: string[], env: NodeJS.ProcessEnv = BASE_ENV, file?: object | string, keys?: { body: object | string, mode?: number }): ServeConfig {
  const files: Record<string, string> = file === undefined ? {} : { 'idr.json': typeof file === 'string' ? file : JSON.stringify(file) }
  if (keys) files['keys.json'] = typeof keys.body === 'string' ? keys.body : JSON.stringify(keys.body)
  const missing = (p: string) => Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' })
  return loadServeConfig(file === undefined ? argv : ['--config', 'idr.json', ...argv], env, (p) => {
    const body = files[p]
    if (body === undefined) throw missing(p)
    return body
  }, (p) => {
    if (files[p] === undefined) throw missing(p)
    return 0o100000 | (p === 'keys.json' ? keys?.mode ?? 0o600 : 0o644)
  })
}

function message(fn: () => unknown): string {
  expect(errorCode(fn, ConfigError)).toBe('BAD_CONFIG')
  try {
    fn()
  } catch (e) {
    return (e as Error).message
  }
  return ''
}

describe('idr serve settings', () => {
  it('uses the defaults when nothing is given', () => {
    const c = load([])
    expect(c).toMatchObject({
      nats: DEFAULTS.nats, db: 'idr.db', jetstream: false, stream: 'IDR_EV', of: 8, prefix: 'idr',
      maxResident: 100_000, mailboxMax: 10_000, maxQueued: 200_000, snapshotIntervalMs: 1000,
      drainTimeoutMs: 10_000, maxMessageBytes: 1024 * 1024, logLevel: 'info', devKey: false, pseudonymKey: KEY,
      retentionDays: 90, retentionIntervalMs: 3_600_000,
    })
    expect(c.partitions).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(c.http).toBeUndefined()
    expect(c.sources.maxResident).toBe('default')
  })

  it('takes the config file over defaults, the environment over the file, flags over the environment', () => {
    const file = { maxResident: 10, mailboxMax: 20, maxQueued: 30, db: 'file.db' }
    const env = { ...BASE_ENV, IDR_MAILBOX_MAX: '21', IDR_MAX_QUEUED: '31' }
    const c = load(['--max-queued', '32'], env, file)
    expect([c.maxResident, c.mailboxMax, c.maxQueued, c.db, c.snapshotIntervalMs]).toEqual([10, 21, 32, 'file.db', 1000])
    expect(c.sources).toMatchObject({
      maxResident: 'config file idr.json', mailboxMax: 'environment IDR_MAILBOX_MAX', maxQueued: 'flag --max-queued', snapshotIntervalMs: 'default',
    })
  })

  it('reads --flag=value, bare boolean flags and IDR_CONFIG', () => {
    const c = loadServeConfig(['--snapshot-interval-ms=250', '--jetstream', '--http=0'], { ...BASE_ENV, IDR_CONFIG: 'x.json' }, () => '{"stream":"EV2"}')
    expect([c.snapshotIntervalMs, c.jetstream, c.http, c.stream]).toEqual([250, true, 0, 'EV2'])
    expect(load(['--jetstream=false'], { ...BASE_ENV, IDR_JETSTREAM: 'true' }).jetstream).toBe(false)
  })

  it('names a misspelt key in the config file and suggests the known one', () => {
    expect(message(() => load([], BASE_ENV, { maxResidnet: 5 }))).toBe('unknown setting "maxResidnet" in idr.json (did you mean "maxResident"?)')
  })

  it('names a misspelt flag and suggests the known one', () => {
    expect(message(() => load(['--max-residnet', '5']))).toBe('unknown flag --max-residnet (did you mean --max-resident?)')
    expect(message(() => load(['--maxResident=5']))).toContain('(did you mean --max-resident?)')
    expect(message(() => load(['--frobnicate']))).toBe('unknown flag --frobnicate')
  })

  it('warns about an unknown IDR_ variable instead of failing', () => {
    const c = load([], { ...BASE_ENV, IDR_MAX_RESIDNET: '5' })
    expect(c.maxResident).toBe(DEFAULTS.maxResident)
    expect(c.warnings).toContain('unknown environment variable IDR_MAX_RESIDNET ignored (did you mean IDR_MAX_RESIDENT?)')
  })

  it('names the setting, its unit and its source when a value is bad', () => {
    expect(message(() => load([], BASE_ENV, { maxResident: -5 }))).toBe('config file idr.json: maxResident must be a positive integer (actors), got -5')
    expect(message(() => load([], { ...BASE_ENV, IDR_SNAPSHOT_INTERVAL_MS: '1.5' }))).toBe('environment IDR_SNAPSHOT_INTERVAL_MS: snapshotIntervalMs must be a positive integer (ms), got "1.5"')
    expect(message(() => load(['--max-resident', '-5']))).toBe('flag --max-resident: maxResident must be a positive integer (actors), got "-5"')
    expect(message(() => load([], BASE_ENV, { maxResident: '5' }))).toContain('got "5"')
    expect(message(() => load(['--of', '2000']))).toContain('of must be an integer in 1..1024 (partitions)')
    expect(message(() => load(['--http', '70000']))).toContain('http must be an integer in 0..65535 (port)')
    expect(message(() => load(['--log-level', 'loud']))).toContain('logLevel must be one of fatal, error, warn, info, debug, trace, silent')
    expect(message(() => load(['--nats', 'http://x:4222']))).toContain('flag --nats: nats must be nats:// or tls:// URLs')
    expect(message(() => load(['--stream', 'idr.ev']))).toContain('stream must be a JetStream stream name')
    expect(message(() => load(['--jetstream=maybe']))).toContain('jetstream must be true or false')
    expect(message(() => load(['--db']))).toBe('flag --db needs a value (path)')
    expect(message(() => load(['serve']))).toContain('unexpected argument "serve"')
  })

  it('reports an unreadable or malformed config file by its path', () => {
    expect(message(() => loadServeConfig(['--config', 'missing.json'], BASE_ENV, () => { throw Object.assign(new Error('no'), { code: 'ENOENT' }) })))
      .toBe('config file missing.json: cannot read it (ENOENT)')
    expect(message(() => load([], BASE_ENV, '{ "db": '))).toContain('config file idr.json: not valid JSON')
    expect(message(() => load([], BASE_ENV, '[1]'))).toContain('config file idr.json: must hold one JSON object')
  })

  it('turns "embedded" or null into the in-process bus', () => {
    expect(load(['--nats', 'embedded']).nats).toBeUndefined()
    expect(load([], BASE_ENV, { nats: null }).nats).toBeUndefined()
    expect(load(['--nats', 'nats://a:4222,tls://b:4223']).nats).toBe('nats://a:4222,tls://b:4223')
  })

  it('wants the NATS user and password together', () => {
    expect(message(() => load([], { ...BASE_ENV, IDR_NATS_USER: 'u' }))).toContain('environment IDR_NATS_USER: natsUser is set but natsPassword is not')
    expect(load([], { ...BASE_ENV, IDR_NATS_USER: 'u', IDR_NATS_PASSWORD: 'p' })).toMatchObject({ natsUser: 'u', natsPassword: 'p' })
  })
})

describe('partitions', () => {
  it('parses a range, a single partition and a comma list, ascending', () => {
    expect(load(['--partitions', '0-3', '--of', '8']).partitions).toEqual([0, 1, 2, 3])
    expect(load(['--partitions', '5']).partitions).toEqual([5])
    expect(load(['--partitions', '6-7,0,2']).partitions).toEqual([0, 2, 6, 7])
    expect(load([], BASE_ENV, { partitions: [3, 1], of: 4 }).partitions).toEqual([1, 3])
  })

  it('defaults to all partitions of --of', () => {
    expect(load(['--of', '3']).partitions).toEqual([0, 1, 2])
  })

  it('refuses partitions outside [0, of), naming where of came from', () => {
    expect(message(() => load(['--partitions', '6-9']))).toBe('flag --partitions: partitions must lie in 0..7 (of = 8 by default), got 8')
    expect(message(() => load(['--partitions', '2'], { ...BASE_ENV, IDR_OF: '2' })))
      .toBe('flag --partitions: partitions must lie in 0..1 (of = 2 from environment IDR_OF), got 2')
  })

  it('refuses malformed, reversed and repeated ranges', () => {
    for (const bad of ['a-b', '3-1', '1,1', '', '-1', '1-']) {
      expect(message(() => load([`--partitions=${bad}`]))).toContain('flag --partitions: partitions must be a partition range "A-B"')
    }
  })
})

describe('retention', () => {
  it('reads retentionDays and retentionIntervalMs from every source', () => {
    expect(load(['--retention-days', '30', '--retention-interval-ms', '600000'])).toMatchObject({ retentionDays: 30, retentionIntervalMs: 600_000 })
    const c = load([], { ...BASE_ENV, IDR_RETENTION_DAYS: '7' }, { retentionDays: 14, retentionIntervalMs: 60_000 })
    expect([c.retentionDays, c.retentionIntervalMs]).toEqual([7, 60_000])
    expect(c.sources).toMatchObject({ retentionDays: 'environment IDR_RETENTION_DAYS', retentionIntervalMs: 'config file idr.json' })
  })

  it('wants a whole number of days from 1 to 36500, and a positive interval', () => {
    expect(message(() => load(['--retention-days', '0']))).toBe('flag --retention-days: retentionDays must be an integer in 1..36500 (days), got "0"')
    expect(message(() => load([], { ...BASE_ENV, IDR_RETENTION_DAYS: '1.5' }))).toContain('retentionDays must be an integer in 1..36500 (days)')
    expect(message(() => load([], BASE_ENV, { retentionDays: null }))).toContain('retentionDays must be an integer in 1..36500 (days), got null')
    expect(message(() => load(['--retention-interval-ms', '-1']))).toBe('flag --retention-interval-ms: retentionIntervalMs must be a positive integer (ms), got "-1"')
    expect(message(() => load([], BASE_ENV, { retentionDay: 30 }))).toBe('unknown setting "retentionDay" in idr.json (did you mean "retentionDays"?)')
  })
})

describe('pseudonym key', () => {
  it('is required unless devKey is set', () => {
    expect(message(() => load([], {}))).toContain('pseudonymKey is required: set IDR_PSEUDONYM_KEY')
  })

  it('with --dev-key is the fixed insecure key, with a warning', () => {
    const c = load(['--dev-key'], {})
    expect(c.pseudonymKey).toBe(DEV_PSEUDONYM_KEY)
    expect(c.devKey).toBe(true)
    expect(c.warnings.join('\n')).toContain('never use it with real data')
    expect(load([], {}, { devKey: true }).pseudonymKey).toBe(DEV_PSEUDONYM_KEY)
  })

  it('refuses a short key without echoing it, and a key together with devKey', () => {
    const m = message(() => load([], { IDR_PSEUDONYM_KEY: 'short' }))
    expect(m).toBe('environment IDR_PSEUDONYM_KEY: pseudonymKey must be a secret string of at least 16 characters, got a 5-character string')
    expect(message(() => load(['--dev-key']))).toContain('devKey and pseudonymKey (from environment IDR_PSEUDONYM_KEY) are both set')
  })
})

describe('pseudonym keys by epoch', () => {
  const K2 = 'the-second-epoch-key-00000000000'
  const K3 = 'the-third-epoch-key-000000000000'
  const RING = { keys: [{ epoch: 3, key: K3 }, { epoch: 1, key: KEY }, { epoch: 2, key: K2 }] }
  const FILE_ENV = { IDR_PSEUDONYM_KEY_FILE: 'keys.json' }
  /** The message of a refused key file, checked not to echo any key. */
  const keyFileMessage = (body: object | string, mode?: number): string => {
    const m = message(() => load([], FILE_ENV, undefined, { body, mode }))
    for (const k of [KEY, K2, K3, 'short-key']) expect(m).not.toContain(k)
    return m
  }

  it('takes a lone pseudonymKey as epoch 1, or as the epoch pseudonymEpoch gives', () => {
    expect(load([])).toMatchObject({ pseudonymKey: KEY, pseudonymEpoch: 1, pseudonymKeys: [{ epoch: 1, key: KEY }] })
    const c = load([], { ...BASE_ENV, IDR_PSEUDONYM_EPOCH: '4' })
    expect(c).toMatchObject({ pseudonymKey: KEY, pseudonymEpoch: 4, pseudonymKeys: [{ epoch: 4, key: KEY }] })
    expect(c.sources.pseudonymEpoch).toBe('environment IDR_PSEUDONYM_EPOCH')
    expect(load(['--dev-key'], {})).toMatchObject({ pseudonymEpoch: 1, pseudonymKeys: [{ epoch: 1, key: DEV_PSEUDONYM_KEY }] })
  })

  it('reads every epoch from a key file, ascending, the highest current', () => {
    const c = load([], FILE_ENV, undefined, { body: RING })
    expect(c.pseudonymKeys).toEqual([{ epoch: 1, key: KEY }, { epoch: 2, key: K2 }, { epoch: 3, key: K3 }])
    expect([c.pseudonymKey, c.pseudonymEpoch, c.pseudonymKeyFile]).toEqual([K3, 3, 'keys.json'])
    expect(c.sources).toMatchObject({ pseudonymKeyFile: 'environment IDR_PSEUDONYM_KEY_FILE', pseudonymKey: 'key file keys.json', pseudonymEpoch: 'key file keys.json' })
    expect(load(['--pseudonym-key-file', 'keys.json'], {}, undefined, { body: RING }).pseudonymEpoch).toBe(3)
    expect(load([], {}, { pseudonymKeyFile: 'keys.json' }, { body: RING }).pseudonymEpoch).toBe(3)
  })

  it('accepts a key file its group may read, and refuses one other users may read or write', () => {
    expect(load([], FILE_ENV, undefined, { body: RING, mode: 0o640 }).pseudonymEpoch).toBe(3)
    expect(keyFileMessage(RING, 0o644)).toBe('environment IDR_PSEUDONYM_KEY_FILE: key file keys.json: other users may read or write it (mode 644); chmod 600 it (640 for a group of the service)')
    expect(keyFileMessage(RING, 0o602)).toContain('(mode 602)')
  })

  it('refuses a malformed key file by its path, without echoing a key', () => {
    expect(message(() => load([], { IDR_PSEUDONYM_KEY_FILE: 'nope.json' }))).toBe('environment IDR_PSEUDONYM_KEY_FILE: key file nope.json: cannot read it (ENOENT)')
    expect(keyFileMessage(`{"keys":[{"epoch":1,"key":"${KEY}"`)).toBe('environment IDR_PSEUDONYM_KEY_FILE: key file keys.json: not valid JSON')
    expect(keyFileMessage([RING])).toContain('must hold one JSON object, {"keys": [{"epoch": 1, "key": "…"}, …]}')
    expect(keyFileMessage({ key: RING.keys })).toContain('unknown field "key" (did you mean "keys"?)')
    expect(keyFileMessage({ keys: [] })).toContain('keys must be a non-empty array')
    expect(keyFileMessage({ keys: [KEY] })).toContain('keys[0] must be an object')
    expect(keyFileMessage({ keys: [{ epoch: 1, kye: KEY }] })).toContain('keys[0]: unknown field "kye" (did you mean "key"?)')
  })

  it('refuses bad epochs, repeated epochs, repeated and short keys, naming the entry', () => {
    expect(keyFileMessage({ keys: [{ epoch: 1, key: KEY }, { epoch: 1.5, key: K2 }] }))
      .toBe('environment IDR_PSEUDONYM_KEY_FILE: key file keys.json: keys[1].epoch must be an integer in 1..999999 (epoch), got 1.5')
    expect(keyFileMessage({ keys: [{ epoch: '2', key: K2 }] })).toContain('keys[0].epoch must be an integer in 1..999999 (epoch), got "2"')
    expect(keyFileMessage({ keys: [{ key: K2 }] })).toContain('keys[0].epoch must be an integer in 1..999999 (epoch), got nothing')
    expect(keyFileMessage({ keys: [{ epoch: 0, key: K2 }] })).toContain('got 0')
    expect(keyFileMessage({ keys: [{ epoch: 1, key: KEY }, { epoch: 1, key: K2 }] })).toContain('keys[1]: epoch 1 appears twice; give each epoch one key')
    expect(keyFileMessage({ keys: [{ epoch: 1, key: KEY }, { epoch: 2, key: KEY }] })).toContain('keys[1]: the key of epoch 2 is the key of epoch 1; a new epoch needs a new secret')
    expect(keyFileMessage({ keys: [{ epoch: 1, key: 'short-key' }] })).toContain('keys[0].key must be a secret string of at least 16 characters, got a 9-character string')
    expect(keyFileMessage({ keys: [{ epoch: 1 }] })).toContain('keys[0].key must be a secret string of at least 16 characters, got nothing')
  })

  it('wants one source of keys, and pseudonymEpoch only with pseudonymKey', () => {
    expect(message(() => load(['--pseudonym-key-file', 'keys.json'], BASE_ENV, undefined, { body: RING })))
      .toBe('flag --pseudonym-key-file: pseudonymKeyFile and pseudonymKey (from environment IDR_PSEUDONYM_KEY) are both set; drop one (the key file holds every epoch\'s key)')
    expect(message(() => load(['--dev-key'], FILE_ENV, undefined, { body: RING }))).toBe('flag --dev-key: devKey and pseudonymKeyFile (from environment IDR_PSEUDONYM_KEY_FILE) are both set; drop one')
    expect(message(() => load(['--pseudonym-epoch', '2'], FILE_ENV, undefined, { body: RING })))
      .toBe('flag --pseudonym-epoch: pseudonymEpoch is the epoch of pseudonymKey, which is not set (a key file gives each key its own epoch)')
    expect(message(() => load(['--pseudonym-epoch', '0']))).toBe('flag --pseudonym-epoch: pseudonymEpoch must be an integer in 1..999999 (epoch), got "0"')
    expect(message(() => load([], {}))).toContain('or IDR_PSEUDONYM_KEY_FILE (keys by epoch)')
  })
})
