// The store's typed errors. Callers branch on `code`, never on the wording.
import { IdrError } from '../errors.js'

/** Why the store refused or failed. */
export type StoreErrorCode =
  | 'BAD_FILE' // not a SQLite file, or a SQLite file that is not an idr store
  | 'SCHEMA_TOO_NEW' // written by a newer idr; opening it with this one could corrupt it
  | 'MIGRATION_FAILED' // a schema migration threw; its transaction was rolled back
  | 'PARTITIONS_CHANGED' // opened with another partition count than the one its positions were stored under
  | 'BAD_RECORD' // a commit carried a malformed household or position; nothing of that batch was written
  | 'BAD_OPTION' // an option is unknown, misspelt or out of range
  | 'CLOSED' // used after close()

/** The SQLite store could not do what was asked; `cause` holds the underlying SqliteError, if any. */
export class StoreError extends IdrError {
  declare readonly code: StoreErrorCode
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
