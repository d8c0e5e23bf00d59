// `idr demo`: a simulated population streamed through the real engine (in-process bus or NATS, SQLite
// snapshots, refits on the worker pool), observed from outside as a client would: events published,
// assignments and dead letters subscribed, the request-reply API asked. The report (report.ts) compares what
// the engine said with the simulator's truth and the Bayes ceiling.
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { performance } from 'node:perf_hooks'
import { decode, encode } from '@msgpack/msgpack'
import { serveApi } from '../api/service.js'
import { IdrError } from '../errors.js'
import { Engine } from '../engine/engine.js'
import type { IdrEvent } from '../model/events.js'
import type { PersonProbability } from '../model/household.js'
import { RefitPool } from '../runtime/refit-pool.js'
import { version } from '../paths.js'
import { scoreHouseholds, type ScoredHousehold, type ScoredSession } from '../sim/evaluate.js'
import { bayesCeiling, simulate, type Difficulty, type Simulation } from '../sim/simulator.js'
import { openStore, type SqliteStore } from '../store/sqlite-store.js'
import { describeExamples, type ExampleInput } from './examples.js'
import { LatencyRecorder } from './latency.js'
import { inProcessLink, natsLink, redactUrl, type DemoLink } from './link.js'
import { REPORT_VERSION, type DemoReport, type QualitySummary } from './report.js'
import { subjects } from '../contracts/subjects.js'

/** The demo's subjects: the default prefix, built where every subject is. */
const DEMO_SUBJECTS = subjects()

export interface DemoOptions {
  households?: number
  days?: number
  seed?: number
  difficulty?: Difficulty
  /** NATS URL; absent: the in-process bus. */
  nats?: string
  /** SQLite file, kept; default a fresh file in a temp directory, removed at the end (also on failure). */
  db?: string
  /** Keep the temporary SQLite file (no effect with `db`). Default false. */
  keepDb?: boolean
  /** Refit worker threads; 0 refits inline. Default: the machine's cores, at most 4. */
  poolThreads?: number
  /** Events per published message. Default 100. */
  batch?: number
  /** Example households in the report. Default 3. */
  examples?: number
  /** Called about every 250 ms while events stream, and once at the end. */
  onProgress?: (p: DemoProgress) => void
}

export interface DemoProgress {
  readonly phase: 'simulate' | 'stream' | 'finish'
  readonly events: number
  readonly totalEvents: number
  readonly seconds: number
  readonly eventsPerSec: number
}

export const DEMO_DEFAULTS = { households: 2_000, days: 30, seed: 1, difficulty: 'default', batch: 100, examples: 3 } as const
/** A fixed, public key: the demo's data is simulated. A deployment's key comes from its configuration. */
export const DEMO_PSEUDONYM_KEY = 'idr-demo-pseudonym-key-not-for-production'
/** Events the engine may hold queued: small, so the latency reported is processing, not a deep backlog. */
const DEMO_MAX_QUEUED = 1_000
/**
 * NATS mode: events in transit plus queued in the engine before the publisher waits. NATS core cannot push
 * back, and the engine sheds whole messages (OVERLOADED) beyond its queue bound, so the demo stays below it.
 */
const NATS_WINDOW = DEMO_MAX_QUEUED / 2

interface Assignment {
  account: string
  session: string
  eventId: string
  stage: 'open' | 'update' | 'close'
  persons: PersonProbability[]
}

interface HouseholdTrack {
  readonly scored: ScoredSession[]
  readonly perPerson: Map<string, number>
  readonly opens: Map<string, readonly PersonProbability[]>
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const o = { ...DEMO_DEFAULTS, ...definedOnly(options) }
  const poolThreads = options.poolThreads ?? Math.min(4, cpus().length)
  const progress = options.onProgress ?? (() => {})
  progress({ phase: 'simulate', events: 0, totalEvents: 0, seconds: 0, eventsPerSec: 0 })
  const sim = simulate({ households: o.households, days: o.days, seed: o.seed, difficulty: o.difficulty })
  const ceiling = bayesCeiling(sim).accuracy
  // a temporary database (about 14 MB for the default run) goes when the demo ends, unless asked to keep it
  const tempDir = options.db === undefined ? mkdtempSync(join(tmpdir(), 'idr-demo-')) : undefined
  const removeTemp = tempDir !== undefined && !options.keepDb
  const db = options.db ?? join(tempDir!, 'idr.db')
  let store: SqliteStore | undefined
  let pool: RefitPool | undefined
  let link: DemoLink | undefined
  try {
    store = openStore(db)
    pool = poolThreads > 0 ? new RefitPool({ threads: poolThreads }) : undefined
    const errors: unknown[] = []
    link = o.nats === undefined ? inProcessLink() : await natsLink(o.nats, (err) => errors.push(err))
    return await streamAndReport(o, sim, ceiling, { store, pool, link, errors, db: removeTemp ? null : db, poolThreads, progress })
  } finally {
    await pool?.close()
    await link?.close()
    await link?.bus.close()
    store?.close()
    if (removeTemp) rmSync(tempDir, { recursive: true, force: true })
  }
}

/** The options the demo proper reads, defaults filled in. */
type DemoSettings = Required<Pick<DemoOptions, 'households' | 'days' | 'seed' | 'difficulty' | 'batch' | 'examples'>> & Pick<DemoOptions, 'nats'>

interface Running {
  readonly store: SqliteStore
  readonly pool: RefitPool | undefined
  readonly link: DemoLink
  readonly errors: unknown[]
  /** The database named in the report (null: temporary, removed). */
  readonly db: string | null
  readonly poolThreads: number
  readonly progress: (p: DemoProgress) => void
}

/** The demo proper, on an open store and link (runDemo owns them and closes them). */
async function streamAndReport(o: DemoSettings, sim: Simulation, ceiling: number, r: Running): Promise<DemoReport> {
  const { store, pool, link, errors, db, poolThreads, progress } = r
  const engine = new Engine({ bus: link.bus, store, pseudonymKey: DEMO_PSEUDONYM_KEY, refits: pool, maxQueued: DEMO_MAX_QUEUED })
  serveApi(engine, link.bus)
  try {
    await engine.start()
    const observed = observe(link, sim, o.examples)
    const t0 = performance.now()
    const sent = await stream(link, engine, sim, o.batch, observed, (events) => {
      const seconds = (performance.now() - t0) / 1000
      progress({ phase: 'stream', events, totalEvents: sim.eventCount, seconds, eventsPerSec: events / Math.max(seconds, 1e-9) })
    })
    await link.flush()
    await untilDelivered(engine, sent.messages)
    await engine.runtime.whenIdle()
    await link.settle()
    const seconds = (performance.now() - t0) / 1000
    progress({ phase: 'finish', events: sent.events, totalEvents: sent.events, seconds, eventsPerSec: sent.events / seconds })
    if (errors.length > 0) throw errors[0]
    const households: ScoredHousehold[] = sim.households.map((h) => ({
      account: h.account,
      k: engine.household(h.account)?.persons.k ?? 0,
      scored: observed.tracks.get(h.account)?.scored ?? [],
    }))
    const trueSizes = new Map(sim.households.map((h) => [h.account, h.persons.length]))
    const evalReport = scoreHouseholds(households, sent.events, seconds, ceiling, trueSizes)
    const examples = await describeExamples(link, engine, sim, observed.examples, households)
    await engine.drain()
    const quality: QualitySummary = {
      accuracy: evalReport.accuracy, ceiling, accuracyToCeiling: evalReport.accuracyToCeiling ?? 0,
      accuracyAtOpen: evalReport.accuracyAtOpen, baselineDominant: evalReport.baselineDominant,
      sizeExact: evalReport.kExact, sizeMae: evalReport.kMae, ece: evalReport.ece, brier: evalReport.brier,
      accuracyAfterSessions: evalReport.accuracyBySessions, reliability: evalReport.reliability,
      sizeConfusion: sizeConfusion(households, trueSizes),
    }
    const report: DemoReport = {
      version: REPORT_VERSION,
      generatedAt: new Date().toISOString(),
      idrVersion: version,
      machine: { node: process.version, platform: `${process.platform} ${process.arch}`, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown' },
      config: {
        households: o.households, days: o.days, seed: o.seed, difficulty: o.difficulty, bus: o.nats === undefined ? 'in-process' : 'nats',
        natsUrl: o.nats === undefined ? null : redactUrl(o.nats), db, poolThreads, batch: o.batch,
      },
      run: {
        events: sent.events, messages: sent.messages, seconds, eventsPerSec: sent.events / seconds,
        assignments: observed.assignments, dlqRecords: observed.dlqRecords, sessions: evalReport.sessions,
        snapshotBytes: snapshotBytes(store, sim),
      },
      latencyMs: observed.latency.summary(o.nats === undefined
        ? `from sending the message that holds a session's first event on the in-process bus to the arrival of the session's provisional (open) assignment at a subscriber; events streamed at full speed, at most ${DEMO_MAX_QUEUED.toLocaleString('en')} queued in the engine`
        : `from publishing the message that holds a session's first event to NATS to the arrival of the session's provisional (open) assignment at a subscriber on a second connection; events streamed at full speed, at most ${NATS_WINDOW.toLocaleString('en')} in flight`),
      quality,
      examples,
    }
    return report
  } finally {
    if (engine.phase !== 'stopped') await engine.drain().catch(() => {})
  }
}

/** What the demo sees from outside the engine while events stream. */
interface Observed {
  readonly tracks: Map<string, HouseholdTrack>
  /** Play events sent and not yet closed: truth, and the send time until the open assignment arrives. */
  readonly plays: Map<string, { truth: string, sentAt: number }>
  readonly examples: Map<string, ExampleInput>
  readonly latency: LatencyRecorder
  assignments: number
  dlqRecords: number
}

function observe(link: DemoLink, sim: Simulation, examples: number): Observed {
  const chosen = chooseExamples(sim, examples)
  const ob: Observed = {
    tracks: new Map(), plays: new Map(), latency: new LatencyRecorder(), assignments: 0, dlqRecords: 0,
    examples: new Map(chosen.map((account) => [account, { account, plays: new Map(), sessions: new Map() }])),
  }
  link.subscribe(DEMO_SUBJECTS.dlq, () => { ob.dlqRecords++ })
  link.subscribe(DEMO_SUBJECTS.allAssignments, (_subject, data) => {
    const a = decode(data) as Assignment
    ob.assignments++
    let t = ob.tracks.get(a.account)
    if (!t) ob.tracks.set(a.account, (t = { scored: [], perPerson: new Map(), opens: new Map() }))
    const play = ob.plays.get(a.eventId)
    const ex = ob.examples.get(a.account)
    if (ex) {
      const info = ex.plays.get(a.eventId)
      if (info) ex.sessions.set(a.session, { ...info, persons: a.persons })
    }
    if (a.stage === 'open') {
      t.opens.set(a.session, a.persons)
      if (play && play.sentAt > 0) {
        ob.latency.record(performance.now() - play.sentAt)
        play.sentAt = 0
      }
    } else if (a.stage === 'close' && play) {
      // the close carries the session's first event id: the play whose truth the demo kept
      const first = play.truth.split('+')[0]!
      const nth = t.perPerson.get(first) ?? 0
      t.perPerson.set(first, nth + 1)
      t.scored.push({ truth: play.truth, nth, final: a.persons, open: t.opens.get(a.session) })
      t.opens.delete(a.session)
      ob.plays.delete(a.eventId)
    }
  })
  return ob
}

/** Example households: one of 3 persons first (its timeline is plotted), then 2, 4, 1, 5, 6; earliest index of each size. */
function chooseExamples(sim: Simulation, n: number): string[] {
  const out: string[] = []
  for (const size of [3, 2, 4, 1, 5, 6]) {
    const h = sim.households.find((x) => x.persons.length === size && x.sessions.length >= 10)
    if (h && out.length < n) out.push(h.account)
  }
  return out
}

/** Streams the simulation in event-time order, `batch` events per message, without the truth field. */
async function stream(link: DemoLink, engine: Engine, sim: Simulation, batch: number, ob: Observed, tick: (events: number) => void): Promise<{ events: number, messages: number }> {
  let events = 0
  let messages = 0
  let last = performance.now()
  let buf: Omit<IdrEvent, 'truth'>[] = []
  const plays: string[] = []
  const flush = async (): Promise<void> => {
    if (buf.length === 0) return
    const data = encode(buf)
    const subject = DEMO_SUBJECTS.eventsOf(buf[0]!.account)
    events += buf.length
    messages++
    buf = []
    const now = performance.now()
    for (const id of plays) ob.plays.get(id)!.sentAt = now
    plays.length = 0
    if (link.bus.kind !== 'in-process') {
      for (let st = engine.stats(); (messages - st.messagesIn) * batch + st.queued > NATS_WINDOW; st = engine.stats()) await sleep(1)
    }
    await link.send(subject, data)
    if (now - last >= 250) {
      last = now
      tick(events)
    }
  }
  for (const e of sim.events()) {
    const { truth, ...wire } = e
    if (e.kind === 'play' && truth !== undefined) {
      ob.plays.set(e.id, { truth, sentAt: 0 })
      plays.push(e.id)
      const ex = ob.examples.get(e.account)
      if (ex) ex.plays.set(e.id, { playId: e.id, startMs: e.ts, device: e.device, deviceType: e.deviceType ?? 'other', screenIn: e.screenIn, genre: e.genres?.[0] ?? 'other', truth })
    }
    buf.push(wire)
    if (buf.length >= batch) await flush()
  }
  await flush()
  tick(events)
  return { events, messages }
}

function sizeConfusion(households: readonly ScoredHousehold[], trueSizes: ReadonlyMap<string, number>): QualitySummary['sizeConfusion'] {
  const trueList = [...new Set(trueSizes.values())].sort((a, b) => a - b)
  const found = [...new Set(households.map((h) => h.k))].sort((a, b) => a - b)
  const counts = trueList.map(() => found.map(() => 0))
  for (const h of households) counts[trueList.indexOf(trueSizes.get(h.account)!)]![found.indexOf(h.k)]! += 1
  return { trueSizes: trueList, foundSizes: found, counts }
}

function snapshotBytes(store: SqliteStore, sim: Simulation): number {
  let bytes = 0
  for (const h of sim.households) bytes += store.load(h.account)?.snapshot.length ?? 0
  return bytes
}

/** How long the engine may take in no message at all before the demo gives up on the rest, ms. */
const DELIVERY_STALL_MS = 30_000

/** Waits until the engine has taken in every message sent; fails if it takes in none for DELIVERY_STALL_MS. */
async function untilDelivered(engine: Engine, messages: number): Promise<void> {
  let seen = engine.stats().messagesIn
  let since = performance.now()
  while (seen < messages) {
    await sleep(5)
    const now = engine.stats().messagesIn
    if (now > seen) {
      seen = now
      since = performance.now()
    } else if (performance.now() - since > DELIVERY_STALL_MS) {
      throw new IdrError('DEMO_STALLED', `the engine took in ${seen} of ${messages} messages and nothing more for ${DELIVERY_STALL_MS / 1000} s (messages lost on the way?)`)
    }
  }
}

/** The options given a value (an explicit undefined means "the default"). */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
