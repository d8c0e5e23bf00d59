// Tombstones of erasures, kept in the store's `tombstones` table (schema 3): pseudonymous records of what
// was erased, up to which input position replayed events are skipped, and which raw events in the stream
// are still to be deleted. They are what keeps erased data from coming back (docs/privacy.md).
import type Database from 'better-sqlite3'
import type { Tombstone, TombstoneScope, Tombstones } from '../privacy/ports.js'
import { pseudonymPattern } from '../privacy/pseudonymise.js'
import { StoreError } from './errors.js'

/** An account pseudonym of any key epoch (a_…, a2_…): after a rotation erasures record the current epoch's. */
const ACCOUNT_PSEUDONYM = pseudonymPattern('account')

export type { Tombstone, TombstoneScope } from '../privacy/ports.js'

type Row = [string, TombstoneScope, string, number, number, string]

/** The tombstones of one store file. */
export class TombstoneTable implements Tombstones {
  readonly #put: Database.Statement<[string, string, string, number, number, string]>
  readonly #all: Database.Statement<[]>
  readonly #settle: Database.Statement<[string, string, string]>

  constructor(db: Database.Database) {
    this.#put = db.prepare(
      `INSERT INTO tombstones (account, scope, target, position, erased_at, pending) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (account, scope, target) DO UPDATE SET position = max(position, excluded.position),
         erased_at = excluded.erased_at, pending = excluded.pending`,
    )
    this.#all = db.prepare('SELECT account, scope, target, position, erased_at, pending FROM tombstones ORDER BY erased_at, account, scope, target').raw()
    this.#settle = db.prepare("UPDATE tombstones SET pending = '' WHERE account = ? AND scope = ? AND target = ?")
  }

  /** Records an erasure (a repeated one keeps the highest position and replaces what is pending). */
  put(t: Tombstone): void {
    if (!ACCOUNT_PSEUDONYM.test(t.account)) throw new StoreError('BAD_RECORD', 'tombstone: account must be an account pseudonym (a_…, a2_…), never the account token')
    if (!t.pending.every((s) => Number.isSafeInteger(s) && s > 0)) throw new StoreError('BAD_RECORD', 'tombstone: pending must hold stream sequences (integers > 0)')
    this.#put.run(t.account, t.scope, t.target, t.position, t.erasedAt, t.pending.length > 0 ? JSON.stringify(t.pending) : '')
  }

  /** Every tombstone, oldest first. */
  all(): Tombstone[] {
    return (this.#all.all() as Row[]).map(([account, scope, target, position, erasedAt, pending]) => ({
      account, scope, target, position, erasedAt, pending: pending === '' ? [] : JSON.parse(pending) as number[],
    }))
  }

  /** The stream no longer holds the tombstone's raw events. */
  settle(t: Pick<Tombstone, 'account' | 'scope' | 'target'>): void {
    this.#settle.run(t.account, t.scope, t.target)
  }
}
