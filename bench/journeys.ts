// Question (issue 6): what do journeys kept in the engine cost? (1) The household model's replay with journeys
// kept against the same replay with touch and convert events rejected (journeys: false), alternated, median of
// the runs. (2) Writing journeys to a real SQLite file with their households' snapshots (commit batches as
// the runtime makes them), and the bytes per journey. (3) idr.api.attribution.report over that file: reading
// and aggregating the journeys alone, then with every model (time decay by real time), for all of them and
// for a 10 % time range. The stored journeys are a simulation's, repeated under distinct accounts and spread
// over 90 days.
// Run: npm run build:ts && node build/bench/journeys.js [--quick]
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import type { JourneyRecord } from '../src/attribution/ledger.js'
import { attributionReport, checkReportRequest, type JourneySource } from '../src/attribution/report.js'
import type { IdrEvent } from '../src/model/events.js'
import { Account } from '../src/account/account.js'
import { simulate } from '../src/sim/simulator.js'
import { openStore } from '../src/store/sqlite-store.js'
import { mdTable, writeResult, type BenchContext } from './lib.js'

const DAY_MS = 86_400_000
const SPREAD_DAYS = 90
/** Journeys per household row in a commit (a household completes a few between checkpoints). */
const PER_HOUSEHOLD = 4
const COMMIT_HOUSEHOLDS = 2_500

function replay(events: readonly IdrEvent[], journeys: boolean): { ms: number, records: JourneyRecord[] } {
  const hs = new Map<string, Account>()
  const records: JourneyRecord[] = []
  const t0 = performance.now()
  for (const e of events) {
    let h = hs.get(e.account)
    if (!h) hs.set(e.account, (h = new Account(e.account, journeys ? {} : { journeys: false })))
    h.push(e)
    if (journeys) for (const r of h.journeys!.take()) records.push(r)
  }
  return { ms: performance.now() - t0, records }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d

export async function benchJourneys(ctx: BenchContext): Promise<string> {
  const households = ctx.quick ? 60 : 200
  const events = [...simulate({ households, days: 60, seed: 1, duplicateRate: 0, lateRate: 0 }).events()]
  const marketing = events.filter((e) => e.kind === 'touch' || e.kind === 'convert').length
  // (1) replay with and without journeys, alternated
  const on: number[] = []
  const off: number[] = []
  let records: JourneyRecord[] = []
  for (let i = 0; i < (ctx.quick ? 2 : 5); i++) {
    const a = replay(events, true)
    records = a.records
    on.push(a.ms)
    off.push(replay(events, false).ms)
  }
  const replayRow = { events: events.length, marketingEvents: marketing, journeys: records.length, onMs: round(median(on)), offMs: round(median(off)), ratio: round(median(on) / median(off), 3) }

  // (2) a store of N journeys, written with household rows
  const n = ctx.quick ? 100_000 : 1_000_000
  const dir = mkdtempSync(join(tmpdir(), 'idr-bench-journeys-'))
  try {
    const file = join(dir, 'idr.db')
    const store = openStore(file)
    const snapshot = new Account('template').toSnapshot()
    const start = Date.UTC(2026, 0, 1)
    const t0 = performance.now()
    let written = 0
    let batch = 0
    while (written < n) {
      const households = []
      for (let h = 0; h < COMMIT_HOUSEHOLDS && written < n; h++) {
        const js: JourneyRecord[] = []
        for (let k = 0; k < PER_HOUSEHOLD && written < n; k++, written++) {
          const r = records[written % records.length]!
          const shift = start + Math.floor((written / n) * SPREAD_DAYS * DAY_MS) - r.endTs
          js.push({ ...r, endTs: r.endTs + shift, touches: r.touches.map((t) => ({ ...t, ts: t.ts + shift })) })
        }
        households.push({ account: `acct-${batch}-${h}`, partition: 0, seq: 0, snapshot, journeys: js })
      }
      store.commit({ households, positions: new Map() })
      batch++
    }
    const writeMs = performance.now() - t0
    store.checkpoint()
    const bytes = statSync(file).size
    // (3) the report
    const source: JourneySource = (q, each) => { store.journeyPaths(q, each) }
    const time = (f: () => unknown): number => { const s = performance.now(); f(); return performance.now() - s }
    const rss0 = process.memoryUsage().rss
    const readMs = median([0, 1, 2].map(() => time(() => { store.journeyPaths({ level: 'person' }, () => {}) })))
    const fromMs = start + 0.9 * SPREAD_DAYS * DAY_MS
    const cases = [
      { name: 'person level, every model', req: { level: 'person' } },
      { name: 'account level, every model', req: { level: 'account' } },
      { name: 'person level, Markov order 3', req: { level: 'person', model: 'markov', order: 3 } },
      { name: 'person level, last 10 % of time, every model', req: { level: 'person', from: fromMs } },
    ]
    const reports = cases.map((c) => {
      let journeys = 0
      const ms = median([0, 1, 2].map(() => time(() => { journeys = attributionReport(source, checkReportRequest(c.req)).journeys })))
      return { name: c.name, journeys, ms: round(ms), journeysPerSec: Math.round(journeys / (ms / 1000)) }
    })
    const rssMb = round((process.memoryUsage().rss - rss0) / 1e6)
    const stored = { journeys: n, writeMs: round(writeMs), journeysPerSecWritten: Math.round(n / (writeMs / 1000)), bytesPerJourney: round(bytes / n), readPersonLevelMs: round(readMs) }
    store.close()
    const path = writeResult('journeys', { households, replay: replayRow, stored, reports, reportRssGrowthMb: rssMb, loadavg: loadavg().map((x) => round(x, 2)) })
    ctx.log(`results: ${path}`)
    return [
      mdTable(['replay (household model)', 'events', 'marketing events', 'journeys', 'median ms, journeys kept', 'median ms, journeys off', 'ratio'],
        [['simulation', replayRow.events, replayRow.marketingEvents, replayRow.journeys, replayRow.onMs, replayRow.offMs, replayRow.ratio]]),
      mdTable(['store', 'journeys', 'write ms', 'journeys/s written', 'bytes/journey', 'read person level, ms'],
        [['SQLite (WAL)', stored.journeys, stored.writeMs, stored.journeysPerSecWritten, stored.bytesPerJourney, stored.readPersonLevelMs]]),
      mdTable(['report', 'journeys', 'median ms', 'journeys/s'], reports.map((r) => [r.name, r.journeys, r.ms, r.journeysPerSec])),
      `RSS growth over the reports: ${rssMb} MB; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    ].join('\n\n')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick')
  console.log(await benchJourneys({ quick, log: (l) => console.log(l) }))
}
