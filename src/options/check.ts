// The one option checker of the library (issue 17, "one home for the contracts"): option names with "did you
// mean", integers and ranges with their units, all refused with one OptionError (code BAD_OPTION), whichever
// constructor was given them. Domain errors (a kernel's bad shape, a store's bad file) keep their own classes.
import { IdrError } from '../errors.js'
import { suggest } from './suggest.js'

/** An option that is unknown, misspelt, of the wrong type or out of range. */
export class OptionError extends IdrError {
  declare readonly code: 'BAD_OPTION'
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_OPTION', message, options)
  }
}

/** Refuses keys of `given` that are not in `known`, naming the nearest known one. */
export function checkOptionNames(where: string, given: object, known: readonly string[]): void {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue
    const near = suggest(key, known)
    throw new OptionError(`${where}: unknown option "${key}"${near ? ` (did you mean "${near}"?)` : ''}`)
  }
}

/** An integer ≥ 1; `unit` names what it counts ("ms", "events"). */
export function positiveInt(name: string, v: number, unit = ''): void {
  if (!Number.isInteger(v) || v < 1) throw new OptionError(`${name} must be a positive integer${unit ? ` (${unit})` : ''}, got ${String(v)}`)
}

/** A number in [lo, hi]. */
export function checkRange(name: string, v: number, lo: number, hi: number, unit = ''): void {
  if (!(v >= lo && v <= hi)) throw new OptionError(`${name} must be in [${lo}, ${hi}]${unit ? ` (${unit})` : ''}, got ${String(v)}`)
}
