// Does idr beat its peers? idr against a per-household latent-class EM (k by BIC), a diagonal Gaussian
// mixture (k by penalised BIC) and the most-active-person oracle, on idr's simulator and on the four tracks of
// ../shared/tools/alt-households.mjs, offline and prequential, scored by idr eval's own scoreHouseholds.
//
//   npm run build:ts && node build/bench/peers.js [--households 300] [--days 30] [--alt-households 300]
//                                                 [--alt-days 60] [--only sim,taste,...] [--quick] [--result NAME]
//                                                 [--set traits]  (one trait at a time, true k)
//                                                 [--set population]  (the population-model peer)
//                                                 [--set idr]  (idr alone)  [--dump DIR]  (scored households as JSON)
//   node build/bench/peers.js --merge NAME,NAME   (parts run in parallel → bench/results/peers.json)
// or `idr bench peers [--quick]` (defaults). Results: bench/results/peers.json, summary in docs/benchmarks.md.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { IdrEvent } from '../src/model/events.js'
import { evaluateEvents, scoreHouseholds, type EvalReport, type ScoredHousehold } from '../src/sim/evaluate.js'
import { readEventsNdjson } from '../src/sim/ndjson.js'
import { bayesCeiling, simulate } from '../src/sim/simulator.js'
import { projectRoot } from '../src/paths.js'
import { mdTable, writeResult, type BenchContext } from './lib.js'
import { collectSessions, type PeerHousehold } from './peers-data.js'
import { idrBothProtocols } from './peers-idr.js'
import { gaussianPeer, latentClassPeer, mostActivePeer, type Peer } from './peers-models.js'
import { scoreWithPeer, type Protocol } from './peers-protocols.js'
import { trainedPopulationPeer } from './peers-population.js'

/** The alternative generator (../shared/tools/README.md). */
export const ALT_GENERATOR = join(projectRoot, '..', 'shared', 'tools', 'alt-households.mjs')
export const ALT_TRACKS = ['taste', 'habits', 'mixed', 'noise'] as const
const PROTOCOLS: readonly Protocol[] = ['offline', 'prequential']

export interface PeersOptions {
  /** idr's simulator, default difficulty, seed 1. */
  households?: number
  days?: number
  /** alt-households.mjs, seed 1. */
  altHouseholds?: number
  altDays?: number
  /** Datasets to run: 'sim' and/or track names. Default all. */
  only?: readonly string[]
  /**
   * 'main': idr and PEERS; 'traits': TRAIT_PEERS only (which single trait separates people, k known);
   * 'population': the population-model peer, its profiles fitted on another seed's households (never the scored ones);
   * 'idr': idr alone.
   */
  set?: 'main' | 'traits' | 'population' | 'idr'
  /** Write every dataset × model × protocol's scored households to this directory (JSON), for offline analysis. */
  dump?: string
}

export const PEERS_DEFAULTS = { households: 300, days: 30, altHouseholds: 300, altDays: 60 } as const
const QUICK = { households: 40, days: 30, altHouseholds: 40, altDays: 60 } as const

/** One dataset × protocol × model line of the table. */
export interface PeerRow {
  dataset: string
  protocol: Protocol
  model: string
  households: number
  sessions: number
  accuracy: number
  /** null where the model gives no probabilities (idr offline: the top person only). */
  ece: number | null
  kExact: number
  kMae: number
  singleNotSplit: number | null
  baselineDominant: number
  ceiling: number | null
  accuracyBySessions: Record<string, number | null>
  seconds: number
}

interface Dataset { name: string, events: IdrEvent[], ceiling: number | null, trueSizes: ReadonlyMap<string, number> | undefined }

export const PEERS: readonly Peer[] = [
  latentClassPeer(['hour', 'weekday', 'device', 'genre']),
  latentClassPeer(['hour', 'weekday', 'device', 'genre'], { by: 'bic', lambda: 0.3 }),
  latentClassPeer(['hour', 'weekday', 'device', 'genre', 'content'], { by: 'bic', lambda: 0.3 }),
  latentClassPeer(['hour', 'weekday', 'device', 'genre'], { by: 'truth' }),
  latentClassPeer(['hour', 'weekday', 'device', 'genre', 'content'], { by: 'truth' }),
  gaussianPeer(1),
  mostActivePeer,
]

/** One trait at a time, k = the true size: what each trait alone tells apart (an oracle on k, not a rival). */
export const TRAIT_PEERS: readonly Peer[] = (['hour', 'weekday', 'device', 'genre', 'content'] as const).map((t) => latentClassPeer([t], { by: 'truth' }))

function row(dataset: Dataset, protocol: Protocol, model: string, r: EvalReport, seconds: number, calibrated = true): PeerRow {
  return {
    dataset: dataset.name, protocol, model, households: r.households, sessions: r.sessions, accuracy: r.accuracy,
    ece: calibrated ? r.ece : null, kExact: r.kExact, kMae: r.kMae, singleNotSplit: r.singleNotSplit,
    baselineDominant: r.baselineDominant, ceiling: dataset.ceiling, accuracyBySessions: r.accuracyBySessions, seconds,
  }
}

type Score = (runs: readonly ScoredHousehold[]) => EvalReport

/** Runs idr (if asked) and the peers on one dataset under both protocols. */
export function runDataset(dataset: Dataset, peers: readonly Peer[], withIdr: boolean, log: (line: string) => void, dump?: string): PeerRow[] {
  const rows: PeerRow[] = []
  let dumped = 0
  const score: Score = (runs) => {
    if (dump) dumpRuns(dump, dataset, dumped++, runs)
    return scoreHouseholds(runs, dataset.events.length, 1, dataset.ceiling, dataset.trueSizes)
  }
  const households: PeerHousehold[] = collectSessions(dataset.events)
  if (withIdr) rows.push(...idrRows(dataset, households, score))
  for (const peer of peers) {
    for (const protocol of PROTOCOLS) {
      const t0 = performance.now()
      const runs = households.map((h, i) => scoreWithPeer(peer, h, protocol, 1000 * (i + 1)))
      const seconds = (performance.now() - t0) / 1000
      rows.push(row(dataset, protocol, peer.name, score(runs), seconds))
      log(`  ${dataset.name} ${protocol} ${peer.name}: ${rows.at(-1)!.accuracy.toFixed(3)} (${seconds.toFixed(1)} s)`)
    }
  }
  return rows
}

/** Scored households as JSON, named by dataset and the order they were scored in (see the run's log for which model and protocol). */
function dumpRuns(dir: string, dataset: Dataset, index: number, runs: readonly ScoredHousehold[]): void {
  mkdirSync(dir, { recursive: true })
  const name = `${dataset.name.replace(/[^a-z0-9]+/gi, '-')}-${index}.json`
  const sizes = dataset.trueSizes ? Object.fromEntries(dataset.trueSizes) : null
  writeFileSync(join(dir, name), JSON.stringify({ dataset: dataset.name, ceiling: dataset.ceiling, trueSizes: sizes, runs }))
}

/** idr's rows: prequential exactly as `idr eval` (evaluateEvents), offline from the final persons. */
function idrRows(dataset: Dataset, households: readonly PeerHousehold[], score: Score): PeerRow[] {
  const t0 = performance.now()
  const reference = evaluateEvents(dataset.events, { ceiling: dataset.ceiling, trueSizes: dataset.trueSizes })
  const idr = idrBothProtocols(dataset.events)
  const seconds = (performance.now() - t0) / 2000 // each of the two replays
  const pre = score(idr.prequential)
  // the replay must be idr eval's, and the peers must see idr eval's sessions
  if (pre.sessions !== reference.sessions || Math.abs(pre.accuracy - reference.accuracy) > 1e-12 || Math.abs(pre.ece - reference.ece) > 1e-12) {
    throw new Error(`${dataset.name}: idr replay (${pre.sessions} sessions, accuracy ${pre.accuracy}) differs from evaluateEvents (${reference.sessions}, ${reference.accuracy})`)
  }
  const nSessions = households.reduce((a, h) => a + h.sessions.length, 0)
  if (nSessions !== reference.sessions) throw new Error(`${dataset.name}: ${nSessions} peer sessions against idr's ${reference.sessions}`)
  return [
    row(dataset, 'prequential', 'idr', reference, seconds),
    row(dataset, 'offline', 'idr (final persons, last 400 sessions)', score(idr.offline), seconds, false),
  ]
}

/** An NDJSON events file, whole; a bad line is an error (the generators write none). */
export async function readAll(path: string): Promise<IdrEvent[]> {
  const reader = readEventsNdjson(path)
  const events: IdrEvent[] = []
  for await (const e of reader) events.push(e)
  if (reader.errors.length > 0) throw new Error(`${path}: ${reader.errors.length} bad lines, first: ${reader.errors[0]!.message}`)
  return events
}

/** Every dataset's rows; alt tracks are generated into a temporary directory removed afterwards. */
export async function runPeers(options: PeersOptions, log: (line: string) => void): Promise<PeerRow[]> {
  const o = { set: 'main', ...PEERS_DEFAULTS, ...options }
  const fixed = o.set === 'traits' ? TRAIT_PEERS : o.set === 'idr' ? [] : PEERS
  const peersFor = (train: IdrEvent[]): readonly Peer[] => (o.set === 'population' ? [trainedPopulationPeer(train, log)] : fixed)
  const want = (name: string) => !o.only || o.only.includes(name)
  const rows: PeerRow[] = []
  if (want('sim')) {
    const sim = simulate({ households: o.households, days: o.days, seed: 1 })
    const trueSizes = new Map(sim.households.map((h) => [h.account, h.persons.length]))
    const dataset = { name: `sim default ${o.households}×${o.days}`, events: [...sim.events()], ceiling: bayesCeiling(sim).accuracy, trueSizes }
    log(`${dataset.name}: ${dataset.events.length} events`)
    const train = o.set === 'population' ? [...simulate({ households: o.households, days: o.days, seed: 3 }).events()] : []
    rows.push(...runDataset(dataset, peersFor(train), o.set === 'main' || o.set === 'idr', log, o.dump))
  }
  const tracks = ALT_TRACKS.filter(want)
  if (tracks.length === 0) return rows
  if (!existsSync(ALT_GENERATOR)) throw new Error(`the alternative generator is not at ${ALT_GENERATOR}`)
  const dir = mkdtempSync(join(tmpdir(), 'idr-peers-'))
  try {
    for (const track of tracks) {
      const file = join(dir, `alt-${track}.ndjson`)
      execFileSync(process.execPath, [ALT_GENERATOR, '--track', track, '--households', String(o.altHouseholds), '--days', String(o.altDays), '--seed', '1', '--out', file], { stdio: 'ignore' })
      const dataset = { name: `alt ${track} ${o.altHouseholds}×${o.altDays}`, events: await readAll(file), ceiling: null, trueSizes: undefined }
      log(`${dataset.name}: ${dataset.events.length} events`)
      let train: IdrEvent[] = []
      if (o.set === 'population') {
        const trainFile = join(dir, `alt-${track}-train.ndjson`)
        execFileSync(process.execPath, [ALT_GENERATOR, '--track', track, '--households', String(o.altHouseholds), '--days', String(o.altDays), '--seed', '2', '--out', trainFile], { stdio: 'ignore' })
        train = await readAll(trainFile)
      }
      rows.push(...runDataset(dataset, peersFor(train), o.set === 'main' || o.set === 'idr', log, o.dump))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return rows
}

const f3 = (x: number | null) => (x === null ? '—' : x.toFixed(3))

/** The Markdown table of docs/benchmarks.md. */
export function peersTable(rows: readonly PeerRow[]): string {
  return mdTable(
    ['dataset', 'protocol', 'model', 'accuracy', 'ECE', 'size exact', 'size MAE', 'acc. 2nd–3rd', 'acc. 10th–19th', 'acc. 50th+', 'dominant', 'ceiling'],
    rows.map((r) => [r.dataset, r.protocol, r.model, f3(r.accuracy), f3(r.ece), f3(r.kExact), r.kMae.toFixed(2),
      f3(r.accuracyBySessions['1'] ?? null), f3(r.accuracyBySessions['10'] ?? null), f3(r.accuracyBySessions['50'] ?? null),
      f3(r.baselineDominant), f3(r.ceiling)]),
  )
}

/** `idr bench peers`: the defaults (or QUICK), written to bench/results/peers.json. */
export async function benchPeers(ctx: BenchContext): Promise<string> {
  const options = ctx.quick ? QUICK : PEERS_DEFAULTS
  const rows = await runPeers(options, ctx.log)
  writeResult('peers', { options, quick: ctx.quick, rows })
  return peersTable(rows)
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      households: { type: 'string' }, days: { type: 'string' }, 'alt-households': { type: 'string' }, 'alt-days': { type: 'string' },
      only: { type: 'string' }, set: { type: 'string' }, dump: { type: 'string' }, quick: { type: 'boolean' }, result: { type: 'string' }, merge: { type: 'string' },
    },
  })
  if (values.merge) return merge(values.merge.split(','))
  const whole = (name: string, v: string | undefined, d: number) => {
    if (v === undefined) return d
    const n = Number(v)
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${v}"`)
    return n
  }
  const base = values.quick ? QUICK : PEERS_DEFAULTS
  const options: PeersOptions = {
    households: whole('households', values.households, base.households), days: whole('days', values.days, base.days),
    altHouseholds: whole('alt-households', values['alt-households'], base.altHouseholds), altDays: whole('alt-days', values['alt-days'], base.altDays),
    ...(values.only ? { only: values.only.split(',') } : {}),
    set: values.set === undefined || values.set === 'main' ? 'main' : values.set === 'traits' || values.set === 'population' || values.set === 'idr' ? values.set : badSet(values.set),
    ...(values.dump ? { dump: values.dump } : {}),
  }
  const rows = await runPeers(options, (l) => console.error(l))
  const file = writeResult(values.result ?? 'peers', { options, quick: values.quick ?? false, rows })
  console.log(peersTable(rows))
  console.error(`written to ${file}`)
}

function badSet(v: string): never {
  throw new Error(`--set takes main, traits, population or idr, got "${v}"`)
}

/** --merge a,b: the rows of bench/results/a.json, b.json (runs of --only … --result a in parallel) into peers.json. */
function merge(names: readonly string[]): void {
  const parts = names.map((n) => JSON.parse(readFileSync(join(projectRoot, 'bench', 'results', `${n}.json`), 'utf8')) as { options: PeersOptions, quick: boolean, rows: PeerRow[] })
  const rows = parts.flatMap((p) => p.rows)
  const file = writeResult('peers', { options: parts.map((p) => p.options), quick: parts.some((p) => p.quick), rows })
  console.log(peersTable(rows))
  console.error(`written to ${file}`)
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) await main()
