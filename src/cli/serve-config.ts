// Settings of `idr serve`, from one table: defaults < JSON config file (--config) < environment (IDR_*) < flags.
// Every value is validated where it enters, and an error names the setting and the source that gave it.
// The table is serve-settings.ts, the value parsers serve-values.ts, the config and key files serve-files.ts.
import { readFileSync } from 'node:fs'
import { fileMode, readConfigFile, readKeyFile } from './serve-files.js'
import {
  CONFIG_ENV, CONFIG_FLAG, DEV_PSEUDONYM_KEY, NAMES, SETTINGS, didYouMean, envOf, flagOf,
  type Raw, type ServeConfig, type SettingName,
} from './serve-settings.js'
import { ConfigError, MIN_PSEUDONYM_KEY_CHARS, describeSecret, parseValue } from './serve-values.js'

/** How an error shows a setting's value: a secret by its length only. */
function show(name: keyof Raw, raw: unknown): string {
  if (SETTINGS[name].secret) return describeSecret(raw)
  return JSON.stringify(raw) ?? String(raw)
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
    raw[name] = parseValue<unknown>(SETTINGS[name].parse, value, isText, `${source}: ${name}`, () => show(name, value))
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
      warnings.push(`unknown environment variable ${key} ignored${didYouMean(key, [...byEnv.keys(), CONFIG_ENV])}`)
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
      throw new ConfigError(`unknown flag ${flag}${didYouMean(flag, [...byFlag.keys(), CONFIG_FLAG])}`)
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
