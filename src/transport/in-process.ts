// The in-process bus: the same subjects as NATS inside one process, for embedded use and `npm start`.
// Event messages queue and are delivered one at a time, waiting on the engine's backpressure; everything
// else goes synchronously to local subscribers.
import { IdrError } from '../errors.js'
import type { Bus, InboundHandler, InboundMessage, RequestHandler } from '../runtime/bus.js'
import { mappedPartition, subjectMatches, DEFAULT_PREFIX } from '../contracts/subjects.js'

export const DEFAULT_IN_PROCESS_HIGH_WATER = 1_000 // messages queued before send() waits

export interface InProcessBusOptions {
  prefix?: string
  /** Messages queued before send() waits. */
  highWater?: number
}

export class InProcessBus implements Bus {
  readonly kind = 'in-process' as const
  private readonly prefix: string
  /** Subject heads of input (plain and mapped), fixed per bus: checked on every publish. */
  private readonly inputHeads: readonly string[]
  private readonly highWater: number
  private readonly subs: { pattern: string, fn: (subject: string, data: Uint8Array) => void }[] = []
  private readonly services = new Map<string, RequestHandler>()
  private readonly queue: InboundMessage[] = []
  private handler: InboundHandler | undefined
  private delivering = false
  private spaceWaiters: (() => void)[] = []
  private emptyWaiters: (() => void)[] = []
  private intake = true

  constructor(options: InProcessBusOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX
    this.inputHeads = [`${this.prefix}.ev.`, `${this.prefix}.evp.`]
    this.highWater = options.highWater ?? DEFAULT_IN_PROCESS_HIGH_WATER
  }

  async start(handler: InboundHandler): Promise<void> {
    this.handler = handler
    this.kick()
  }

  /** Sends an event message (subject <prefix>.ev.<account>); waits while the queue is at its high-water mark. */
  async send(subject: string, data: Uint8Array): Promise<void> {
    while (this.queue.length >= this.highWater) await new Promise<void>((resolve) => this.spaceWaiters.push(resolve))
    this.publish(subject, data)
  }

  /** Resolves when every queued event message has been handed to the engine. */
  whenDelivered(): Promise<void> {
    if (this.queue.length === 0 && !this.delivering) return Promise.resolve()
    return new Promise((resolve) => this.emptyWaiters.push(resolve))
  }

  publish(subject: string, data: Uint8Array): void {
    if (this.inputHeads.some((head) => subject.startsWith(head))) {
      if (!this.intake) return
      this.queue.push({ subject, data, partition: mappedPartition(subject, this.prefix), seq: 0, timestampMs: Date.now() })
      this.kick()
      return
    }
    for (const s of this.subs) if (subjectMatches(s.pattern, subject)) s.fn(subject, data)
  }

  /** Local subscription to outputs (assignments, DLQ, ...). Returns the unsubscribe function. */
  subscribe(pattern: string, fn: (subject: string, data: Uint8Array) => void): () => void {
    const s = { pattern, fn }
    this.subs.push(s)
    return () => {
      const i = this.subs.indexOf(s)
      if (i >= 0) this.subs.splice(i, 1)
    }
  }

  serve(subject: string, handler: RequestHandler): void {
    this.services.set(subject, handler)
  }

  /** Request-reply within the process. */
  async request(subject: string, data: Uint8Array): Promise<Uint8Array> {
    const h = this.services.get(subject)
    const reply = h ? await h(data) : undefined
    if (!reply) throw new IdrError('NO_RESPONDERS', `no responder on ${subject}`)
    return reply
  }

  async stopIntake(): Promise<void> {
    await this.whenDelivered()
    this.intake = false
  }

  async close(): Promise<void> {
    this.intake = false
    this.services.clear()
  }

  private kick(): void {
    if (this.delivering || !this.handler || this.queue.length === 0) return
    this.delivering = true
    void this.deliver()
  }

  private async deliver(): Promise<void> {
    const handler = this.handler!
    while (this.queue.length > 0) {
      const m = this.queue.shift()!
      if (this.spaceWaiters.length > 0 && this.queue.length < this.highWater) this.spaceWaiters.shift()!()
      const r = handler(m)
      if (r) await r
    }
    this.delivering = false
    for (const w of this.emptyWaiters.splice(0)) w()
  }
}
