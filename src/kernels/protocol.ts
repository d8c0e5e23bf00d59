// Messages between the main thread and the kernel pool's workers. Many households ride in one task: their
// points are packed into one buffer that is transferred, not copied.
import type { GmmSelectOptions, GmmSelection } from './gmm.js'

/** One household's model selection inside a batch: its rows start at `offset` (in f64) of the packed buffer. */
export interface PackedGmmJob {
  readonly rows: number
  readonly cols: number
  readonly offset: number
  readonly options: GmmSelectOptions
}

export interface GmmBatchTask {
  readonly points: Float64Array
  readonly jobs: readonly PackedGmmJob[]
}

/** A job's outcome; one bad household does not fail its batch. */
export type GmmJobResult =
  | { readonly ok: true, readonly selection: GmmSelection }
  | { readonly ok: false, readonly code: string, readonly message: string }
