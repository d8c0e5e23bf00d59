// What every `idr` subcommand shares to read its flags: --help / -h, node:util parseArgs with its errors
// turned into plain ones ("unknown option --househods (did you mean --households?)"), numbers and choices
// checked by name, and the one exit code for a wrong invocation (2; a failure while running is 1).
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { IdrError } from '../errors.js'
import { suggest } from './suggest.js'

/** Exit code of a wrong invocation: an unknown, missing or bad flag, argument or setting. */
export const EXIT_USAGE = 2
/** Exit code of a failure while running (a file that cannot be read, NATS unreachable, a refusal of the input). */
export const EXIT_FAILURE = 1

/** The command line is wrong: an unknown or misspelt flag, a missing or bad value, a stray argument. */
export class UsageError extends IdrError {
  declare readonly code: 'BAD_OPTION'
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_OPTION', message, options)
  }
}

/**
 * 2 for a wrong invocation, 1 otherwise. Besides UsageError, any IdrError with code BAD_OPTION (an option
 * refused by the library it is passed to) or BAD_CONFIG (a setting of idr serve) is the caller's to fix.
 */
export function exitCodeOf(err: unknown): number {
  return err instanceof IdrError && (err.code === 'BAD_OPTION' || err.code === 'BAD_CONFIG') ? EXIT_USAGE : EXIT_FAILURE
}

/** `--help` or `-h` anywhere before a `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false
    if (a === '--help' || a === '-h') return true
  }
  return false
}

type Options = NonNullable<ParseArgsConfig['options']>
/** The values of a command's flags: strings for string flags, booleans for the others (absent: undefined). */
export type FlagValues<O extends Options> = { [K in keyof O]?: O[K] extends { type: 'string' } ? string : boolean }

/**
 * Parses `args` against `options` strictly. A string flag takes the next argument as its value unless that
 * starts with `--`, so `--households -3` reaches the number check instead of parseArgs' "ambiguous" error.
 * `positionals` is how many plain arguments the command takes (default none).
 */
export function parseFlags<const O extends Options>(args: readonly string[], options: O, positionals = 0): { values: FlagValues<O>, positionals: string[] } {
  const prepared: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '--') {
      prepared.push(...args.slice(i))
      break
    }
    const next = args[i + 1]
    const flag = a.startsWith('--') && !a.includes('=') ? options[a.slice(2)] : undefined
    if (flag?.type === 'string' && next !== undefined && next.startsWith('-') && !next.startsWith('--')) {
      prepared.push(`${a}=${next}`)
      i++
    } else {
      prepared.push(a)
    }
  }
  let parsed
  try {
    parsed = parseArgs({ args: prepared, options, strict: true, allowPositionals: true })
  } catch (cause) {
    throw plain(cause, options)
  }
  if (parsed.positionals.length > positionals) {
    const extra = parsed.positionals[positionals]!
    throw new UsageError(positionals === 0 ? `unexpected argument "${extra}": this command takes only flags` : `unexpected argument "${extra}"`)
  }
  return { values: parsed.values as FlagValues<O>, positionals: parsed.positionals }
}

/** parseArgs' error in plain words, naming the flag and the nearest known one. */
function plain(cause: unknown, options: Options): Error {
  const e = cause as NodeJS.ErrnoException
  const message = e.message ?? String(cause)
  const quoted = /'(-[^' ]+)/.exec(message)?.[1]
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted) {
    const near = quoted.startsWith('--') ? suggest(quoted.slice(2), Object.keys(options)) : undefined
    return new UsageError(`unknown option ${quoted}${near ? ` (did you mean --${near}?)` : ''}`, { cause })
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && quoted) {
    if (/does not take an argument/.test(message)) return new UsageError(`${quoted} takes no value`, { cause })
    return new UsageError(`${quoted} needs a value`, { cause })
  }
  return new UsageError(message, { cause })
}

/** A whole number of at least `min` (and at most `max`), or undefined when the flag is absent. `_` may group digits. */
export function wholeNumber(flag: string, raw: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined
  const s = raw.trim().replaceAll('_', '')
  const n = /^[+-]?\d+$/.test(s) ? Number(s) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`
    throw new UsageError(`--${flag} must be a whole number ${range}, got "${raw}"`)
  }
  return n
}

/** A finite number in (0, max] (or [0, max] with `zero`), or undefined when absent; `unit` names what it counts. */
export function positiveNumber(flag: string, raw: string | undefined, unit: string, max = Infinity, zero = false): number | undefined {
  if (raw === undefined) return undefined
  const n = raw.trim() === '' ? NaN : Number(raw)
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !zero) || n > max) {
    const range = `${zero ? 'zero or more' : 'more than 0'}${max === Infinity ? '' : ` and at most ${max}`}`
    throw new UsageError(`--${flag} must be a number of ${unit}, ${range}, got "${raw}"`)
  }
  return n
}

/** One of `choices`, or undefined when absent; a near miss is named. */
export function choice<const T extends string>(flag: string, raw: string | undefined, choices: readonly T[]): T | undefined {
  if (raw === undefined) return undefined
  if ((choices as readonly string[]).includes(raw)) return raw as T
  const near = suggest(raw, choices)
  const list = choices.length === 2 ? `${choices[0]} or ${choices[1]}` : `one of ${choices.join(', ')}`
  throw new UsageError(`--${flag} must be ${list}, got "${raw}"${near ? ` (did you mean ${near}?)` : ''}`)
}

/** A share from 0 to 1, or undefined when absent. */
export function share(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const n = raw.trim() === '' ? NaN : Number(raw)
  if (!(n >= 0 && n <= 1)) throw new UsageError(`--${flag} must be a share from 0 to 1, got "${raw}"`)
  return n
}
