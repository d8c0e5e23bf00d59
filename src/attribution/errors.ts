// Errors raised by the attribution library and `idr attribute`. Callers branch on `code`, never on the wording.
import { IdrError } from '../errors.js'

/** Why an attribution input or call was refused. */
export type AttributionErrorCode =
  | 'BAD_PATH_TABLE' // a path-table row or header is malformed (the message names the line)
  | 'NO_ROWS' // a path table with a header but no data rows
  | 'OVERFLOW' // a count, value or total too large to sum exactly (beyond MAX_SAFE_TOTAL, or not finite)
  | 'BAD_VALUE' // a journey count or value that is negative or not finite
  | 'BAD_OPTION' // an option is unknown, misspelt or out of range
  | 'TOO_MANY_CHANNELS' // more channels than a model (or the interning) supports
  | 'NOT_SUPPORTED' // a model or input that this version does not build yet
  | 'NO_CONVERGENCE' // the iterative absorbing-chain solve did not reach its tolerance
  | 'ENGINE_UNAVAILABLE' // `idr attribute --nats`: no NATS server, or no engine answered the report

/** An attribution input or call that cannot be honoured. */
export class AttributionError extends IdrError {
  declare readonly code: AttributionErrorCode
  /** 1-based line of the path-table file, when the error is about one. */
  readonly line: number | undefined
  constructor(code: AttributionErrorCode, message: string, options?: { cause?: unknown, line?: number }) {
    super(code, message, options)
    this.line = options?.line
  }
}
