// The landing relay on its own thread (src/transport/landing-thread.ts starts it): its own NATS connection,
// its own ingress under the engine's keys and limits, the same LandingRelay as on the event loop. The engine's
// event loop then spends nothing on raw input: the relay's decode, pseudonymisation, encoding and JetStream
// round trips run beside it (measured in docs/benchmarks.md, "The landing path").
import { parentPort, workerData } from 'node:worker_threads'
import { connect } from 'nats'
import { IdrError } from '../errors.js'
import { relayOn } from './landing.js'
import type { RelayWorkerData, ToRelayWorker, FromRelayWorker } from './landing-thread.js'

/** Ages are sent to the engine in batches, at most this often (ms). */
const AGES_EVERY_MS = 100
/** Counts and age percentiles are sent this often (ms). */
const STATS_EVERY_MS = 500

const port = parentPort
if (!port) throw new Error('landing-worker.ts runs as a worker thread')
const d = workerData as RelayWorkerData
const post = (m: FromRelayWorker): void => port.postMessage(m)
const failure = (err: unknown): { code: string, message: string } =>
  ({ code: err instanceof IdrError ? err.code : 'NATS_STREAM', message: err instanceof Error ? err.message : String(err) })

const nc = await connect({ servers: d.url.split(','), user: d.user, pass: d.password, name: `${d.name}-landing-relay`, maxReconnectAttempts: -1 })
let ages: number[] = []
const relay = relayOn(nc, d, (err) => post({ type: 'error', ...failure(err) }), (ms) => { ages.push(ms) })
const flushAges = (): void => {
  if (ages.length === 0) return
  post({ type: 'ages', ms: ages })
  ages = []
}
const timers = [
  setInterval(flushAges, AGES_EVERY_MS),
  setInterval(() => post({ type: 'stats', stats: relay.stats }), STATS_EVERY_MS),
]

port.on('message', (m: ToRelayWorker) => {
  switch (m.type) {
    case 'ensure':
      relay.ensureStream().then((setup) => post({ type: 'ensured', setup }), (err: unknown) => post({ type: 'failed', ...failure(err) }))
      return
    case 'start':
      relay.start()
      return
    case 'stop':
      void (async () => {
        await relay.stop()
        for (const t of timers) clearInterval(t)
        flushAges()
        await nc.drain().catch(() => undefined)
        post({ type: 'stopped', stats: relay.stats })
      })()
  }
})
post({ type: 'connected' })
