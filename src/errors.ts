// The project's error classes. Tests and callers branch on `code`, never on the wording.

/** Base of every error idr raises on purpose; `code` is stable across releases. */
export class IdrError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** Why a kernel call was refused or failed. */
export type KernelErrorCode =
  | 'BAD_SHAPE' // lengths do not match the stated dimensions
  | 'NOT_FINITE' // NaN or ±Infinity where a finite number is required
  | 'BAD_VALUE' // a finite value outside its domain, e.g. a negative histogram bin or count
  | 'BAD_OPTION' // an option is unknown, misspelt or out of range
  | 'TOO_FEW_POINTS' // e.g. more mixture components than points
  | 'NOT_POSITIVE_DEFINITE' // no diagonal jitter made the matrix factorable
  | 'WASM_UNAVAILABLE' // the compiled module is missing (run `npm run build`)

/** A numeric kernel was given arguments it cannot honour. */
export class KernelError extends IdrError {
  declare readonly code: KernelErrorCode
  constructor(code: KernelErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
