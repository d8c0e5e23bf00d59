// Snapshot stores: the SnapshotStore contract for SqliteStore and MemoryStore alike, then what only the SQLite
// file has (reopening, migrations, partition binding, erasure from the file bytes, a crash mid-commit).
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import Database from 'better-sqlite3'
import ts from 'typescript'
import { afterEach, describe, expect, it } from 'vitest'
import { projectRoot } from '../src/paths.js'
import { partitionOf } from '../src/contracts/partition.js'
import { OptionError } from '../src/options/check.js'
import { MemoryStore } from '../src/runtime/memory-store.js'
import type { CommitBatch, SnapshotStore, StoredHousehold } from '../src/ports/store.js'
import { StoreError } from '../src/store/errors.js'
import { migrate, MIGRATIONS, SCHEMA_VERSION, type Migration } from '../src/store/migrations.js'
import { ACCOUNTS_PAGE, openStore, type SqliteStore, type StoreOptions } from '../src/store/sqlite-store.js'
import { errorCode } from './helpers/errors.js'

const PARTITIONS = 4
const utf8 = new TextEncoder()

const dirs: string[] = []
const stores: SnapshotStore[] = []
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'idr-store-'))
  dirs.push(dir)
  return dir
}

function tempFile(): string {
  return join(tempDir(), 'idr.db')
}

function open(file: string, options?: StoreOptions): SqliteStore {
  const s = openStore(file, options)
  stores.push(s)
  return s
}

function household(account: string, seq: number, text = `${account}@${seq}`): StoredHousehold {
  return { account, partition: partitionOf(account, PARTITIONS), seq, snapshot: utf8.encode(text) }
}

function batch(households: StoredHousehold[], positions: [number, number][] = []): CommitBatch {
  return { households, positions: new Map(positions) }
}

const text = (h: StoredHousehold | undefined): string | undefined => h && new TextDecoder().decode(h.snapshot)

const implementations: { name: string, make: () => SnapshotStore }[] = [
  { name: 'SqliteStore', make: () => open(tempFile()) },
  {
    name: 'MemoryStore',
    make: () => {
      const s = new MemoryStore()
      stores.push(s)
      return s
    },
  },
]

describe.each(implementations)('$name', ({ make }) => {
  it('returns the snapshots, sequences and positions it was given', () => {
    const store = make()
    store.commit(batch([household('alice', 7), household('bob', 9)], [[0, 9], [3, 4]]))
    const alice = store.load('alice')
    expect(alice).toMatchObject({ account: 'alice', partition: partitionOf('alice', PARTITIONS), seq: 7 })
    expect(alice?.snapshot).toBeInstanceOf(Uint8Array)
    expect(text(alice)).toBe('alice@7')
    expect(text(store.load('bob'))).toBe('bob@9')
    expect(store.positions()).toEqual(new Map([[0, 9], [3, 4]]))
    expect(store.count()).toBe(2)
  })

  it('replaces a household and a position with a later commit, and keeps the others', () => {
    const store = make()
    store.commit(batch([household('alice', 1), household('bob', 1)], [[0, 1], [1, 1]]))
    store.commit(batch([household('alice', 5, 'newer')], [[0, 5]]))
    expect(store.load('alice')).toMatchObject({ seq: 5 })
    expect(text(store.load('alice'))).toBe('newer')
    expect(text(store.load('bob'))).toBe('bob@1')
    expect(store.positions()).toEqual(new Map([[0, 5], [1, 1]]))
  })

  it('returns undefined for an account it never stored, and stores an empty snapshot', () => {
    const store = make()
    expect(store.load('nobody')).toBeUndefined()
    store.commit(batch([{ account: 'empty', partition: 0, seq: 0, snapshot: new Uint8Array(0) }]))
    expect(store.load('empty')?.snapshot.byteLength).toBe(0)
  })

  it('writes nothing of a batch whose record is malformed midway, and stays usable', () => {
    const store = make()
    store.commit(batch([household('alice', 1)], [[0, 1]]))
    const malformed: [string, StoredHousehold | [number, number]][] = [
      ['a snapshot that is not a Uint8Array', { ...household('x', 2), snapshot: 'bytes' as unknown as Uint8Array }],
      ['a NaN sequence', { ...household('x', 2), seq: Number.NaN }],
      ['a negative partition', { ...household('x', 2), partition: -1 }],
      ['an empty account', household('', 2)],
      ['a position with a fractional sequence', [1, 2.5]],
    ]
    for (const [what, bad] of malformed) {
      const households = [household('alice', 2, 'changed'), household('carol', 2)]
      const positions: [number, number][] = [[0, 2], [2, 2]]
      if (Array.isArray(bad)) positions.push(bad)
      else households.push(bad)
      expect(errorCode(() => store.commit(batch(households, positions))), what).toBe('BAD_RECORD')
      expect(text(store.load('alice')), what).toBe('alice@1')
      expect(store.load('carol'), what).toBeUndefined()
      expect(store.positions(), what).toEqual(new Map([[0, 1]]))
      expect(store.count(), what).toBe(1)
    }
    store.commit(batch([household('carol', 3)], [[2, 3]]))
    expect(text(store.load('carol'))).toBe('carol@3')
  })

  it('lists its accounts in order and counts them', () => {
    const store = make()
    store.commit(batch(['delta', 'alpha', 'charlie', 'bravo'].map((a) => household(a, 1))))
    expect([...store.accounts()]).toEqual(['alpha', 'bravo', 'charlie', 'delta'])
    expect(store.count()).toBe(4)
  })

  it('deletes an account and says whether it had one', () => {
    const store = make()
    store.commit(batch([household('alice', 1), household('bob', 1)], [[0, 1]]))
    expect(store.delete('alice')).toBe(true)
    expect(store.delete('alice')).toBe(false)
    expect(store.load('alice')).toBeUndefined()
    expect([...store.accounts()]).toEqual(['bob'])
    expect(store.positions()).toEqual(new Map([[0, 1]]))
  })

  it('shares no bytes with its callers', () => {
    const store = make()
    const given = household('alice', 1, 'original')
    store.commit(batch([given]))
    given.snapshot.fill(0)
    const loaded = store.load('alice')!
    expect(text(loaded)).toBe('original')
    loaded.snapshot.fill(0)
    expect(text(store.load('alice'))).toBe('original')
  })

  it('closes once, and refuses every later call with CLOSED', () => {
    const store = make()
    store.commit(batch([household('alice', 1)]))
    store.close()
    store.close()
    const calls: [string, () => unknown][] = [
      ['load', () => store.load('alice')],
      ['commit', () => store.commit(batch([household('bob', 1)]))],
      ['positions', () => store.positions()],
      ['count', () => store.count()],
      ['accounts', () => [...store.accounts()]],
      ['delete', () => store.delete('alice')],
    ]
    for (const [name, call] of calls) expect(errorCode(call), name).toBe('CLOSED')
  })
})

describe('SqliteStore', () => {
  it('keeps snapshots, positions and meta across close and reopen', () => {
    const file = tempFile()
    const first = open(file, { durability: 'full' })
    first.commit(batch([household('alice', 3), household('bob', 4)], [[1, 4]]))
    first.setMeta('model', 'v2')
    first.close()
    const again = open(file)
    expect(text(again.load('alice'))).toBe('alice@3')
    expect(again.load('bob')).toMatchObject({ seq: 4, partition: partitionOf('bob', PARTITIONS) })
    expect(again.positions()).toEqual(new Map([[1, 4]]))
    expect(again.getMeta('model')).toBe('v2')
    expect(again.getMeta('absent')).toBeUndefined()
    expect(errorCode(() => again.setMeta('store.partitions', '2'), StoreError)).toBe('BAD_RECORD')
  })

  it('migrates an empty file to the current schema version', () => {
    const file = tempFile()
    writeFileSync(file, '')
    open(file).close()
    const db = new Database(file, { readonly: true })
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all()
    db.close()
    expect(tables).toEqual(['audit', 'households', 'journeys', 'meta', 'positions', 'tombstones'])
  })

  it('keeps the tombstones of a version-5 file and then takes those of later key epochs (a2_…), refusing an account token', () => {
    const file = tempFile()
    const db = new Database(file)
    migrate(db, MIGRATIONS.filter((m) => m.version <= 5))
    const a1 = `a_${'A'.repeat(22)}`
    db.prepare("INSERT INTO tombstones VALUES (?, 'account', '', 7, 1, '')").run(a1)
    // version 5's CHECK refused every epoch but the first: each erasure after a key rotation failed
    expect(() => db.prepare("INSERT INTO tombstones VALUES (?, 'account', '', 7, 1, '')").run(`a2_${'B'.repeat(22)}`)).toThrow(/CHECK/)
    db.close()
    const store = open(file)
    const a2 = `a2_${'B'.repeat(22)}`
    store.tombstones().put({ account: a2, scope: 'device', target: `d2_${'C'.repeat(22)}`, position: 9, erasedAt: 2, pending: [] })
    expect(store.tombstones().all().map((t) => [t.account, t.position])).toEqual([[a1, 7], [a2, 9]])
    expect(errorCode(() => store.tombstones().put({ account: 'acct-42', scope: 'account', target: '', position: 1, erasedAt: 3, pending: [] }), StoreError)).toBe('BAD_RECORD')
    store.close()
  })

  it('runs each migration in a transaction of its own and stops at the one that fails', () => {
    const db = new Database(tempFile())
    const one: Migration = { version: 1, name: 'one', up: (d) => d.exec('CREATE TABLE a (x INTEGER)') }
    const broken: Migration = { version: 2, name: 'two', up: (d) => d.exec('CREATE TABLE b (x INTEGER); SELECT * FROM missing') }
    try {
      expect(errorCode(() => migrate(db, [one, broken]), StoreError)).toBe('MIGRATION_FAILED')
      expect(db.pragma('user_version', { simple: true })).toBe(1)
      expect(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all()).toEqual(['a'])
      const fixed: Migration = { version: 2, name: 'two', up: (d) => d.exec('CREATE TABLE b (x INTEGER)') }
      expect(migrate(db, [one, fixed])).toEqual({ from: 1, to: 2 })
      expect(migrate(db, [one, fixed])).toEqual({ from: 2, to: 2 })
    } finally {
      db.close()
    }
  })

  it('refuses a file written by a newer schema version, and leaves it as it was', () => {
    const file = tempFile()
    open(file).close()
    const db = new Database(file)
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    db.close()
    expect(errorCode(() => open(file), StoreError)).toBe('SCHEMA_TOO_NEW')
    const after = new Database(file, { readonly: true })
    expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1)
    after.close()
  })

  it('refuses a file that is not an idr store', () => {
    const notSqlite = tempFile()
    writeFileSync(notSqlite, 'account,seq\nalice,1\n'.repeat(100))
    expect(errorCode(() => open(notSqlite), StoreError)).toBe('BAD_FILE')
    const foreign = tempFile()
    const db = new Database(foreign)
    db.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)')
    db.close()
    expect(errorCode(() => open(foreign), StoreError)).toBe('BAD_FILE')
    expect(errorCode(() => open(join(tempDir(), 'missing', 'idr.db')), StoreError)).toBe('BAD_FILE')
  })

  it('refuses another partition count than the one the file was bound to', () => {
    const file = tempFile()
    const first = open(file, { partitions: PARTITIONS })
    first.commit(batch([household('alice', 1)], [[PARTITIONS - 1, 1]]))
    expect(errorCode(() => first.commit(batch([], [[PARTITIONS, 1]])), StoreError)).toBe('BAD_RECORD')
    expect(errorCode(() => first.commit(batch([{ ...household('bob', 1), partition: PARTITIONS }])), StoreError)).toBe('BAD_RECORD')
    first.close()
    expect(errorCode(() => open(file, { partitions: PARTITIONS * 2 }), StoreError)).toBe('PARTITIONS_CHANGED')
    const again = open(file) // bound already: commits are checked without naming the count again
    expect(errorCode(() => again.commit(batch([], [[PARTITIONS, 1]])), StoreError)).toBe('BAD_RECORD')
    expect(errorCode(() => again.bindPartitions(1), StoreError)).toBe('PARTITIONS_CHANGED')
    again.bindPartitions(PARTITIONS)
    expect(again.positions()).toEqual(new Map([[PARTITIONS - 1, 1]]))
  })

  it('rejects unknown and out-of-range options by name', () => {
    const file = tempFile()
    expect(() => openStore(file, { durabilty: 'full' } as StoreOptions)).toThrow(/did you mean "durability"/)
    expect(errorCode(() => openStore(file, { durability: 'fast' as 'full' }), OptionError)).toBe('BAD_OPTION')
    expect(errorCode(() => openStore(file, { busyTimeoutMs: -1 }), OptionError)).toBe('BAD_OPTION')
    expect(errorCode(() => openStore(file, { partitions: 0 }), OptionError)).toBe('BAD_OPTION')
  })

  it('keeps its households count right across commits, failed batches, deletes, rollbacks and other connections', () => {
    const file = tempFile()
    const store = open(file)
    store.commit(batch([household('a', 1), household('b', 1)]))
    expect(store.count()).toBe(2)
    store.commit(batch([household('a', 2), household('c', 1)])) // one update, one new
    expect(store.count()).toBe(3)
    expect(() => store.commit(batch([household('d', 1), { ...household('e', 1), seq: -1 }]))).toThrow(StoreError)
    expect(store.count()).toBe(3) // the failed batch added nothing
    store.delete('b')
    expect(store.count()).toBe(2)
    // another connection's commit (data_version moves): counted again
    const other = open(file)
    other.commit(batch([household('x', 1), household('y', 1)]))
    expect(store.count()).toBe(4)
    // a delete inside a transaction that rolls back leaves the count as it was
    expect(() => store.transaction(() => {
      store.delete('x')
      expect(store.count()).toBe(3)
      throw new Error('rolled back')
    })).toThrow('rolled back')
    expect(store.count()).toBe(4)
    other.close()
  })

  it('pages through more accounts than one query returns, while commits run in between', () => {
    const store = open(tempFile())
    const n = ACCOUNTS_PAGE + 5
    const names = Array.from({ length: n }, (_, i) => `acct-${String(i).padStart(5, '0')}`)
    store.commit(batch(names.map((a) => household(a, 1))))
    const seen: string[] = []
    for (const a of store.accounts()) {
      if (seen.length === 1) store.commit(batch([household('zzz-late', 2)]))
      seen.push(a)
    }
    expect(seen).toEqual([...names, 'zzz-late'])
  })

  it('leaves no byte of a deleted household in the database file or its WAL', () => {
    const file = tempFile()
    const store = open(file)
    const marker = 'ERASE-ME-7f3a91'
    const account = 'acct-erased-5c2e'
    const keep = Array.from({ length: 20 }, (_, i) => household(`keep-${i}`, 1, 'k'.repeat(3000)))
    // One snapshot small enough to live in a b-tree page, one large enough to need overflow pages.
    store.commit(batch([...keep, household(account, 1, `${marker}-small`), household(`${account}-big`, 1, `${marker}-`.repeat(2000))]))
    store.commit(batch([household(account, 2, `${marker}-small-v2`)])) // the replaced version is erasable too
    expect(store.checkpoint()).toBe(true)
    const fileBytes = (): Buffer => Buffer.concat([file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f)))
    expect(fileBytes().includes(marker)).toBe(true) // the check below can see the marker when it is there
    expect(store.delete(account)).toBe(true)
    expect(store.delete(`${account}-big`)).toBe(true)
    expect(store.checkpoint()).toBe(true)
    const bytes = fileBytes()
    expect(bytes.includes(marker)).toBe(false)
    expect(bytes.includes(account)).toBe(false)
    expect(text(store.load('keep-3'))).toBe('k'.repeat(3000))
  })

  it('keeps whole batches only when the writing process is killed mid-commit', async () => {
    const dir = tempDir()
    const file = join(dir, 'idr.db')
    const child = spawn(process.execPath, ['--input-type=module', '-e', crashingWriter(compileStore(dir), file)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const killed = await new Promise<NodeJS.Signals | null>((done, fail) => {
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref() // a stuck writer must not outlive the test
      let out = ''
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        // Batch 3 is built and its commit has begun; 15 ms on, it is writing pages to the WAL (measured: they are there).
        if (out.includes('committing 3\n')) setTimeout(() => child.kill('SIGKILL'), 15)
      })
      child.on('exit', (code, signal) => (signal ? done(signal) : fail(new Error(`writer exited with ${code}: ${stderr}`))))
    })
    expect(killed).toBe('SIGKILL')
    const store = open(file)
    const positions = store.positions()
    const seq = positions.get(0)!
    expect([2, 3]).toContain(seq) // batch 2 had returned before "committing 3" was printed
    expect(positions).toEqual(new Map([[0, seq], [1, seq]]))
    expect(store.count()).toBe(CRASH_HOUSEHOLDS)
    const written = new Uint8Array(CRASH_SNAPSHOT_BYTES).fill(seq)
    for (const account of store.accounts()) {
      const h = store.load(account)!
      expect(h.seq).toBe(seq)
      expect(Buffer.compare(h.snapshot, written), account).toBe(0)
    }
  })
})

const CRASH_HOUSEHOLDS = 400
const CRASH_SNAPSHOT_BYTES = 64 * 1024 // 400 × 64 KiB = 25 MiB per batch: a commit long enough (tens of ms) to kill it midway

// Batch k sets every household's seq and every snapshot byte to k, and both positions to k.
function crashingWriter(storeModule: string, file: string): string {
  return `
import { openStore } from ${JSON.stringify(pathToFileURL(storeModule).href)}
const store = openStore(${JSON.stringify(file)})
const batch = (k) => ({
  households: Array.from({ length: ${CRASH_HOUSEHOLDS} }, (_, i) => ({
    account: 'acct-' + i, partition: i % 2, seq: k, snapshot: new Uint8Array(${CRASH_SNAPSHOT_BYTES}).fill(k),
  })),
  positions: new Map([[0, k], [1, k]]),
})
for (let k = 1; k <= 20; k++) {
  const b = batch(k)
  process.stdout.write('committing ' + k + '\\n')
  store.commit(b)
}
`
}

// The child runs plain node (no vitest transform), so it gets src/store/sqlite-store.ts and the modules it
// imports as transpiled JavaScript in dir, with node_modules linked so better-sqlite3 resolves.
function compileStore(dir: string): string {
  const out = join(dir, 'js')
  const pending = [join(projectRoot, 'src/store/sqlite-store.ts')]
  const done = new Set<string>()
  while (pending.length > 0) {
    const source = pending.pop()!
    if (done.has(source)) continue
    done.add(source)
    const code = readFileSync(source, 'utf8')
    for (const [, spec] of code.matchAll(/^import (?!type )[^'"]*['"](\.{1,2}\/[^'"]+)\.js['"]/gm)) {
      pending.push(resolve(dirname(source), `${spec}.ts`))
    }
    const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } })
    const target = join(out, relative(projectRoot, source).replace(/\.ts$/, '.js'))
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, js.outputText)
  }
  symlinkSync(join(projectRoot, 'node_modules'), join(out, 'node_modules'), 'dir')
  return join(out, 'src/store/sqlite-store.js')
}
