// `idr serve`: the engine as a service. Settings from defaults < config file < IDR_* < flags
// (serve-config.ts); NATS core or JetStream or the in-process bus; SQLite store; refits on a worker pool;
// /healthz /readyz /metrics; graceful drain on SIGTERM / SIGINT (docs/operations.md).
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { startHttp, type HttpServer } from '../api/http.js'
import { EngineMetrics } from '../api/metrics.js'
import { serveApi } from '../api/service.js'
import { Engine } from '../engine/engine.js'
import { IdrError } from '../errors.js'
import { createLogger, type Logger } from '../log.js'
import { RefitPool } from '../runtime/refit-pool.js'
import { Eraser, type EventStream } from '../privacy/erase.js'
import { jetStreamEvents } from '../privacy/jetstream-events.js'
import { erasurePseudonyms, KeyRing, recordKeyEpoch } from '../privacy/keyring.js'
import { startRetention } from '../privacy/retention.js'
import type { Bus } from '../runtime/bus.js'
import { openStore } from '../store/sqlite-store.js'
import { InProcessBus } from '../transport/in-process.js'
import { subjects } from '../contracts/subjects.js'
import { NatsBus, type ConnectionEvent } from '../transport/nats.js'
import type { SqliteStore } from '../store/sqlite-store.js'
import { unstoredInputWarning, watchInput } from './serve-watch.js'
import { wantsHelp } from '../options/args.js'
import { loadServeConfig } from './serve-config.js'
import { durableStream, SETTING_ROWS, type ServeConfig } from './serve-settings.js'

const HELP = `idr serve [options]: run the engine (docs/operations.md)

Settings (flag / environment / default):
${SETTING_ROWS.map((r) => `  ${r.flag.padEnd(24)} ${r.env.padEnd(26)} ${String(r.default ?? '').padEnd(22)} ${r.help}`).join('\n')}
  --config FILE            IDR_CONFIG                 a JSON file of the settings above (camelCase keys)`

/** A SQLite database's files: the database, its write-ahead log and shared memory, a rollback journal. */
const SQLITE_FILES = ['', '-wal', '-shm', '-journal'] as const

export async function serveCommand(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(HELP)
    return 0
  }
  const cfg = loadServeConfig(argv, process.env, (p) => readFileSync(p, 'utf8'))
  const log = createLogger(cfg.logLevel)
  for (const w of cfg.warnings) log.warn(w)
  // a start-up that fails leaves no database behind that this run created (a typo'd URL should not leave idr.db)
  const createdDb = !existsSync(cfg.db)
  const store = openStore(cfg.db, { partitions: cfg.of })
  const closeStore = (failed: boolean): void => {
    store.close()
    if (failed && createdDb) for (const suffix of SQLITE_FILES) rmSync(cfg.db + suffix, { force: true })
  }
  const keys = new KeyRing(cfg.pseudonymKeys)
  try {
    // before the bus: a store served with a later epoch is refused without consuming anything
    const epoch = recordKeyEpoch(store, keys, Date.now())
    if (epoch.change === 'rotated') log.warn({ fromEpoch: epoch.fromEpoch, toEpoch: epoch.toEpoch, auditSeq: epoch.audit?.seq }, 'pseudonym key rotated: devices seen before get new pseudonyms and re-link over the next sessions')
  } catch (err) {
    closeStore(true)
    throw err
  }
  let engine: Engine | undefined
  let bus: Bus | undefined
  const metrics = new EngineMetrics({
    gauges: () => {
      const s = engine?.stats()
      const nats = bus instanceof NatsBus ? { natsConnected: bus.connection.state === 'connected' } : {}
      return s
        ? { mailboxDepth: s.queued, residentActors: s.residentActors, households: s.households, snapshotLagMs: s.snapshotLagMs, poolQueue: s.refitsInFlight, ready: readiness(engine, bus).ready, ...nats }
        : { ready: false, ...nats }
    },
  })
  // resolved when the connection ends without close(): nothing more can arrive, so the process stops (exit 1)
  let connectionLost: (reason: 'nats-closed') => void = () => {}
  const lost = new Promise<'nats-closed'>((resolve) => { connectionLost = resolve })
  try {
    bus = await openBus(cfg, (err) => log.error({ err: String(err) }, 'bus handler error'), (event) => {
      onConnection(log, metrics, event)
      if (event.type === 'closed' && !event.requested) connectionLost('nats-closed')
    }, unstoredInputWarning(log, cfg.prefix, cfg.stream), (ms) => metrics.observeLandingAge(ms / 1000))
  } catch (err) {
    closeStore(true)
    throw err
  }
  const pool = cfg.poolThreads > 0 ? new RefitPool({ threads: cfg.poolThreads }) : undefined
  let http: HttpServer | undefined
  let retention: ReturnType<typeof startRetention> | undefined
  let stopWatch = (): void => {}
  const b = bus
  let e: Engine
  try {
    e = engine = new Engine({
      bus: b, store, pseudonymKey: keys, partitionsOf: cfg.of, partitions: cfg.partitions, prefix: cfg.prefix,
      refits: pool, maxResident: cfg.maxResident, mailboxMax: cfg.mailboxMax, maxQueued: cfg.maxQueued,
      snapshotIntervalMs: cfg.snapshotIntervalMs, ingress: { maxMessageBytes: cfg.maxMessageBytes, accountBinding: cfg.accountBinding }, metrics, log,
      erasedInput: (account) => eraser?.erasedInput(account),
    })
    let stream: EventStream | undefined
    if (b instanceof NatsBus && b.kind === 'jetstream') {
      // before the engine starts: a stream that cannot hold the events fails here, named (NATS_STREAM_CONFLICT)
      const setup = await b.ensureStream()
      const name = durableStream(cfg)
      bindInputStream(store, name, cfg.landing)
      log.info({ stream: name, ...setup }, 'jetstream stream ready')
      if (b.landing) {
        const relay = b.landing
        log.info({ stream: relay.stream, action: b.landingSetup, maxAgeMs: relay.maxAgeMs, maxBytes: relay.maxBytes, storage: relay.storage }, 'landing stream ready')
        metrics.readLanding(() => relay.counters)
      }
      stream = jetStreamEvents({
        jsm: await b.jetstreamManager(), stream: name, prefix: cfg.prefix, partitionsOf: cfg.of, pseudonymiser: keys.current,
        plain: b.streamSubjects?.includes(subjects(cfg.prefix).events) ?? false, keyed: cfg.landing,
      })
    }
    const eraser: Eraser = new Eraser({
      store, runtime: e.runtime, stream, partitionsOf: cfg.of,
      pseudonyms: erasurePseudonyms(keys),
    })
    serveApi(e, b, eraser, {
      ...(b instanceof NatsBus && b.landing ? { moreStats: () => ({ landing: b.landing?.stats }) } : {}),
      onError: (err) => log.error({ err: String(err) }, 'privacy request failed'),
    })
    await e.start()
    stopWatch = watchInput({ log, messagesIn: () => e.stats().messagesIn, idleWarningMs: cfg.idleWarningMs, prefix: cfg.prefix, of: cfg.of, jetstream: cfg.jetstream || cfg.landing })
    const retentionMs = cfg.retentionDays * 86_400_000
    retention = startRetention({
      store, runtime: e.runtime, retentionMs, intervalMs: cfg.retentionIntervalMs, firstPassAfterMs: cfg.retentionIntervalMs,
      onPass: (r) => { if (r.households > 0) log.info({ ...r }, 'retention pass purged') },
      onError: (err) => log.error({ err: String(err) }, 'retention pass failed; the next one is on schedule'),
    })
    // stream deletions an erasure left undone (a crash between its two steps) are finished now
    eraser.settlePending().then(
      (n) => { if (n > 0) log.info({ messages: n }, 'finished pending stream erasures') },
      (err: unknown) => log.error({ err: String(err) }, 'pending stream erasures failed; they are retried at the next start'),
    )
    if (cfg.http !== undefined) {
      http = await startHttp({
        port: cfg.http, metrics,
        // a connection closed for good never comes back: restart the process
        health: () => ({ live: e.phase !== 'stopped' && !(b instanceof NatsBus && b.connection.state === 'closed') }),
        ready: () => readiness(e, b),
      })
    }
  } catch (err) {
    // nothing may keep the process alive after a failed start: the connection, the pool's threads, timers
    log.error({ code: err instanceof IdrError ? err.code : undefined, err: String(err) }, 'start-up failed')
    await retention?.stop()
    await (b instanceof NatsBus ? b.destroy() : b.close()).catch(() => {})
    await pool?.close()
    closeStore(true)
    throw err
  }
  log.info({ bus: bus.kind, partitions: cfg.partitions, of: cfg.of, db: cfg.db, http: http?.port, poolThreads: cfg.poolThreads, keyEpochs: keys.epochs }, 'serving')
  const signal = await Promise.race([lost, new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })])
  log.info({ signal }, 'draining')
  let code = signal === 'nats-closed' ? 1 : 0
  stopWatch()
  await retention?.stop()
  try {
    await e.drain(cfg.drainTimeoutMs)
  } catch (err) {
    log.error({ err: String(err) }, 'drain failed')
    code = 1
  }
  if (bus instanceof NatsBus && bus.landing) log.info({ ...bus.landing.stats }, 'landing relay stopped')
  await pool?.close()
  await http?.close()
  closeStore(false)
  log.info({ code }, 'stopped')
  return code
}

async function openBus(
  cfg: ServeConfig, onError: (err: unknown) => void, onConnection: (event: ConnectionEvent) => void, unstored: () => void, onAge: (ms: number) => void,
): Promise<Bus> {
  if (cfg.nats === undefined) return new InProcessBus({ prefix: cfg.prefix })
  // the landing path's relay pseudonymises with its own ingress: the same keys, limits and binding as the engine's
  const landing = {
    stream: cfg.landingStream, maxAgeMs: cfg.landingMaxAgeMs, maxBytes: cfg.landingMaxBytes, storage: cfg.landingStorage,
    keys: cfg.pseudonymKeys, ingress: { maxMessageBytes: cfg.maxMessageBytes, accountBinding: cfg.accountBinding }, thread: cfg.landingThread, onAge,
  }
  return NatsBus.connect({
    url: cfg.nats, user: cfg.natsUser, password: cfg.natsPassword, mode: cfg.jetstream || cfg.landing ? 'jetstream' : 'core', prefix: cfg.prefix,
    partitions: cfg.partitions, partitionsOf: cfg.of, stream: durableStream(cfg), onError, retentionMs: cfg.retentionDays * 86_400_000,
    jetstreamTimeoutMs: cfg.jetstreamTimeoutMs, onConnection, ...(cfg.landing ? { landing } : { onUnstoredInput: unstored }),
  })
}

/** The meta entry naming the JetStream stream whose sequences the store's positions are. */
const INPUT_STREAM_META = 'input.stream'

/**
 * Positions are sequences of one stream: a store whose positions belong to another stream is refused
 * (STREAM_CHANGED), since its events would be skipped or applied twice by position. A store without the entry
 * (filled before it existed) read the raw stream: it is refused on the keyed stream if it holds positions.
 */
function bindInputStream(store: SqliteStore, name: string, keyed: boolean): void {
  const recorded = store.getMeta(INPUT_STREAM_META)
  const held = store.positions().size > 0
  if (recorded === name || (recorded === undefined && !(keyed && held))) {
    if (recorded === undefined) store.setMeta(INPUT_STREAM_META, name)
    return
  }
  throw new IdrError('STREAM_CHANGED', `${store.file} holds positions in JetStream stream ${recorded ?? 'of the raw input'}, not ${name}: ` +
    'positions of one stream mean nothing in another. Serve it with that stream, or start from an empty database (docs/privacy.md, "Moving to the landing path").')
}

/** Ready when the engine runs and its NATS connection is up (a reason for the orchestrator otherwise). */
function readiness(engine: Engine | undefined, bus: Bus | undefined): { ready: true } | { ready: false, reason: string } {
  if (engine?.phase !== 'running') return { ready: false, reason: engine?.phase ?? 'starting' }
  if (bus instanceof NatsBus && bus.connection.state !== 'connected') return { ready: false, reason: `nats-${bus.connection.state}` }
  return { ready: true }
}

/** Logs a change of the NATS connection (no payloads; servers as host:port) and counts losses and returns. */
function onConnection(log: Logger, metrics: EngineMetrics, event: ConnectionEvent): void {
  switch (event.type) {
    case 'disconnect':
      metrics.natsDisconnected()
      return log.warn({ server: event.server }, 'nats disconnected; reconnecting')
    case 'reconnecting':
      return log.debug({ server: event.server }, 'nats reconnect attempt')
    case 'reconnect':
      metrics.natsReconnected()
      if (event.droppedOutputs > 0) log.error({ dropped: event.droppedOutputs }, 'outputs published while disconnected went past the hold and were dropped')
      return log.info({ server: event.server, downMs: event.downMs, heldOutputs: event.heldOutputs }, 'nats reconnected')
    case 'permission-error':
      return log.error({ operation: event.operation, subject: event.subject }, 'nats permissions violation: the server refused an operation of this user')
    case 'server-error':
      return log.error({ code: event.code }, 'nats server error')
    case 'lame-duck':
      return log.warn({ server: event.server }, 'nats server in lame duck mode: it will close this connection soon')
    case 'servers-changed':
      return log.info({ added: event.added, deleted: event.deleted }, 'nats cluster servers changed')
    case 'stale':
      return log.warn('nats connection stale (no answer to pings); reconnecting')
    case 'closed':
      if (event.requested) return log.debug('nats connection closed')
      return log.error({ err: event.error }, 'nats connection closed for good: nothing more can arrive; stopping')
  }
}
