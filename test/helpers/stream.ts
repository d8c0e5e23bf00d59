// A JetStream stream of simulated events for the recovery tests: the server maps idr.ev.<account> to
// idr.evp.<partition>.<account> (as docs/examples/nats-server.conf does), the test publishes per-account
// batches, and remembers what it published per account and the last sequence per partition.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { decode, encode } from '@msgpack/msgpack'
import { connect, StorageType, type NatsConnection } from 'nats'
import type { IdrEvent } from '../../src/model/events.js'
import type { HouseholdState } from '../../src/model/household.js'
import { partitionOf } from '../../src/contracts/partition.js'
import { startNatsServer, type NatsServerHandle } from './nats-server.js'

export const STREAM = 'IDR_EVP'

/** A nats-server with JetStream, the partition mapping and the event stream created. */
export async function streamServer(partitions: number): Promise<NatsServerHandle> {
  const server = await startNatsServer({
    jetstream: true,
    config: `mappings = { "idr.ev.*": "idr.evp.{{partition(${partitions},1)}}.{{wildcard(1)}}" }\n`,
  })
  const nc = await connect({ servers: server.url })
  const jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: STREAM, subjects: ['idr.evp.>'], storage: StorageType.File })
  await nc.close()
  return server
}

/** What a publisher put on the stream. */
export class Published {
  readonly perAccount = new Map<string, number>()
  /** Messages published per account. */
  readonly messagesPerAccount = new Map<string, number>()
  readonly lastSeq = new Map<number, number>()
  events = 0
  messages = 0

  messagesOf(account: string): number {
    return this.messagesPerAccount.get(account) ?? 0
  }
}

/**
 * Publishes events as per-account batches of up to `batch`, ids rewritten to `<publisher>-<counter>` (unique,
 * with the publisher's counter). At most `window` publishes await their acknowledgement at once; `pause`
 * (ms between windows) slows the publisher down so that the engine works under a steady load.
 */
export async function publish(url: string, events: readonly IdrEvent[], o: { publisher: string, partitions: number, batch: number, window?: number, pauseMs?: number, into: Published }): Promise<void> {
  const nc: NatsConnection = await connect({ servers: url })
  const js = nc.jetstream()
  const open = new Map<string, IdrEvent[]>()
  const chunks: IdrEvent[][] = []
  let counter = 0
  for (const e of events) {
    const chunk = open.get(e.account) ?? []
    chunk.push({ ...e, id: `${o.publisher}-${++counter}` })
    if (chunk.length === o.batch) {
      chunks.push(chunk)
      open.delete(e.account)
    } else {
      open.set(e.account, chunk)
    }
  }
  chunks.push(...open.values())
  const window = o.window ?? 256
  for (let i = 0; i < chunks.length; i += window) {
    const acks = chunks.slice(i, i + window).map(async (chunk) => {
      const account = chunk[0]!.account
      const ack = await js.publish(`idr.ev.${account}`, encode(chunk))
      const p = partitionOf(account, o.partitions)
      o.into.lastSeq.set(p, Math.max(o.into.lastSeq.get(p) ?? 0, ack.seq))
      o.into.perAccount.set(account, (o.into.perAccount.get(account) ?? 0) + chunk.length)
      o.into.events += chunk.length
      o.into.messages++
      o.into.messagesPerAccount.set(account, (o.into.messagesPerAccount.get(account) ?? 0) + 1)
    })
    await Promise.all(acks)
    if (o.pauseMs) await new Promise((r) => setTimeout(r, o.pauseMs))
  }
  await nc.drain()
}

/** A temp dir for databases, removed by the returned function. */
export function tempDir(): { dir: string, db: (name: string) => string, remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'idr-recovery-'))
  return { dir, db: (name) => join(dir, `${name}.db`), remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface StoredRow {
  account: string
  seq: number
  snapshot: Buffer
}

/** Every household row of a store file, in account order (read-only). */
export function storedRows(file: string): StoredRow[] {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare('SELECT account, seq, snapshot FROM households ORDER BY account').all() as StoredRow[]
  } finally {
    db.close()
  }
}

/** A store file's journeys as sorted text rows (their order of writing depends on checkpoint timing). */
export function storedJourneys(file: string): string[] {
  const db = new Database(file, { readonly: true })
  try {
    return (db.prepare(`SELECT account || '|' || level || '|' || person || '|' || end_ts || '|' || conversions || '|' || value || '|' || nulls || '|' ||
      hex(touches) || '|' || hex(who) FROM journeys`).pluck().all() as string[]).sort()
  } finally {
    db.close()
  }
}

/** Stored positions of a store file (partition → sequence). */
export function storedPositions(file: string): Map<number, number> {
  const db = new Database(file, { readonly: true })
  try {
    const rows = db.prepare('SELECT partition, seq FROM positions').all() as { partition: number, seq: number }[]
    return new Map(rows.map((r) => [r.partition, r.seq]))
  } finally {
    db.close()
  }
}

/** The sessionizer counters inside a household snapshot. */
export function snapshotStats(snapshot: Uint8Array): HouseholdState['sessionizer']['stats'] {
  return (decode(snapshot) as HouseholdState).sessionizer.stats
}

/** True when every partition's stored position reaches the last published sequence. */
export function caughtUp(file: string, published: Published): boolean {
  let pos: Map<number, number>
  try {
    pos = storedPositions(file)
  } catch {
    return false
  }
  for (const [p, seq] of published.lastSeq) if ((pos.get(p) ?? 0) < seq) return false
  return true
}
