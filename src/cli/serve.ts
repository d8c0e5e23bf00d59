// `idr serve`: the engine as a service. Settings from defaults < config file < IDR_* < flags
// (serve-config.ts); NATS core or JetStream or the in-process bus; SQLite store; refits on a worker pool;
// /healthz /readyz /metrics; graceful drain on SIGTERM / SIGINT (docs/operations.md).
import { readFileSync } from 'node:fs'
import { startHttp, type HttpServer } from '../api/http.js'
import { EngineMetrics } from '../api/metrics.js'
import { serveApi } from '../api/service.js'
import { Engine } from '../engine/engine.js'
import { createLogger } from '../log.js'
import { RefitPool } from '../model/refit-pool.js'
import { Eraser, type EventStream } from '../privacy/erase.js'
import { jetStreamEvents } from '../privacy/jetstream-events.js'
import { erasurePseudonyms, KeyRing, recordKeyEpoch } from '../privacy/keyring.js'
import { startRetention } from '../privacy/retention.js'
import type { Bus } from '../runtime/bus.js'
import { openStore } from '../store/sqlite-store.js'
import { InProcessBus } from '../transport/in-process.js'
import { DEFAULT_STREAM, NatsBus } from '../transport/nats.js'
import { loadServeConfig, SETTING_ROWS, type ServeConfig } from './serve-config.js'

const HELP = `idr serve [options]: run the engine (docs/operations.md)

Settings (flag / environment / default):
${SETTING_ROWS.map((r) => `  ${r.flag.padEnd(24)} ${r.env.padEnd(26)} ${String(r.default ?? '').padEnd(22)} ${r.help}`).join('\n')}
  --config FILE            IDR_CONFIG                 a JSON file of the settings above (camelCase keys)`

export async function serveCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP)
    return 0
  }
  const cfg = loadServeConfig(argv, process.env, (p) => readFileSync(p, 'utf8'))
  const log = createLogger(cfg.logLevel)
  for (const w of cfg.warnings) log.warn(w)
  const store = openStore(cfg.db, { partitions: cfg.of })
  const keys = new KeyRing(cfg.pseudonymKeys)
  try {
    // before the bus: a store served with a later epoch is refused without consuming anything
    const epoch = recordKeyEpoch(store, keys, Date.now())
    if (epoch.change === 'rotated') log.warn({ fromEpoch: epoch.fromEpoch, toEpoch: epoch.toEpoch, auditSeq: epoch.audit?.seq }, 'pseudonym key rotated: devices seen before get new pseudonyms and re-link over the next sessions')
  } catch (err) {
    store.close()
    throw err
  }
  const bus: Bus = await openBus(cfg, (err) => log.error({ err: String(err) }, 'bus handler error'))
  const pool = cfg.poolThreads > 0 ? new RefitPool({ threads: cfg.poolThreads }) : undefined
  let engine: Engine | undefined
  const metrics = new EngineMetrics({
    gauges: () => {
      const s = engine?.stats()
      return s
        ? { mailboxDepth: s.queued, residentActors: s.residentActors, households: s.households, snapshotLagMs: s.snapshotLagMs, poolQueue: s.refitsInFlight, ready: engine?.phase === 'running' }
        : { ready: false }
    },
  })
  engine = new Engine({
    bus, store, pseudonymKey: keys, partitionsOf: cfg.of, partitions: cfg.partitions, prefix: cfg.prefix,
    refits: pool, maxResident: cfg.maxResident, mailboxMax: cfg.mailboxMax, maxQueued: cfg.maxQueued,
    snapshotIntervalMs: cfg.snapshotIntervalMs, ingress: { maxMessageBytes: cfg.maxMessageBytes, accountBinding: cfg.accountBinding }, metrics, log,
    erasedInput: (account) => eraser?.erasedInput(account),
  })
  let stream: EventStream | undefined
  if (bus instanceof NatsBus && bus.kind === 'jetstream') {
    stream = jetStreamEvents({ jsm: await bus.nc.jetstreamManager(), stream: cfg.stream ?? DEFAULT_STREAM, prefix: cfg.prefix, partitionsOf: cfg.of, pseudonymiser: keys.current })
  }
  const eraser: Eraser = new Eraser({
    store, runtime: engine.runtime, stream, partitionsOf: cfg.of,
    pseudonyms: erasurePseudonyms(keys),
  })
  serveApi(engine, bus, eraser)
  await engine.start()
  const retentionMs = cfg.retentionDays * 86_400_000
  const retention = startRetention({
    store, runtime: engine.runtime, retentionMs, intervalMs: cfg.retentionIntervalMs, firstPassAfterMs: cfg.retentionIntervalMs,
    onPass: (r) => { if (r.households > 0) log.info({ ...r }, 'retention pass purged') },
    onError: (err) => log.error({ err: String(err) }, 'retention pass failed; the next one is on schedule'),
  })
  // stream deletions an erasure left undone (a crash between its two steps) are finished now
  eraser.settlePending().then(
    (n) => { if (n > 0) log.info({ messages: n }, 'finished pending stream erasures') },
    (err: unknown) => log.error({ err: String(err) }, 'pending stream erasures failed; they are retried at the next start'),
  )
  const e = engine
  let http: HttpServer | undefined
  if (cfg.http !== undefined) {
    http = await startHttp({
      port: cfg.http, metrics,
      health: () => ({ live: e.phase !== 'stopped' }),
      ready: () => (e.phase === 'running' ? { ready: true } : { ready: false, reason: e.phase }),
    })
  }
  log.info({ bus: bus.kind, partitions: cfg.partitions, of: cfg.of, db: cfg.db, http: http?.port, poolThreads: cfg.poolThreads, keyEpochs: keys.epochs }, 'serving')
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  log.info({ signal }, 'draining')
  let code = 0
  await retention.stop()
  try {
    await e.drain(cfg.drainTimeoutMs)
  } catch (err) {
    log.error({ err: String(err) }, 'drain failed')
    code = 1
  }
  await pool?.close()
  await http?.close()
  store.close()
  log.info({ code }, 'stopped')
  return code
}

async function openBus(cfg: ServeConfig, onError: (err: unknown) => void): Promise<Bus> {
  if (cfg.nats === undefined) return new InProcessBus({ prefix: cfg.prefix })
  return NatsBus.connect({
    url: cfg.nats, user: cfg.natsUser, password: cfg.natsPassword, mode: cfg.jetstream ? 'jetstream' : 'core', prefix: cfg.prefix,
    partitions: cfg.partitions, partitionsOf: cfg.of, stream: cfg.stream, onError, retentionMs: cfg.retentionDays * 86_400_000,
  })
}
