// One `idr load` run: (1) the ceiling phase: publishers → NATS → a null consumer that only decodes and
// counts; (2) the engine phase: the same publishers → NATS → `idr serve`, with latency measured by the
// publishers and the engine's CPU and RSS sampled from /proc. Both phases on the same server, one after the
// other, so they do not share the CPU with each other; their subjects differ by prefix, so neither sees
// the other's messages.
import { execFileSync } from 'node:child_process'
import { loadavg } from 'node:os'
import { projectRoot } from '../paths.js'
import { connect, StorageType, type NatsConnection } from 'nats'
import type { EngineStats } from '../engine/engine.js'
import { Child } from './children.js'
import { attachedEngine, engineStats, spawnEngine, type EngineHandle } from './engine-process.js'
import { mergeHistograms, summarise } from '../histogram.js'
import { spawnNatsServer, type SpawnedNats } from './nats-server.js'
import type { LoadOptions } from './options.js'
import type { FromNull, FromPublisher, PublisherConfig, PublisherResult, ToNull, ToPublisher } from './protocol.js'
import type { LoadResult } from './report.js'
import { ProcSampler, SAMPLE_MS, mb } from './resources.js'

/** A consumer that gained nothing for this long after publishing ended has finished (core: drops are final), ms. */
const STALL_MS = { core: 2_000, jetstream: 15_000 } as const
/** The longest wait for a consumer to catch up after publishing, ms. */
const CATCH_UP_MAX_MS = 180_000
const READY_TIMEOUT_MS = 30_000
/** A fixed rate missed by more than this share marks the run publisher-limited. */
const RATE_TOLERANCE = 0.05

type PublisherChild = Child<ToPublisher, FromPublisher>

interface Sample { at: number, n: number }

/** The count at time t, interpolated between samples (samples ascend in time). */
function countAt(samples: readonly Sample[], t: number): number {
  if (t <= samples[0]!.at) return samples[0]!.n
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!
    const b = samples[i]!
    if (b.at >= t) return b.at === a.at ? b.n : a.n + ((t - a.at) / (b.at - a.at)) * (b.n - a.n)
  }
  return samples[samples.length - 1]!.n
}

/**
 * A consumer's events/s over the measured window: from the end of the publishers' warm-up (`from`, epoch
 * ms) to the moment the count reached its final value. A consumer that keeps up gets the publishers' rate; one
 * that falls behind gets what it processed while busy (it is busy for the whole window), so a fixed-rate run
 * it only survives by catching up afterwards does not report more than it sustained.
 */
export function windowRate(samples: readonly Sample[], from: number): { rate: number, endAt: number } {
  if (samples.length < 2) return { rate: 0, endAt: samples[0]?.at ?? 0 }
  const final = samples[samples.length - 1]!.n
  const endAt = samples.find((s) => s.n >= final)!.at
  const sec = (endAt - from) / 1000
  return { rate: sec > 0 ? (final - countAt(samples, from)) / sec : 0, endAt }
}

/**
 * Waits until count() ≥ target, or it has not grown for stallMs while busy() is false (the consumer is idle:
 * what it did not get was dropped), or CATCH_UP_MAX_MS.
 */
async function settle(count: () => number, target: number, stallMs: number, busy: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + CATCH_UP_MAX_MS
  let last = count()
  let lastGain = Date.now()
  while (count() < target && (busy() || Date.now() - lastGain < stallMs) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50))
    const n = count()
    if (n > last) {
      last = n
      lastGain = Date.now()
    }
  }
}

function publisherConfigs(o: LoadOptions, url: string, prefix: string, latency: boolean, tag: string): PublisherConfig[] {
  const per = Math.floor(o.households / o.publishers)
  return Array.from({ length: o.publishers }, (_, i) => ({
    url, prefix, index: i,
    households: i === o.publishers - 1 ? o.households - per * i : per,
    firstHousehold: per * i,
    seed: o.seed * 1000 + i,
    partitionsOf: o.partitionsOf,
    batch: o.batch,
    rate: o.rate === 0 ? 0 : o.rate / o.publishers,
    durationMs: o.durationSec * 1000,
    warmupMs: o.warmupSec * 1000,
    scenario: o.scenario,
    active: o.active === undefined ? undefined : Math.max(1, Math.round(o.active / o.publishers)),
    latency,
    idPrefix: `${tag}${i}-`,
  }))
}

/** Forks the publishers and waits until each is connected (and subscribed, for latency). */
async function startPublishers(configs: readonly PublisherConfig[]): Promise<PublisherChild[]> {
  const pubs = configs.map((c) => new Child<ToPublisher, FromPublisher>('src/load/publisher.js', `publisher ${c.index}`))
  pubs.forEach((p, i) => p.send({ type: 'start', config: configs[i]! }))
  await Promise.all(pubs.map((p) => p.waitFor('ready', READY_TIMEOUT_MS)))
  return pubs
}

interface Published { events: number, startedAt: number, endedAt: number }

/** Starts the publishers and waits until they have published for the run's duration. */
async function publish(pubs: readonly PublisherChild[], o: LoadOptions): Promise<Published> {
  const startedAt = Date.now()
  for (const p of pubs) p.send({ type: 'go' })
  const done = await Promise.all(pubs.map((p) => p.waitFor('published', o.durationSec * 1000 + 60_000)))
  const events = done.reduce((s, d) => s + d.events, 0)
  const endedAt = Math.max(...done.map((d) => d.endedAt))
  return { events, startedAt, endedAt }
}

async function finishPublishers(pubs: readonly PublisherChild[]): Promise<PublisherResult[]> {
  for (const p of pubs) p.send({ type: 'finish' })
  const results = await Promise.all(pubs.map((p) => p.waitFor('result', 30_000)))
  await Promise.all(pubs.map((p) => p.exited))
  return results.map((r) => r.result)
}

const round = (n: number, digits = 0): number => Math.round(n * 10 ** digits) / 10 ** digits

async function ceilingPhase(o: LoadOptions, url: string, nc: NatsConnection, tag: string): Promise<LoadResult['ceiling']> {
  const prefix = `${o.prefix}null`
  const stream = o.jetstream ? `IDR_LOAD_NULL_${tag}` : undefined
  const jsm = o.jetstream ? await nc.jetstreamManager() : undefined
  if (jsm && stream) await jsm.streams.add({ name: stream, subjects: [`${prefix}.evp.>`], storage: StorageType.File })
  const nul = new Child<ToNull, FromNull>('src/load/null-consumer.js', 'null consumer')
  const samples: Sample[] = []
  nul.onMessage = (m) => { if (m.type === 'count') samples.push({ at: m.at, n: m.events }) }
  let pubs: PublisherChild[] = []
  try {
    nul.send({ type: 'start', config: { url, prefix, stream } })
    await nul.waitFor('ready', READY_TIMEOUT_MS)
    pubs = await startPublishers(publisherConfigs(o, url, prefix, false, `${tag}n`))
    const pub = await publish(pubs, o)
    const results = await finishPublishers(pubs)
    await settle(() => samples[samples.length - 1]?.n ?? 0, pub.events, STALL_MS[o.jetstream ? 'jetstream' : 'core'])
    await new Promise((r) => setTimeout(r, 2 * SAMPLE_MS))
    nul.send({ type: 'finish' })
    const end = await nul.waitFor('result', 10_000)
    samples.push({ at: Date.now(), n: end.events })
    const { rate, endAt } = windowRate(samples, warmupEnd(results, o))
    const pubRate = publishRate(results)
    return {
      eventsPerSec: round(rate),
      eventsPublished: pub.events,
      eventsReceived: end.events,
      publishEventsPerSec: round(pubRate),
      publisherBound: end.events >= pub.events && rate >= pubRate * 0.97,
      cpuPct: round((end.cpuMs / Math.max(1, endAt - pub.startedAt)) * 100, 1),
    }
  } finally {
    for (const p of pubs) p.kill()
    nul.kill()
    if (jsm && stream) await jsm.streams.delete(stream).catch(() => false)
  }
}

/** The commit the engine was built from, with "+dirty" when src/ had uncommitted changes (or "unknown"). */
function gitCommit(): string {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    return git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--', 'src') === '' ? '' : '+dirty')
  } catch {
    return 'unknown'
  }
}

/** When the publishers' warm-up ended, epoch ms. */
function warmupEnd(results: readonly PublisherResult[], o: LoadOptions): number {
  return Math.min(...results.map((r) => r.startedAt)) + o.warmupSec * 1000
}

/** The publishers' rate: all events over the span from the first start to the last end, events/s. */
function publishRate(results: readonly PublisherResult[]): number {
  const events = results.reduce((s, r) => s + r.events, 0)
  const start = Math.min(...results.map((r) => r.startedAt))
  const end = Math.max(...results.map((r) => r.endedAt))
  return events / Math.max(0.001, (end - start) / 1000)
}

/** One run of `idr load`. `log` gets progress lines (stderr in the CLI). */
export async function runLoad(o: LoadOptions, log: (line: string) => void = () => {}): Promise<LoadResult> {
  const loadBefore = loadavg()[0]!
  const tag = Math.floor(Math.random() * 36 ** 4).toString(36).padStart(4, '0')
  let server: SpawnedNats | undefined
  let engine: EngineHandle | undefined
  let nc: NatsConnection | undefined
  const samplers: ProcSampler[] = []
  try {
    if (o.spawnNats) {
      server = await spawnNatsServer()
      log(`nats-server ${server.version} on ${server.url}`)
    }
    const url = server?.url ?? o.nats!
    nc = await connect({ servers: url, name: 'idr-load', maxReconnectAttempts: 10 })
    let ceiling: LoadResult['ceiling'] = null
    if (!o.noCeiling) {
      log('ceiling phase: publishers → NATS → null consumer')
      ceiling = await ceilingPhase(o, url, nc, tag)
    }

    log('engine phase: publishers → NATS → idr serve')
    const stream = `IDR_LOAD_${tag}`
    engine = o.attach
      ? attachedEngine(o.enginePid)
      : await spawnEngine({
        url, prefix: o.prefix, partitionsOf: o.partitionsOf, jetstream: o.jetstream, landing: o.landing, landingInline: o.landingInline, stream, maxResident: o.maxResident, poolThreads: o.poolThreads,
        nodeArgs: o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [],
      })
    const engineSampler = engine.pid === undefined ? undefined : new ProcSampler(engine.pid)
    const natsSampler = server ? new ProcSampler(server.pid) : undefined
    for (const s of [engineSampler, natsSampler]) if (s) samplers.push(s)
    const statsAtStart = await engineStats(nc, o.prefix)
    const rssBefore = engineSampler?.rssBytes()
    const pubs = await startPublishers(publisherConfigs(o, url, o.prefix, true, `${tag}e`))
    engineSampler?.mark()
    natsSampler?.mark()
    const base = statsAtStart?.eventsApplied ?? 0
    const samples: Sample[] = [{ at: Date.now(), n: 0 }]
    let latest: EngineStats | undefined = statsAtStart
    let latestAt = Date.now()
    let polling = true
    const poller = (async () => {
      while (polling) {
        const s = await engineStats(nc!, o.prefix)
        if (s) {
          latest = s
          latestAt = Date.now()
          samples.push({ at: latestAt, n: s.eventsApplied - base })
        }
        await new Promise((r) => setTimeout(r, SAMPLE_MS))
      }
    })()
    let pub: Published
    let results: PublisherResult[]
    try {
      pub = await publish(pubs, o)
      // busy: its stats are late (the event loop is behind) or it still holds events or refits
      const busy = (): boolean => Date.now() - latestAt > 4 * SAMPLE_MS || (latest?.queued ?? 0) > 0 || (latest?.refitsInFlight ?? 0) > 0
      await settle(() => (latest?.eventsApplied ?? base) - base, pub.events, STALL_MS[o.jetstream ? 'jetstream' : 'core'], busy)
      results = await finishPublishers(pubs)
    } finally {
      for (const p of pubs) p.kill()
      polling = false
      await poller
    }
    const final = await engineStats(nc, o.prefix)
    if (final) {
      latest = final
      samples.push({ at: Date.now(), n: final.eventsApplied - base })
    }
    const { rate, endAt } = windowRate(samples, warmupEnd(results, o))
    const usage = engineSampler?.usage()
    const natsUsage = natsSampler?.usage()
    const applied = (latest?.eventsApplied ?? base) - base
    const pubRate = publishRate(results)
    const resident = latest?.residentActors ?? 0
    const rssAfter = engineSampler?.rssBytes()
    const pubCpuMs = results.reduce((s, r) => s + r.cpuMs, 0)
    const latency = summarise(mergeHistograms(results.map((r) => r.latency)))
    const refitLatency = summarise(mergeHistograms(results.map((r) => r.refitLatency)))
    const eventsPerSec = round(rate)
    const problems = [...engine.problems]
    const transport = o.landing ? 'landing' : o.jetstream ? 'jetstream' : 'core'
    // the relay's own account of the landing path: how long raw messages waited (final stats: the whole run)
    const landing = (final as { landing?: LoadResult['landing'] } | undefined)?.landing
    await engine.stop()
    engine = undefined
    const result: LoadResult = {
      mode: `${transport}-${o.batch === 1 ? 'single' : `batch${o.batch}`}`,
      transport,
      batch: o.batch,
      scenario: o.scenario,
      active: o.active ?? o.households,
      rate: o.rate === 0 ? 'max' : o.rate,
      durationSec: o.durationSec,
      warmupSec: o.warmupSec,
      households: o.households,
      publishers: o.publishers,
      partitions: o.partitionsOf,
      maxResident: o.maxResident,
      eventsPerSec,
      ceilingEventsPerSec: ceiling?.eventsPerSec ?? null,
      ratioToCeiling: ceiling && ceiling.eventsPerSec > 0 ? round(eventsPerSec / ceiling.eventsPerSec, 3) : null,
      latencyMs: { ...latency, missing: results.reduce((s, r) => s + r.missing, 0) },
      refitLatencyMs: refitLatency,
      rssMb: rssAfter === undefined ? null : mb(rssAfter),
      publish: {
        eventsPerSec: round(pubRate),
        events: pub.events,
        messages: results.reduce((s, r) => s + r.messages, 0),
        limited: o.rate > 0 && pubRate < o.rate * (1 - RATE_TOLERANCE),
        cpuPct: round((pubCpuMs / Math.max(1, pub.endedAt - pub.startedAt)) * 100, 1),
      },
      ceiling,
      engine: {
        eventsPublished: pub.events,
        eventsApplied: applied,
        eventsRejected: (latest?.eventsRejected ?? 0) - (statsAtStart?.eventsRejected ?? 0),
        rejectedByReason: Object.fromEntries(Object.entries(latest?.rejectedByReason ?? {}).map(([code, n]) => [code, n - (statsAtStart?.rejectedByReason[code] ?? 0)])),
        dlqRecords: (latest?.dlqRecords ?? 0) - (statsAtStart?.dlqRecords ?? 0),
        assignmentsOut: (latest?.assignmentsOut ?? 0) - (statsAtStart?.assignmentsOut ?? 0),
        keptUp: applied >= pub.events && rate >= pubRate * 0.97,
        households: latest?.households ?? 0,
        residentActors: resident,
        passivated: latest?.passivated ?? 0,
        rehydrated: latest?.rehydrated ?? 0,
        cpuPct: usage?.cpuPct ?? null,
        rssMbBefore: rssBefore === undefined ? null : mb(rssBefore),
        rssMbPeak: usage?.rssMbPeak ?? null,
        bytesPerResidentHousehold: rssBefore !== undefined && rssAfter !== undefined && resident > 0 ? round((rssAfter - rssBefore) / resident) : null,
        catchUpSec: round(Math.max(0, endAt - pub.endedAt) / 1000, 2),
        problems,
      },
      ...(landing ? { landing } : {}),
      natsServerCpuPct: natsUsage?.cpuPct ?? null,
      versions: { node: process.version, natsServer: server?.version ?? 'external', commit: gitCommit() },
      loadAvg: { before: round(loadBefore, 2), after: round(loadavg()[0]!, 2) },
      at: new Date().toISOString(),
    }
    return result
  } finally {
    for (const s of samplers) s.stop()
    await engine?.stop()
    await nc?.close().catch(() => undefined)
    await server?.stop()
  }
}
