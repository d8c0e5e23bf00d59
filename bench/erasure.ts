// Question (issue 7): how long does erasing one account, one person or one device take, from request to
// completion, in a store of 100,000 households? Target: seconds (the promise was 24 hours, the legal limit a
// month). A real SQLite file (openStore: WAL, secure_delete) holds 100,000 rows that reuse the snapshots of a
// few simulated households under distinct account names. Cases: a stopped engine's database (Eraser without a
// runtime), then a live ActorRuntime with resident households (a resident and a non-resident account). Each
// case runs on different accounts after one warm-up erasure; the WAL TRUNCATE checkpoint every erasure ends
// with is timed apart. Last, the input stream: a real nats-server (JetStream, file storage) holding every
// account's messages, and one account's subject erased with src/privacy/stream-erase.ts (scan, then secure
// delete of each message), timed apart; skipped, and said so, when no nats-server can be started.
// Run: npm run build:ts && node build/bench/erasure.js [--quick]
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { encode } from '@msgpack/msgpack'
import { connect, RetentionPolicy, StorageType } from 'nats'
import type { IdrEvent } from '../src/model/events.js'
import { Household } from '../src/model/household.js'
import { Eraser, type ErasureRequest } from '../src/privacy/erase.js'
import { erasurePseudonyms, KeyRing } from '../src/privacy/keyring.js'
import { deleteMessages, scanSubject } from '../src/privacy/stream-erase.js'
import { partitionOf } from '../src/contracts/partition.js'
import { accountRuntime } from '../src/engine/account-handler.js'
import { POSITION_STRIDE } from '../src/ports/store.js'
import { simulate } from '../src/sim/simulator.js'
import { openStore, type SqliteStore } from '../src/store/sqlite-store.js'
import { startNatsServer } from '../test/helpers/nats-server.js'
import { mdTable, writeResult, type BenchContext } from './lib.js'

export const BENCH_HOUSEHOLDS = 100_000
/** Simulated households whose snapshots the stored rows reuse. */
const TEMPLATES = 8
const TEMPLATE_DAYS = 90
/** Rows per store.commit while the file is built. */
const COMMIT_BATCH = 5_000
/** Erasures timed per case, each on a different account. */
const REPS = 20
/** Households made resident in the live runtime. */
const RESIDENT = 10_000
/** The input stream: messages of every account, and more of the accounts whose subject is erased. */
const STREAM = 'IDR_EV'
const STREAM_PARTITIONS = 8
const MESSAGES_PER_ACCOUNT = 3
const EVENTS_PER_MESSAGE = 5
/** Messages of each erased account, spread evenly over the whole stream (so over many of its blocks). */
const ERASED_ACCOUNT_MESSAGES = 100
/** Publishes awaiting their acknowledgement at once. */
const PUBLISH_WINDOW = 1_000
const BENCH_KEY = 'bench-erasure-pseudonym-key-0123456789'

const keys = new KeyRing([{ epoch: 1, key: BENCH_KEY }])
const pseudonyms = erasurePseudonyms(keys)

interface Template {
  readonly snapshot: Uint8Array
  readonly person: string
  /** A raw device id whose pseudonym the household holds. */
  readonly device: string
  /** The household's last event: made into new input to make an account resident. */
  readonly last: IdrEvent
}

/** Simulated households, devices pseudonymised as the ingress does, each replayed into a Household and snapshotted. */
function templates(days: number): Template[] {
  const raw = new Map<string, { h: Household, devices: Set<string>, last: IdrEvent }>()
  for (const e of simulate({ households: TEMPLATES, days, seed: 7, duplicateRate: 0, lateRate: 0 }).events()) {
    const event = { ...e, device: keys.current.device(e.device) }
    let t = raw.get(e.account)
    if (!t) raw.set(e.account, (t = { h: new Household(e.account), devices: new Set(), last: event }))
    t.h.push(event, e.ts)
    t.devices.add(e.device)
    t.last = event
  }
  return [...raw.values()].map(({ h, devices, last }) => {
    const device = [...devices].find((d) => h.deviceIds.includes(keys.current.device(d)))
    const person = h.persons.ids[0]
    if (device === undefined || person === undefined) throw new Error(`template ${h.account}: no device or person to erase`)
    return { snapshot: h.toSnapshot(), person, device, last }
  })
}

const accountName = (i: number): string => `acct-${String(i).padStart(6, '0')}`
const templateOf = (ts: readonly Template[], i: number): Template => ts[i % ts.length]!

/** Writes n rows (account i gets template i mod TEMPLATES), all at input position 1 of partition 0. */
function fill(store: SqliteStore, ts: readonly Template[], n: number): void {
  for (let from = 0; from < n; from += COMMIT_BATCH) {
    const households = []
    for (let i = from; i < Math.min(n, from + COMMIT_BATCH); i++) {
      households.push({ account: accountName(i), partition: 0, seq: POSITION_STRIDE, snapshot: templateOf(ts, i).snapshot })
    }
    store.commit({ households, positions: new Map([[0, 1]]) })
  }
  store.checkpoint()
}

const fileBytes = (file: string): number => [file, `${file}-wal`].reduce((n, f) => { try { return n + statSync(f).size } catch { return n } }, 0)

interface Timing { readonly totalMs: number, readonly checkpointMs: number }

/** Times eraser.erase and, apart, the WAL checkpoint it ends with (the store's method, wrapped on this instance). */
function timer(store: SqliteStore): (eraser: Eraser, req: ErasureRequest) => Promise<Timing> {
  const checkpoint = store.checkpoint.bind(store)
  let checkpointMs = 0
  store.checkpoint = () => {
    const t0 = performance.now()
    try { return checkpoint() } finally { checkpointMs += performance.now() - t0 }
  }
  return async (eraser, req) => {
    checkpointMs = 0
    const t0 = performance.now()
    const r = await eraser.erase(req)
    const totalMs = performance.now() - t0
    if (!r.found) throw new Error(`erasure of ${JSON.stringify(req)} found nothing`)
    return { totalMs, checkpointMs }
  }
}

interface Summary { readonly medianMs: number, readonly p90Ms: number, readonly maxMs: number, readonly checkpointMedianMs: number, readonly samplesMs: number[] }

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}

function summarise(ts: readonly Timing[]): Summary {
  const total = ts.map((t) => t.totalMs).sort((a, b) => a - b)
  const ckpt = ts.map((t) => t.checkpointMs).sort((a, b) => a - b)
  const median = (s: readonly number[]) => (s.length % 2 ? s[s.length >> 1]! : (s[(s.length >> 1) - 1]! + s[s.length >> 1]!) / 2)
  const r = (x: number) => Math.round(x * 1000) / 1000
  return { medianMs: r(median(total)), p90Ms: r(quantile(total, 0.9)), maxMs: r(total.at(-1)!), checkpointMedianMs: r(median(ckpt)), samplesMs: ts.map((t) => r(t.totalMs)) }
}

type Kind = 'account' | 'person' | 'device'

function request(ts: readonly Template[], i: number, kind: Kind): ErasureRequest {
  const account = accountName(i)
  const t = templateOf(ts, i)
  return kind === 'account' ? { account } : kind === 'person' ? { account, person: t.person } : { account, device: t.device }
}

/** One warm-up erasure, then `reps` timed ones, each on the next account that `pick` yields. */
async function run(time: ReturnType<typeof timer>, eraser: Eraser, ts: readonly Template[], kind: Kind, pick: () => number, reps: number): Promise<Summary> {
  await time(eraser, request(ts, pick(), kind))
  const out: Timing[] = []
  for (let k = 0; k < reps; k++) out.push(await time(eraser, request(ts, pick(), kind)))
  return summarise(out)
}

interface StreamResult {
  readonly messages: number
  readonly storeBytes: number
  readonly publishMs: number
  readonly messagesPerErasure: number
  readonly total: Summary
  readonly scan: Summary
  readonly delete: Summary
}

const dirBytes = (dir: string): number => {
  const st = statSync(dir)
  if (!st.isDirectory()) return st.size
  return readdirSync(dir).reduce((n, f) => n + dirBytes(join(dir, f)), 0)
}

/**
 * A stream of `n` accounts' messages (MESSAGES_PER_ACCOUNT each, EVENTS_PER_MESSAGE events per message) on the
 * engine's mapped subjects, plus `reps + 1` accounts with ERASED_ACCOUNT_MESSAGES more, spread over the stream;
 * each of those subjects erased in turn (the first as warm-up): scanSubject, then deleteMessages.
 */
async function benchStream(ctx: BenchContext, ts: readonly Template[], n: number, reps: number): Promise<StreamResult> {
  const server = await startNatsServer({ jetstream: true })
  const nc = await connect({ servers: server.url })
  try {
    const jsm = await nc.jetstreamManager()
    await jsm.streams.add({ name: STREAM, subjects: ['idr.evp.>'], storage: StorageType.File, retention: RetentionPolicy.Limits })
    const js = nc.jetstream()
    const subjectOf = (account: string): string => `idr.evp.${partitionOf(account, STREAM_PARTITIONS)}.${account}`
    const payloads = ts.map((t) => Array.from({ length: EVENTS_PER_MESSAGE }, (_, k) => ({ ...t.last, ts: t.last.ts + k * 30_000 })))
    const body = (i: number, m: number): Uint8Array => encode(payloads[i % payloads.length]!.map((e, k) => ({ ...e, id: `${e.id}-${m}-${k}`, account: accountName(i) })))
    const erased = Array.from({ length: reps + 1 }, (_, k) => Math.floor((k * n) / (reps + 1)) + 1)
    const fillers = n * MESSAGES_PER_ACCOUNT
    const every = Math.floor(fillers / ERASED_ACCOUNT_MESSAGES)
    let inFlight: Promise<unknown>[] = []
    const publish = async (i: number, m: number): Promise<void> => {
      inFlight.push(js.publish(subjectOf(accountName(i)), body(i, m)))
      if (inFlight.length >= PUBLISH_WINDOW) {
        await Promise.all(inFlight)
        inFlight = []
      }
    }
    const t0 = performance.now()
    for (let f = 0; f < fillers; f++) {
      await publish(f % n, Math.floor(f / n))
      if (f % every === every - 1) for (const i of erased) await publish(i, MESSAGES_PER_ACCOUNT + Math.floor(f / every))
    }
    await Promise.all(inFlight)
    const publishMs = performance.now() - t0
    const info = await jsm.streams.info(STREAM)
    const storeBytes = dirBytes(join(server.dir, 'js'))
    ctx.log(`  stream: ${info.state.messages.toLocaleString('en')} messages published in ${(publishMs / 1000).toFixed(1)} s; store ${(storeBytes / 2 ** 20).toFixed(1)} MiB`)
    const timings: { total: Timing, scan: Timing, del: Timing }[] = []
    let messagesPerErasure = 0
    for (const i of erased) {
      const subject = subjectOf(accountName(i))
      const t1 = performance.now()
      const seqs: number[] = []
      for await (const m of scanSubject(jsm, STREAM, subject)) seqs.push(m.seq)
      const t2 = performance.now()
      const deleted = await deleteMessages(jsm, STREAM, seqs)
      const t3 = performance.now()
      if (deleted !== seqs.length || deleted === 0) throw new Error(`${subject}: ${seqs.length} messages scanned, ${deleted} deleted`)
      messagesPerErasure = deleted
      const t = (ms: number): Timing => ({ totalMs: ms, checkpointMs: 0 })
      timings.push({ total: t(t3 - t1), scan: t(t2 - t1), del: t(t3 - t2) })
    }
    timings.shift() // warm-up
    return {
      messages: info.state.messages,
      storeBytes,
      publishMs: Math.round(publishMs),
      messagesPerErasure,
      total: summarise(timings.map((x) => x.total)),
      scan: summarise(timings.map((x) => x.scan)),
      delete: summarise(timings.map((x) => x.del)),
    }
  } finally {
    await nc.close()
    await server.stop()
  }
}

export async function benchErasure(ctx: BenchContext): Promise<string> {
  const n = ctx.quick ? 10_000 : BENCH_HOUSEHOLDS
  const reps = ctx.quick ? 5 : REPS
  const resident = ctx.quick ? 1_000 : RESIDENT
  const loadBefore = loadavg()
  const dir = mkdtempSync(join(tmpdir(), 'idr-bench-erasure-'))
  const file = join(dir, 'idr.db')
  try {
    let t0 = performance.now()
    const ts = templates(ctx.quick ? 30 : TEMPLATE_DAYS)
    const simulateMs = performance.now() - t0
    const snapshotBytes = ts.reduce((s, t) => s + t.snapshot.length, 0) / ts.length
    ctx.log(`  ${ts.length} simulated households over ${ctx.quick ? 30 : TEMPLATE_DAYS} days in ${(simulateMs / 1000).toFixed(1)} s; mean snapshot ${(snapshotBytes / 1024).toFixed(1)} KiB`)

    let store = openStore(file, { partitions: 1 })
    t0 = performance.now()
    fill(store, ts, n)
    const fillMs = performance.now() - t0
    const storeBytes = fileBytes(file)
    ctx.log(`  ${n.toLocaleString('en')} rows written in ${(fillMs / 1000).toFixed(1)} s; file ${(storeBytes / 2 ** 20).toFixed(1)} MiB`)

    // Accounts are used once each: the stopped-engine cases take indices from the front (stride 97, so
    // the rows sit all over the B-tree), the live cases from disjoint ranges.
    let next = 0
    const spread = () => (next++ * 97) % (n / 2)
    let time = timer(store)
    const stopped = new Eraser({ store, pseudonyms })
    const offline: Record<Kind, Summary> = {
      account: await run(time, stopped, ts, 'account', spread, reps),
      person: await run(time, stopped, ts, 'person', spread, reps),
      device: await run(time, stopped, ts, 'device', spread, reps),
    }
    store.close()

    // The live engine: a new process on the same file, `resident` accounts made resident by one new event each
    // (rehydrated from the snapshot, then applied), checkpointed, then erasures of resident and other accounts.
    store = openStore(file, { partitions: 1 })
    time = timer(store)
    const tombstones = new Eraser({ store, pseudonyms })
    const runtime = accountRuntime({ store, sink: { output() {} }, erasedInput: tombstones.erasedInput })
    const firstResident = n / 2
    t0 = performance.now()
    for (let i = firstResident; i < firstResident + resident; i++) {
      const last = templateOf(ts, i).last
      runtime.enqueue(0, { event: { ...last, id: `${last.id}-live`, account: accountName(i), ts: last.ts + 60_000 }, pos: 2 * POSITION_STRIDE + (i - firstResident), arrivalMs: last.ts + 60_000, receivedAt: 0 })
    }
    runtime.markDelivered(0, 2)
    await runtime.whenIdle()
    runtime.checkpoint()
    store.checkpoint()
    const residentMs = performance.now() - t0
    const rss = process.memoryUsage().rss
    ctx.log(`  ${runtime.residentActors.toLocaleString('en')} resident households loaded in ${(residentMs / 1000).toFixed(1)} s; RSS ${(rss / 2 ** 20).toFixed(0)} MiB`)
    const live = new Eraser({ store, pseudonyms, runtime })
    let r = firstResident
    let o = firstResident + resident
    const residentPick = () => r++
    const otherPick = () => o++
    const online: Record<'resident' | 'other', Record<Kind, Summary>> = {
      resident: {
        account: await run(time, live, ts, 'account', residentPick, reps),
        person: await run(time, live, ts, 'person', residentPick, reps),
        device: await run(time, live, ts, 'device', residentPick, reps),
      },
      other: {
        account: await run(time, live, ts, 'account', otherPick, reps),
        person: await run(time, live, ts, 'person', otherPick, reps),
        device: await run(time, live, ts, 'device', otherPick, reps),
      },
    }
    const residentAfter = runtime.residentActors
    const storeBytesAfter = fileBytes(file)
    store.close()
    let stream: StreamResult | string
    try {
      stream = await benchStream(ctx, ts, n, reps)
    } catch (e) {
      stream = `not measured: ${(e as Error).message}`
      ctx.log(`  stream: ${stream}`)
    }
    const loadAfter = loadavg()

    const rows: { setting: string, kind: Kind, s: Summary }[] = [
      ...(['account', 'person', 'device'] as const).map((kind) => ({ setting: 'stopped engine', kind, s: offline[kind] })),
      ...(['account', 'person', 'device'] as const).map((kind) => ({ setting: 'live, resident', kind, s: online.resident[kind] })),
      ...(['account', 'person', 'device'] as const).map((kind) => ({ setting: 'live, not resident', kind, s: online.other[kind] })),
    ]
    const f = (ms: number) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`
    const streamRows = typeof stream === 'string' ? [] : [
      ['input stream', `account subject (${stream.messagesPerErasure} msgs)`, stream.total],
      ['input stream', '… of which scan', stream.scan],
      ['input stream', '… of which secure delete', stream.delete],
    ] as const
    const table = mdTable(
      ['setting', 'erasure', 'median', 'p90', 'max', 'of which WAL checkpoint (median)'],
      [
        ...rows.map(({ setting, kind, s }) => [setting, kind, f(s.medianMs), f(s.p90Ms), f(s.maxMs), f(s.checkpointMedianMs)]),
        ...streamRows.map(([setting, what, s]) => [setting, what, f(s.medianMs), f(s.p90Ms), f(s.maxMs), '—']),
      ],
    )
    const path = writeResult('erasure', {
      households: n,
      templates: ts.length,
      templateDays: ctx.quick ? 30 : TEMPLATE_DAYS,
      meanSnapshotBytes: Math.round(snapshotBytes),
      storeBytes,
      storeBytesAfter,
      fillMs: Math.round(fillMs),
      commitBatch: COMMIT_BATCH,
      repsPerCase: reps,
      resident,
      residentAfter,
      residentLoadMs: Math.round(residentMs),
      rssBytes: rss,
      loadavgBefore: loadBefore,
      loadavgAfter: loadAfter,
      quick: ctx.quick,
      stopped: offline,
      live: online,
      stream: typeof stream === 'string' ? stream : { partitions: STREAM_PARTITIONS, messagesPerAccount: MESSAGES_PER_ACCOUNT, eventsPerMessage: EVENTS_PER_MESSAGE, erasedAccountMessages: ERASED_ACCOUNT_MESSAGES, ...stream },
    })
    ctx.log(`  load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(' ')} after; wrote ${path}`)
    return table
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ctx: BenchContext = { quick: process.argv.includes('--quick'), log: (line) => console.log(line) }
  console.log(`## erasure: one account, person or device among ${(ctx.quick ? 10_000 : BENCH_HOUSEHOLDS).toLocaleString('en')} households${ctx.quick ? ' (quick)' : ''}`)
  console.log(`\n${await benchErasure(ctx)}\n`)
}
