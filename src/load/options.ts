// Options of `idr load`, validated where they enter: a bad or unknown flag is an IdrError BAD_OPTION that
// names the flag, what it needs and what it got.
import { parseFlags, UsageError, wantsHelp } from '../options/args.js'
import type { IdrError } from '../errors.js'

export const DEFAULT_DURATION_SEC = 20
/** Share of the run excluded from latency and throughput at its start (JIT, first households), s. */
export const DEFAULT_WARMUP_SEC = 5
export const DEFAULT_HOUSEHOLDS = 1_000
export const DEFAULT_PARTITIONS = 8
export const DEFAULT_PUBLISHERS = 1
export const DEFAULT_SEED = 1
/** Actors the engine keeps in memory under load (the serve default). */
export const DEFAULT_MAX_RESIDENT = 100_000

export interface LoadOptions {
  /** A running server, or undefined with spawnNats. */
  nats?: string
  spawnNats: boolean
  /** Events/s over all publishers; 0 = --max. */
  rate: number
  durationSec: number
  warmupSec: number
  /** Events per message (1 = single events). */
  batch: number
  jetstream: boolean
  /** The landing path (implies jetstream): the engine relays raw events from a work queue into a keyed stream. */
  landing: boolean
  /** With landing: the relay on the engine's event loop instead of its worker thread (idr serve --landing-thread=false). */
  landingInline?: boolean
  households: number
  publishers: number
  partitionsOf: number
  scenario: 'steady' | 'storm'
  /** Households in a session at once (steady); undefined = all. */
  active?: number
  maxResident: number
  /** Refit worker threads of the spawned engine; undefined = the serve default. */
  poolThreads?: number
  /** Skip the null-consumer phase (no ceiling; ratioToCeiling is null). */
  noCeiling: boolean
  /** Use an engine that is already running on `prefix` instead of spawning one. */
  attach: boolean
  /** The attached engine's pid, for CPU and RSS. */
  enginePid?: number
  /** Subject prefix of the engine under load (the spawned one gets it; default idrload, apart from production). */
  prefix: string
  /** Write a V8 CPU profile of the spawned engine into this directory. */
  profileDir?: string
  seed: number
  json: boolean
}

export const LOAD_HELP = `idr load (--nats URL | --spawn-nats) [options]: events through a real NATS server into \`idr serve\`,
with the ceiling (a null consumer that only receives, decodes and counts) measured in the same run.

  --nats URL            a running nats-server (JetStream enabled for --jetstream)
  --spawn-nats          start a local nats-server for the run
  --rate R | --max      events/s over all publishers, or as fast as they can (default --max)
  --duration S          publishing time per phase, s (default ${DEFAULT_DURATION_SEC})
  --warmup S            excluded from latency and throughput at the start, s (default ${DEFAULT_WARMUP_SEC})
  --batch B             events per message (default 1; 100 = batches of 100)
  --jetstream           publish into a JetStream stream; the engine and the null consumer read it
  --landing             the landing path (idr serve --landing): raw events into a memory work queue, relayed
                        into the keyed stream the engine reads; the null consumer reads a raw stream as with --jetstream
  --landing-inline      with --landing: the relay on the engine's event loop, not on its own thread
  --households N        households (default ${DEFAULT_HOUSEHOLDS})
  --publishers P        publisher processes (default ${DEFAULT_PUBLISHERS})
  --partitions N        partitions of the deployment (engine --of; default ${DEFAULT_PARTITIONS})
  --scenario steady|storm   storm: households in lockstep, so their refits fall together
  --active N            households watching at once (steady; default all): the rest idle, so they can be passivated
  --max-resident N      the engine's resident actors (passivation beyond; default ${DEFAULT_MAX_RESIDENT})
  --pool-threads N      the engine's refit threads (default: the serve default)
  --no-ceiling          skip the null consumer
  --attach              load an engine already serving on --prefix (not spawned; --engine-pid for CPU/RSS)
  --prefix P            subject prefix of the engine under load (default idrload)
  --profile DIR         write a V8 CPU profile of the spawned engine to DIR (node --cpu-prof)
  --seed N              habits of the households (default ${DEFAULT_SEED})
  --json                one JSON object (mode, eventsPerSec, ceilingEventsPerSec, ratioToCeiling, latencyMs, rssMb, households, …)
  --sweep [--quick] [--repeats N]   the benchmark sweep (each full-speed mode N times, the median reported;
                        default 3, 1 with --quick): writes bench/results/load.json and load-scaling.json
                        (from a clone: the installed package has no bench/)`

const FLAGS = {
  nats: { type: 'string' }, 'spawn-nats': { type: 'boolean' }, rate: { type: 'string' }, max: { type: 'boolean' },
  duration: { type: 'string' }, warmup: { type: 'string' }, batch: { type: 'string' }, jetstream: { type: 'boolean' }, landing: { type: 'boolean' }, 'landing-inline': { type: 'boolean' },
  households: { type: 'string' }, publishers: { type: 'string' }, partitions: { type: 'string' }, scenario: { type: 'string' },
  'max-resident': { type: 'string' }, active: { type: 'string' }, 'pool-threads': { type: 'string' }, 'no-ceiling': { type: 'boolean' },
  attach: { type: 'boolean' }, 'engine-pid': { type: 'string' }, prefix: { type: 'string' }, profile: { type: 'string' },
  seed: { type: 'string' }, json: { type: 'boolean' }, sweep: { type: 'boolean' }, quick: { type: 'boolean' }, repeats: { type: 'string' },
} as const

function bad(message: string): IdrError {
  return new UsageError(message)
}

/** A number flag: an integer (or a number, when `real`) in [min, max]. */
function num(flag: string, raw: string | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER, real = false): number {
  if (raw === undefined) return def
  const v = Number(raw.replace(/_/g, ''))
  if (raw.trim() === '' || !Number.isFinite(v) || (!real && !Number.isInteger(v)) || v < min || v > max) {
    const what = real ? 'a number' : 'an integer'
    throw bad(`--${flag} must be ${what} in ${min}..${max === Number.MAX_SAFE_INTEGER ? '∞' : max}, got "${raw}"`)
  }
  return v
}

export type ParsedLoad = { kind: 'help' } | { kind: 'run', options: LoadOptions } | { kind: 'sweep', quick: boolean, repeats?: number, url?: string }

/** Parses `idr load` arguments; throws UsageError (BAD_OPTION) on a bad, unknown or conflicting flag. */
export function parseLoadArgs(argv: readonly string[]): ParsedLoad {
  if (wantsHelp(argv)) return { kind: 'help' }
  const values: Record<string, string | boolean | undefined> = parseFlags(argv, FLAGS).values
  const str = (k: string): string | undefined => values[k] as string | undefined
  if (values.sweep) {
    const repeats = values.repeats === undefined ? undefined : num('repeats', str('repeats'), 1, 1, 20)
    return { kind: 'sweep', quick: values.quick === true, repeats, url: str('nats') }
  }
  if (values.repeats !== undefined) throw bad('--repeats goes with --sweep')
  if (values.quick) throw bad('--quick goes with --sweep')
  if (str('nats') !== undefined && values['spawn-nats']) throw bad('give --nats URL or --spawn-nats, not both')
  if (str('nats') === undefined && !values['spawn-nats']) throw bad('give --nats URL (a running nats-server) or --spawn-nats')
  if (str('rate') !== undefined && values.max) throw bad('give --rate R or --max, not both')
  const scenario = str('scenario') ?? 'steady'
  if (scenario !== 'steady' && scenario !== 'storm') throw bad(`--scenario must be steady or storm, got "${scenario}"`)
  const durationSec = num('duration', str('duration'), DEFAULT_DURATION_SEC, 1, 86_400, true)
  const warmupSec = num('warmup', str('warmup'), Math.min(DEFAULT_WARMUP_SEC, durationSec / 4), 0, 86_400, true)
  if (warmupSec >= durationSec) throw bad(`--warmup (${warmupSec} s) must be shorter than --duration (${durationSec} s)`)
  const households = num('households', str('households'), DEFAULT_HOUSEHOLDS, 1, 10_000_000)
  const publishers = num('publishers', str('publishers'), DEFAULT_PUBLISHERS, 1, 64)
  if (publishers > households) throw bad(`--publishers (${publishers}) cannot exceed --households (${households})`)
  const prefix = str('prefix') ?? 'idrload'
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) throw bad(`--prefix must be one subject token (letters, digits, _ or -), got "${prefix}"`)
  if (values['engine-pid'] !== undefined && !values.attach) throw bad('--engine-pid goes with --attach')
  if (values.attach && values.profile !== undefined) throw bad('--profile needs a spawned engine, not --attach')
  const options: LoadOptions = {
    nats: str('nats'),
    spawnNats: values['spawn-nats'] === true,
    rate: num('rate', str('rate'), 0, 1, 100_000_000),
    durationSec,
    warmupSec,
    batch: num('batch', str('batch'), 1, 1, 10_000),
    jetstream: values.jetstream === true || values.landing === true,
    landing: values.landing === true,
    landingInline: values['landing-inline'] === true,
    households,
    publishers,
    partitionsOf: num('partitions', str('partitions'), DEFAULT_PARTITIONS, 1, 1024),
    scenario,
    active: values.active === undefined ? undefined : num('active', str('active'), 1, 1, households),
    maxResident: num('max-resident', str('max-resident'), DEFAULT_MAX_RESIDENT, 1),
    poolThreads: values['pool-threads'] === undefined ? undefined : num('pool-threads', str('pool-threads'), 0, 0, 256),
    noCeiling: values['no-ceiling'] === true,
    attach: values.attach === true,
    enginePid: values['engine-pid'] === undefined ? undefined : num('engine-pid', str('engine-pid'), 0, 1),
    prefix,
    profileDir: str('profile'),
    seed: num('seed', str('seed'), DEFAULT_SEED, 0, 2 ** 32 - 1),
    json: values.json === true,
  }
  return { kind: 'run', options }
}
