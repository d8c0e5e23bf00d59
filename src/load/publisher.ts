// A publisher process of `idr load` (forked by the orchestrator, driven over IPC; src/load/protocol.ts).
// It generates events (generator.ts), routes them to <prefix>.evp.<partition>.<account> itself, paces them
// at a fixed rate or as fast as it can, and measures event → assignment latency with its own clock: the
// time from publishing a session's play to the arrival of that session's `open` assignment here.
import { performance } from 'node:perf_hooks'
import { setImmediate as yieldLoop, setTimeout as sleep } from 'node:timers/promises'
import { decode } from '@msgpack/msgpack'
import { connect, type NatsConnection } from 'nats'
import { LoadGenerator, REFIT_POINTS, type LoadEvent } from './generator.js'
import { encodeEvent, encodeEvents } from './encode.js'
import { encodeHistogram, latencyHistogram } from '../histogram.js'
import type { FromPublisher, PublisherConfig, PublisherResult, ToPublisher } from './protocol.js'

/** Events generated per turn of the loop at full speed (then the socket gets a chance to drain). */
const MAX_CHUNK = 1_000
/** At full speed, a round trip to the server every this many turns bounds the client's outbound buffer. */
const FLUSH_EVERY_TURNS = 16
/** Plays awaiting their open assignment; beyond this the oldest are counted missing (bounded memory). */
const MAX_PENDING = 2_000_000
/** At a fixed rate, a partly filled batch waits at most this long for more events, ms (a producer's linger). */
export const LINGER_MS = 5

const send = (m: FromPublisher): void => { process.send?.(m) }

interface Assignment { stage?: string, eventId?: string }

class Publisher {
  private readonly gen: LoadGenerator
  /** Play id → performance.now() at publish, for measured plays. */
  private readonly pending = new Map<string, { t: number, refit: boolean }>()
  private readonly hist = latencyHistogram()
  private readonly refitHist = latencyHistogram()
  private readonly buffers: LoadEvent[][]
  private readonly bufferPlays: { id: string, refit: boolean }[][]
  private measuring = false
  private unmatched = 0
  private missing = 0
  events = 0
  messages = 0

  constructor(private readonly nc: NatsConnection, private readonly c: PublisherConfig) {
    this.gen = new LoadGenerator({ households: c.households, first: c.firstHousehold, seed: c.seed, partitionsOf: c.partitionsOf, idPrefix: c.idPrefix, scenario: c.scenario, active: c.active })
    this.buffers = Array.from({ length: c.partitionsOf }, () => [])
    this.bufferPlays = Array.from({ length: c.partitionsOf }, () => [])
    if (c.latency) {
      nc.subscribe(`${c.prefix}.out.assign.*`, { callback: (err, msg) => { if (!err) this.onAssignment(msg.data) } })
    }
  }

  private onAssignment(data: Uint8Array): void {
    const now = performance.now()
    const a = decode(data) as Assignment
    if (a.stage !== 'open' || a.eventId === undefined) return
    const p = this.pending.get(a.eventId)
    if (!p) {
      this.unmatched++
      return
    }
    this.pending.delete(a.eventId)
    const us = Math.max(1, Math.round((now - p.t) * 1000))
    this.hist.recordValue(us)
    if (p.refit) this.refitHist.recordValue(us)
  }

  /** Generates n events and publishes them (batches per partition, the rest flushed at the end). */
  private emit(n: number): void {
    const { batch, prefix } = this.c
    for (let k = 0; k < n; k++) {
      const e = this.gen.nextEvent()
      const p = this.gen.partition
      if (batch === 1) {
        const t = performance.now()
        this.nc.publish(`${prefix}.evp.${p}.${e.account}`, encodeEvent(e))
        this.messages++
        if (this.measuring && e.kind === 'play') this.track(e.id, t, REFIT_POINTS.has(this.gen.closed))
        continue
      }
      const buf = this.buffers[p]!
      buf.push(e)
      if (this.measuring && e.kind === 'play') this.bufferPlays[p]!.push({ id: e.id, refit: REFIT_POINTS.has(this.gen.closed) })
      if (buf.length >= batch) this.flush(p)
    }
    this.events += n
  }

  /** Publishes every partly filled batch. */
  private flushAll(): void {
    for (let p = 0; p < this.buffers.length; p++) if (this.buffers[p]!.length > 0) this.flush(p)
  }

  private flush(p: number): void {
    const buf = this.buffers[p]!
    const t = performance.now()
    this.nc.publish(`${this.c.prefix}.evp.${p}.${buf[0]!.account}`, encodeEvents(buf))
    this.messages++
    buf.length = 0
    const plays = this.bufferPlays[p]!
    for (const q of plays) this.track(q.id, t, q.refit)
    plays.length = 0
  }

  private track(id: string, t: number, refit: boolean): void {
    if (!this.c.latency) return
    if (this.pending.size >= MAX_PENDING) {
      const oldest = this.pending.keys().next().value as string
      this.pending.delete(oldest)
      this.missing++
    }
    this.pending.set(id, { t, refit })
  }

  /** Publishes for durationMs: at `rate` events/s (in 1 ms ticks), or as fast as the loop can. */
  async run(): Promise<{ startedAt: number, endedAt: number, warmupEvents: number }> {
    const { rate, durationMs, warmupMs } = this.c
    const startedAt = Date.now()
    const t0 = performance.now()
    let warmupEvents = -1
    let turns = 0
    let lingerFrom = t0
    for (;;) {
      const elapsed = performance.now() - t0
      if (elapsed >= durationMs) break
      if (!this.measuring && elapsed >= warmupMs) {
        this.measuring = true
        warmupEvents = this.events
      }
      if (rate === 0) {
        this.emit(MAX_CHUNK)
        this.flushAll()
        if (++turns % FLUSH_EVERY_TURNS === 0) await this.nc.flush()
        else await yieldLoop()
        continue
      }
      const due = Math.floor((rate * Math.min(elapsed, durationMs)) / 1000) - this.events
      if (due > 0) this.emit(Math.min(due, MAX_CHUNK * 10))
      const now = performance.now()
      if (now - lingerFrom >= LINGER_MS) {
        this.flushAll()
        lingerFrom = now
      }
      // a round trip now and then keeps the client's buffer bounded if the server falls behind
      if (++turns % 256 === 0) await this.nc.flush()
      else await sleep(1)
    }
    this.flushAll()
    await this.nc.flush()
    if (warmupEvents < 0) warmupEvents = this.events
    return { startedAt, endedAt: Date.now(), warmupEvents }
  }

  result(run: { startedAt: number, endedAt: number, warmupEvents: number }): PublisherResult {
    return {
      events: this.events, messages: this.messages, ...run, accounts: this.gen.accounts,
      cpuMs: 0,
      latency: this.c.latency ? encodeHistogram(this.hist) : undefined,
      refitLatency: this.c.latency ? encodeHistogram(this.refitHist) : undefined,
      missing: this.missing + this.pending.size,
      unmatched: this.unmatched,
    }
  }
}

async function main(config: PublisherConfig): Promise<void> {
  const cpu0 = process.cpuUsage()
  const nc = await connect({ servers: config.url, name: `idr-load-publisher-${config.index}`, maxReconnectAttempts: 10 })
  const pub = new Publisher(nc, config)
  await nc.flush() // the assignment subscription is registered before the first event
  const go = new Promise<void>((resolve) => process.on('message', (m: ToPublisher) => { if (m.type === 'go') resolve() }))
  send({ type: 'ready' })
  await go
  const finish = new Promise<void>((resolve) => process.on('message', (m: ToPublisher) => { if (m.type === 'finish') resolve() }))
  const run = await pub.run()
  send({ type: 'published', events: pub.events, endedAt: run.endedAt })
  await finish
  const cpu = process.cpuUsage(cpu0)
  send({ type: 'result', result: { ...pub.result(run), cpuMs: (cpu.user + cpu.system) / 1000 } })
  await nc.close()
  process.disconnect?.()
}

process.once('message', (m: ToPublisher) => {
  if (m.type !== 'start') return
  main(m.config).catch((err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? err.message : String(err) })
    process.exitCode = 1
    process.disconnect?.()
  })
})
