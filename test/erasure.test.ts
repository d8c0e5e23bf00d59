// Erasure through the live runtime and on a stopped engine's database, on a real SQLite file: what is
// erased leaves memory, the snapshot, the file's bytes and its WAL; a tombstone keeps replayed input from
// bringing it back; each erasure is in the audit trail.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { IdrEvent } from '../src/model/events.js'
import { Household } from '../src/model/household.js'
import { Eraser, checkRequest } from '../src/privacy/erase.js'
import { erasurePseudonyms, KeyRing } from '../src/privacy/keyring.js'
import { accountRuntime, type AccountRuntime } from '../src/engine/account-handler.js'
import { POSITION_STRIDE } from '../src/ports/store.js'
import { openStore, type SqliteStore } from '../src/store/sqlite-store.js'
import { errorCode } from './helpers/errors.js'
import { simEvents, TEST_KEY } from './helpers/engine.js'

const keys = new KeyRing([{ epoch: 1, key: TEST_KEY }])
const pseudonyms = erasurePseudonyms(keys)
const CANARY = 'CANARY-ACCT-5e1f'

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'idr-erase-'))
  file = join(dir, 'idr.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** Simulated events, the first household renamed to the canary account; devices pseudonymised as the ingress does. */
function input(): IdrEvent[] {
  const events = simEvents(3, 30, 5)
  const first = events[0]!.account
  return events.map((e) => ({ ...e, account: e.account === first ? CANARY : e.account, device: keys.current.device(e.device) }))
}

/** A runtime on the store, fed the events as stream messages 1, 2, …; resolves once all are applied. */
async function fed(store: SqliteStore, events: readonly IdrEvent[], eraser?: Eraser): Promise<AccountRuntime> {
  const runtime = accountRuntime({ store, sink: { output() {} }, erasedInput: eraser?.erasedInput })
  events.forEach((event, i) => runtime.enqueue(0, { event, pos: (i + 1) * POSITION_STRIDE, arrivalMs: event.ts, receivedAt: 0 }))
  events.forEach((_, i) => runtime.markDelivered(0, i + 1))
  await runtime.whenIdle()
  runtime.checkpoint()
  return runtime
}

const fileBytes = (): Buffer => Buffer.concat([file, `${file}-wal`].map((f) => { try { return readFileSync(f) } catch { return Buffer.alloc(0) } }))

describe('erasure', () => {
  it('erases an account from memory, the snapshot, the file and its WAL, and audits it', async () => {
    const store = openStore(file)
    const events = input()
    const runtime = await fed(store, events)
    const eraser = new Eraser({ store, pseudonyms, runtime })
    expect(fileBytes().includes(CANARY)).toBe(true)
    const r = await eraser.erase({ account: CANARY })
    expect(r).toMatchObject({ scope: 'account', found: true, account: keys.current.account(CANARY), walTruncated: true })
    expect(store.load(CANARY)).toBeUndefined()
    expect(runtime.peek(CANARY)).toBeUndefined()
    expect(fileBytes().includes(CANARY)).toBe(false)
    const audit = store.auditLog()
    expect(audit.verify().ok).toBe(true)
    expect(audit.records().at(-1)).toMatchObject({ op: 'erasure', subject: { account: r.account }, counts: { snapshots: 1 } })
    expect(JSON.stringify(audit.records())).not.toContain(CANARY)
    store.close()
  })

  it('keeps an erased account from coming back when its input is replayed, after a restart too', async () => {
    const events = input()
    const mine = events.filter((e) => e.account === CANARY).length
    let store = openStore(file)
    let eraser = new Eraser({ store, pseudonyms })
    let runtime = await fed(store, events, eraser)
    eraser = new Eraser({ store, pseudonyms, runtime })
    await eraser.erase({ account: CANARY })
    // the same stream replayed (a crash before the stream was cleaned): every event of the account is skipped
    const replay = accountRuntime({ store, sink: { output() {} }, erasedInput: eraser.erasedInput })
    events.forEach((event, i) => replay.enqueue(0, { event, pos: (i + 1) * POSITION_STRIDE, arrivalMs: event.ts, receivedAt: 0 }))
    await replay.whenIdle()
    expect(replay.counters.erasedSkipped).toBe(mine)
    store.close()
    // a new process reads the tombstones from the file
    store = openStore(file)
    eraser = new Eraser({ store, pseudonyms })
    runtime = await fed(store, events, eraser)
    runtime.checkpoint()
    expect(runtime.counters.erasedSkipped).toBe(mine)
    expect(store.load(CANARY)).toBeUndefined()
    // input after the erasure is new: it makes a new household
    const later = events.filter((e) => e.account === CANARY).slice(0, 5)
    later.forEach((event, i) => runtime.enqueue(0, { event: { ...event, id: `new-${i}` }, pos: (events.length + 10 + i) * POSITION_STRIDE, arrivalMs: event.ts, receivedAt: 0 }))
    await runtime.whenIdle()
    expect(runtime.peek(CANARY)?.household.sessionizer.stats.applied).toBe(5)
    store.close()
  })

  it('erases a person through the live runtime: snapshot rewritten without them, id never reused', async () => {
    const store = openStore(file)
    const runtime = await fed(store, input())
    const eraser = new Eraser({ store, pseudonyms, runtime })
    const h = runtime.peek(CANARY)!.household
    const victim = h.persons.ids[0]!
    const theirs = h.historyRows().filter((row) => row.person === victim).length
    const r = await eraser.erase({ account: CANARY, person: victim })
    expect(r).toMatchObject({ scope: 'person', target: victim, persons: 1, sessions: theirs, found: true })
    const stored = Household.fromSnapshot(CANARY, store.load(CANARY)!.snapshot)
    expect(stored.persons.ids).not.toContain(victim)
    expect(runtime.peek(CANARY)!.household.persons.ids).not.toContain(victim)
    expect(store.auditLog().records().at(-1)).toMatchObject({ subject: { person: victim }, counts: { persons: 1, sessions: theirs } })
    store.close()
  })

  it('erases a device by its raw id on a stopped engine\'s database; replayed events of it are skipped', async () => {
    const events = input()
    let store = openStore(file)
    await fed(store, events)
    store.close()
    const raw = simEvents(3, 30, 5).find((e) => e.account === events[0]!.account || true)!.device
    const pseudonym = keys.current.device(raw)
    const account = events.find((e) => e.device === pseudonym)!.account
    store = openStore(file)
    const eraser = new Eraser({ store, pseudonyms })
    expect(fileBytes().includes(pseudonym)).toBe(true)
    const r = await eraser.erase({ account, device: raw })
    expect(r).toMatchObject({ scope: 'device', target: pseudonym, devices: 1 })
    expect(r.sessions).toBeGreaterThan(0)
    // the pseudonym stays only where it names what was erased: the tombstone and the audit record
    const snapshots = [...store.accounts()].map((a) => Buffer.from(store.load(a)!.snapshot))
    expect(snapshots.some((b) => b.includes(pseudonym))).toBe(false)
    expect(store.tombstones().all()).toMatchObject([{ scope: 'device', target: pseudonym }])
    expect(fileBytes().includes(raw)).toBe(false)
    const runtime = await fed(store, events, eraser)
    // everything was stored before: the replay applies nothing (covered by snapshots, or by the tombstone)
    expect(runtime.counters.erasedSkipped + runtime.counters.duplicatesIgnored).toBe(events.length)
    expect(runtime.peek(account)!.household.deviceIds).not.toContain(pseudonym)
    store.close()
  })

  it('refuses malformed requests with a typed error', () => {
    expect(errorCode(() => checkRequest({}))).toBe('BAD_REQUEST')
    expect(errorCode(() => checkRequest({ account: 'a', person: 'p1', device: 'd' }))).toBe('BAD_REQUEST')
    expect(errorCode(() => checkRequest({ account: 'a', everything: true }))).toBe('BAD_REQUEST')
    expect(errorCode(() => checkRequest({ account: 7 }))).toBe('BAD_REQUEST')
    expect(checkRequest({ account: 'a', device: 'd' })).toEqual({ account: 'a', device: 'd' })
  })
})
