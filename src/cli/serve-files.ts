// The JSON files of `idr serve`: the config file (--config) and the pseudonym key file (docs/key-rotation.md).
// Each is read, parsed and checked here; every error names the file, and none echoes a key.
import { statSync } from 'node:fs'
import { MAX_KEY_EPOCH } from '../privacy/pseudonymise.js'
import { NAMES, SETTINGS, didYouMean, type ServeConfig } from './serve-settings.js'
import { ConfigError, describeSecret, int, parseValue, secret } from './serve-values.js'

/** A key file's epochs follow the pseudonymEpoch setting's rule. */
const EPOCH = int(1, MAX_KEY_EPOCH, 'epoch')
const quoted = (name: string): string => JSON.stringify(name)

/** A file's permission bits (undefined where there are none to check, on Windows). */
export function fileMode(path: string): number | undefined {
  return process.platform === 'win32' ? undefined : statSync(path).mode
}

/** The settings object of a config file, each key a known setting (its values are parsed by the caller). */
export function readConfigFile(path: string, readFile: (path: string) => string): Record<string, unknown> {
  const where = `config file ${path}`
  const parsed = parseJson(where, readOrFail(where, () => readFile(path)), true)
  if (!isObject(parsed)) throw new ConfigError(`${where}: must hold one JSON object of settings, e.g. {"db": "idr.db"}`)
  for (const key of Object.keys(parsed)) {
    if (key in SETTINGS) continue
    throw new ConfigError(`unknown setting ${JSON.stringify(key)} in ${path}${didYouMean(key, NAMES, quoted)}`)
  }
  return parsed
}

/**
 * Reads `{"keys": [{"epoch": 1, "key": "…"}, …]}` (docs/key-rotation.md): at least one key, each epoch and each
 * key once, keys of at least MIN_PSEUDONYM_KEY_CHARS. A file other users may read or write is refused, as ssh
 * refuses such a private key. Errors never echo a key. Returns the keys, epochs ascending.
 */
export function readKeyFile(path: string, source: string, readFile: (path: string) => string, modeOf: (path: string) => number | undefined): ServeConfig['pseudonymKeys'] {
  const where = `${source}: key file ${path}`
  const { mode, body } = readOrFail(where, () => ({ mode: modeOf(path), body: readFile(path) }))
  if (mode !== undefined && (mode & 0o006) !== 0) {
    throw new ConfigError(`${where}: other users may read or write it (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); chmod 600 it (640 for a group of the service)`)
  }
  // JSON.parse's message may quote the text around the error, i.e. a key: not echoed
  const parsed = parseJson(where, body, false)
  const expected = '{"keys": [{"epoch": 1, "key": "…"}, …]}'
  if (!isObject(parsed)) throw new ConfigError(`${where}: must hold one JSON object, ${expected}`)
  for (const k of Object.keys(parsed)) {
    if (k !== 'keys') throw new ConfigError(`${where}: unknown field ${JSON.stringify(k)}${didYouMean(k, ['keys'], quoted)}; expected ${expected}`)
  }
  const list = parsed.keys
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`${where}: keys must be a non-empty array, ${expected}`)
  const out: { epoch: number, key: string }[] = []
  list.forEach((entry: unknown, i) => {
    const at = `${where}: keys[${i}]`
    if (!isObject(entry)) throw new ConfigError(`${at} must be an object {"epoch": …, "key": "…"}`)
    for (const k of Object.keys(entry)) {
      if (k === 'epoch' || k === 'key') continue
      throw new ConfigError(`${at}: unknown field ${JSON.stringify(k)}${didYouMean(k, ['epoch', 'key'], quoted)}; an entry has epoch and key`)
    }
    // the same rules as the pseudonymEpoch and pseudonymKey settings
    const epoch = parseValue(EPOCH, entry.epoch, false, `${at}.epoch`, () => JSON.stringify(entry.epoch) ?? 'nothing')
    const key = parseValue(secret, entry.key, false, `${at}.key`, () => describeSecret(entry.key))
    const twin = out.find((o) => o.epoch === epoch)
    if (twin) throw new ConfigError(`${at}: epoch ${epoch} appears twice; give each epoch one key`)
    const same = out.find((o) => o.key === key)
    if (same) throw new ConfigError(`${at}: the key of epoch ${epoch} is the key of epoch ${same.epoch}; a new epoch needs a new secret`)
    out.push({ epoch, key })
  })
  return out.sort((a, b) => a.epoch - b.epoch)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** What `read` returns; a failure becomes "<where>: cannot read it (<errno code or message>)". */
function readOrFail<T>(where: string, read: () => T): T {
  try {
    return read()
  } catch (e) {
    throw new ConfigError(`${where}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e })
  }
}

/** JSON.parse of `body`; a failure becomes "<where>: not valid JSON", with the parser's message if `echo`. */
function parseJson(where: string, body: string, echo: boolean): unknown {
  try {
    return JSON.parse(body)
  } catch (e) {
    throw new ConfigError(`${where}: not valid JSON${echo ? ` (${(e as Error).message})` : ''}`, { cause: e })
  }
}
