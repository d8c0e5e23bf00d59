// The landing relay on a worker thread (src/transport/landing-worker.ts), seen from the engine's side: the same
// surface as LandingRelay (ensureStream, start, stop, stats), so the bus does not care where the relay runs.
// A worker that dies while the engine runs is started again after RELAY_RESTART_MS: what it had not
// acknowledged is delivered again to the new one (docs/privacy.md, "The landing path").
import { Worker } from 'node:worker_threads'
import { IdrError } from '../errors.js'
import type { LatencySummary } from '../histogram.js'
import { builtFile } from '../paths.js'
import {
  addLandingCounts, landingSettings, NO_LANDING_COUNTS, type LandingCounts, type LandingStats, type LandingStorage, type RelaySetup,
} from './landing.js'

/** A relay thread that exited unasked is started again after this long, ms. */
export const RELAY_RESTART_MS = 1_000
/** How long stop() waits for the thread to finish what it relays, ms. */
export const RELAY_STOP_TIMEOUT_MS = 10_000

/** What the relay thread is started with (the keys are secrets: they stay in this process's memory). */
export interface RelayWorkerData extends RelaySetup {
  readonly user: string | undefined
  readonly password: string | undefined
  readonly name: string
}

export type ToRelayWorker = { type: 'ensure' } | { type: 'start' } | { type: 'stop' }
export type FromRelayWorker =
  | { type: 'connected' }
  | { type: 'ensured', setup: 'created' | 'adopted' }
  | { type: 'failed' | 'error', code: string, message: string }
  | { type: 'ages', ms: number[] }
  | { type: 'stats' | 'stopped', stats: LandingStats }

const EMPTY_AGES: LatencySummary = { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 }

/** The landing relay, run on a worker thread with its own NATS connection. */
export class LandingRelayThread {
  readonly stream: string
  readonly maxAgeMs: number
  readonly maxBytes: number
  readonly storage: LandingStorage
  private worker: Worker | undefined
  private running = false
  private stopping = false
  private latest: LandingStats = { ...NO_LANDING_COUNTS, ageMs: EMPTY_AGES }
  /** Counts of the threads that ended before this one (a restarted thread counts from 0). */
  private before: LandingCounts = NO_LANDING_COUNTS
  private waiting: ((m: FromRelayWorker) => boolean)[] = []

  constructor(private readonly data: RelayWorkerData, private readonly onError: (err: unknown) => void, private readonly onAge?: (ms: number) => void) {
    // checked here, so that a wrong option fails the bus's construction rather than the thread
    ;({ stream: this.stream, maxAgeMs: this.maxAgeMs, maxBytes: this.maxBytes, storage: this.storage } = landingSettings(data.landing))
  }

  get counters(): LandingCounts {
    return addLandingCounts(this.before, this.latest)
  }

  /** The counts so far; the age percentiles are the current thread's. */
  get stats(): LandingStats {
    return { ...this.counters, ageMs: this.latest.ageMs }
  }

  /** Starts the thread (if it is not running) and has it create or adopt the landing stream. */
  async ensureStream(): Promise<'created' | 'adopted'> {
    this.worker ??= this.spawn()
    const reply = await this.ask({ type: 'ensure' }, (m) => m.type === 'ensured' || m.type === 'failed')
    if (reply.type === 'failed') throw new IdrError(reply.code, reply.message)
    if (reply.type !== 'ensured') throw new IdrError('NATS_STREAM', 'the landing relay thread gave no answer')
    return reply.setup
  }

  start(): void {
    this.running = true
    this.worker ??= this.spawn()
    this.worker.postMessage({ type: 'start' } satisfies ToRelayWorker)
  }

  /** Has the thread finish what it relays, acknowledge it and close its connection; then ends it. */
  async stop(): Promise<void> {
    this.stopping = true
    const w = this.worker
    if (!w) return
    try {
      const reply = await this.ask({ type: 'stop' }, (m) => m.type === 'stopped', RELAY_STOP_TIMEOUT_MS)
      if (reply.type === 'stopped') this.latest = reply.stats
    } catch (err) {
      this.onError(err)
    }
    await w.terminate()
    this.worker = undefined
  }

  /** Ends the thread at once (what it had not acknowledged is delivered again later). */
  async abort(): Promise<void> {
    this.stopping = true
    const w = this.worker
    this.worker = undefined
    await w?.terminate()
  }

  private spawn(): Worker {
    const w = new Worker(builtFile('src/transport/landing-worker.js'), { workerData: this.data })
    w.on('message', (m: FromRelayWorker) => this.receive(m))
    w.on('error', (err) => this.onError(new IdrError('LANDING_RELAY', `the landing relay thread failed: ${err.message}`, { cause: err })))
    w.on('exit', () => {
      if (this.worker !== w) return
      this.worker = undefined
      for (const settle of this.waiting.splice(0)) settle({ type: 'failed', code: 'LANDING_RELAY', message: 'the landing relay thread exited' })
      if (this.stopping || !this.running) return
      this.before = this.counters
      this.latest = { ...NO_LANDING_COUNTS, ageMs: EMPTY_AGES }
      setTimeout(() => { if (!this.stopping && this.worker === undefined) this.start() }, RELAY_RESTART_MS).unref()
    })
    return w
  }

  private receive(m: FromRelayWorker): void {
    if (m.type === 'ages') {
      if (this.onAge) for (const ms of m.ms) this.onAge(ms)
      return
    }
    if (m.type === 'stats') this.latest = m.stats
    if (m.type === 'error') this.onError(new IdrError(m.code, m.message))
    this.waiting = this.waiting.filter((settle) => !settle(m))
  }

  /** Posts `request` and resolves with the first message that `answers`, or rejects after `timeoutMs`. */
  private ask(request: ToRelayWorker, answers: (m: FromRelayWorker) => boolean, timeoutMs = this.data.jsTimeoutMs * 3): Promise<FromRelayWorker> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((s) => s !== settle)
        reject(new IdrError('NATS_TIMEOUT', `the landing relay thread did not answer "${request.type}" within ${timeoutMs} ms`))
      }, timeoutMs)
      const settle = (m: FromRelayWorker): boolean => {
        if (!answers(m)) return false
        clearTimeout(timer)
        resolve(m)
        return true
      }
      this.waiting.push(settle)
      this.worker!.postMessage(request)
    })
  }
}
