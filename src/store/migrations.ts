// Versioned schema migrations, tracked by PRAGMA user_version (0 = empty file). Append only: a released
// migration is never edited, because files in the field already ran it; a change is a new migration.
import type Database from 'better-sqlite3'
import { StoreError } from './errors.js'
import { OptionError } from '../options/check.js'

/** One schema step; `up` runs inside the transaction that also sets user_version to `version`. */
export interface Migration {
  readonly version: number
  readonly name: string
  readonly up: (db: Database.Database) => void
}

/** PRAGMA application_id of an idr store ('idr1' in ASCII), so another program's SQLite file is refused. */
export const APPLICATION_ID = 0x69647231

// STRICT: a wrong type is an error, not silently stored (SQLite's default affinity would keep '12' in an INTEGER column).
// households is a rowid table, not WITHOUT ROWID: snapshots are kilobytes, far over the small rows WITHOUT
// ROWID suits; measured, loads were 2–3× slower and overwrites slower too without the rowid (docs/storage.md).
const V1 = `
CREATE TABLE households (
  account    TEXT    NOT NULL PRIMARY KEY CHECK (length(account) > 0),
  partition  INTEGER NOT NULL CHECK (partition >= 0),
  seq        INTEGER NOT NULL CHECK (seq >= 0),
  snapshot   BLOB    NOT NULL,
  updated_at INTEGER NOT NULL -- epoch ms of the commit that wrote this row
) STRICT;
CREATE TABLE positions (
  partition INTEGER PRIMARY KEY CHECK (partition >= 0),
  seq       INTEGER NOT NULL CHECK (seq >= 0)
) STRICT;
CREATE TABLE meta (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
`

// The privacy audit trail (src/privacy/audit.ts): one canonical-JSON record per operation and the SHA-256
// chain value after it. Append only by convention; verify() detects what was altered, reordered or removed.
const V2 = `
CREATE TABLE audit (
  seq    INTEGER PRIMARY KEY CHECK (seq >= 1),
  record TEXT    NOT NULL,
  chain  BLOB    NOT NULL CHECK (length(chain) = 32)
) STRICT;
`

// Tombstones of erasures (src/privacy/erase.ts): the account as its a_… pseudonym, what was erased (the
// whole account, a person id or a device pseudonym), the input position up to which replayed events are
// skipped, and the stream sequences whose raw events are still to be deleted (pending: JSON array, '' when done).
const V3 = `
CREATE TABLE tombstones (
  account   TEXT    NOT NULL CHECK (account GLOB 'a_*'),
  scope     TEXT    NOT NULL CHECK (scope IN ('account', 'person', 'device')),
  target    TEXT    NOT NULL,
  position  INTEGER NOT NULL CHECK (position >= 0),
  erased_at INTEGER NOT NULL,
  pending   TEXT    NOT NULL,
  PRIMARY KEY (account, scope, target)
) STRICT;
`

// Completed marketing journeys (src/store/journeys.ts), written with their household's snapshot; the
// attribution report reads them by end time, erasure by account.
const V4 = `
CREATE TABLE journeys (
  id          INTEGER PRIMARY KEY,
  account     TEXT    NOT NULL CHECK (length(account) > 0),
  level       TEXT    NOT NULL CHECK (level IN ('account', 'person')),
  person      TEXT    NOT NULL,
  end_ts      INTEGER NOT NULL,
  conversions REAL    NOT NULL CHECK (conversions >= 0),
  value       REAL    NOT NULL CHECK (value >= 0),
  nulls       REAL    NOT NULL CHECK (nulls >= 0),
  touches     BLOB    NOT NULL CHECK (length(touches) % 9 = 0),
  who         BLOB    NOT NULL
) STRICT;
CREATE INDEX journeys_account ON journeys (account);
CREATE INDEX journeys_end ON journeys (level, end_ts);
`

// Event-time timers (src/runtime/event-time.ts): an account's armed timer stored with its snapshot, and each
// partition's newest event time stored with its position, so that a restart fires the timers an uninterrupted
// run would have. The partial index lists the armed timers at start-up without reading any snapshot.
// An event time of NULL is −Infinity (no event yet); REAL, as epoch ms may be fractional after the idle policy.
const V5 = `
ALTER TABLE households ADD COLUMN timer_at REAL;
ALTER TABLE positions ADD COLUMN event_time REAL;
CREATE INDEX households_timers ON households (timer_at, partition, account) WHERE timer_at IS NOT NULL;
`

// Tombstones of erasures made after a key rotation name the account by the current epoch's pseudonym (a2_…):
// version 3's CHECK admitted epoch 1's a_… only, so every such erasure failed. SQLite cannot change a CHECK in
// place: the table is rebuilt with its rows.
const V6 = `
CREATE TABLE tombstones_v6 (
  account   TEXT    NOT NULL CHECK (account GLOB 'a_*' OR account GLOB 'a[1-9]*_*'),
  scope     TEXT    NOT NULL CHECK (scope IN ('account', 'person', 'device')),
  target    TEXT    NOT NULL,
  position  INTEGER NOT NULL CHECK (position >= 0),
  erased_at INTEGER NOT NULL,
  pending   TEXT    NOT NULL,
  PRIMARY KEY (account, scope, target)
) STRICT;
INSERT INTO tombstones_v6 (account, scope, target, position, erased_at, pending) SELECT account, scope, target, position, erased_at, pending FROM tombstones;
DROP TABLE tombstones;
ALTER TABLE tombstones_v6 RENAME TO tombstones;
`

/** Every migration in order; the last one's version is the schema this code writes. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'households, positions, meta', up: (db) => db.exec(V1) },
  { version: 2, name: 'audit', up: (db) => db.exec(V2) },
  { version: 3, name: 'tombstones', up: (db) => db.exec(V3) },
  { version: 4, name: 'journeys', up: (db) => db.exec(V4) },
  { version: 5, name: 'event-time timers', up: (db) => db.exec(V5) },
  { version: 6, name: 'tombstones of every key epoch', up: (db) => db.exec(V6) },
]

/** The schema version this build of idr writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version

/** Brings db up to the last of `migrations`, one transaction per step; returns the versions before and after. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): { from: number, to: number } {
  checkOrder(migrations)
  const latest = migrations.at(-1)?.version ?? 0
  const from = userVersion(db)
  if (from > latest) {
    throw new StoreError('SCHEMA_TOO_NEW', `${db.name}: schema version ${from} was written by a newer idr; this one reads up to ${latest}. Upgrade idr, or restore a backup.`)
  }
  checkOwner(db, from)
  // IMMEDIATE takes the write lock before reading the version, so two processes opening one new file do not both run a step.
  const step = db.transaction((m: Migration) => {
    if (userVersion(db) >= m.version) return
    m.up(db)
    db.pragma(`application_id = ${APPLICATION_ID}`)
    db.pragma(`user_version = ${m.version}`)
  })
  for (const m of migrations) {
    if (m.version <= from) continue
    try {
      step.immediate(m)
    } catch (e) {
      throw new StoreError('MIGRATION_FAILED', `${db.name}: migration ${m.version} ("${m.name}") failed and was rolled back; the file stays at version ${userVersion(db)}: ${(e as Error).message}`, { cause: e })
    }
  }
  return { from, to: Math.max(from, latest) }
}

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number
}

// An idr store carries APPLICATION_ID; an empty file is one before its first migration.
function checkOwner(db: Database.Database, version: number): void {
  const app = db.pragma('application_id', { simple: true }) as number
  if (app === APPLICATION_ID) return
  const objects = db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number
  if (version === 0 && app === 0 && objects === 0) return
  throw new StoreError('BAD_FILE', `${db.name} is a SQLite file of another program (application_id ${app}, user_version ${version}, ${objects} schema objects), not an idr store`)
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new OptionError(`migration "${m.name}" has version ${m.version}; versions must run 1, 2, 3, … in order`)
  })
}
