// How the demo talks to the engine: over the in-process bus (the embedded default) or over a real NATS
// server, with the same subjects. The demo is an ordinary client: it publishes events, subscribes to
// assignments and dead letters, and asks the request-reply API.
import { connect, type NatsConnection } from 'nats'
import type { Bus } from '../runtime/bus.js'
import { InProcessBus } from '../transport/in-process.js'
import { NatsBus } from '../transport/nats.js'

export interface DemoLink {
  /** The bus the engine runs on. */
  readonly bus: Bus
  /** Sends one event message; resolves when the link can take more (in-process backpressure). */
  send(subject: string, data: Uint8Array): Promise<void> | void
  subscribe(pattern: string, fn: (subject: string, data: Uint8Array) => void): void
  request(subject: string, data: Uint8Array): Promise<Uint8Array>
  /** Resolves when everything sent has reached the server (NATS) or the engine (in-process). */
  flush(): Promise<void>
  /** Resolves when every output the engine has published so far has reached the demo's subscriptions. */
  settle(): Promise<void>
  close(): Promise<void>
}

/** Messages the in-process bus queues before send() waits: small, so latency measures work, not a backlog. */
export const DEMO_HIGH_WATER = 2

export function inProcessLink(): DemoLink {
  const bus = new InProcessBus({ highWater: DEMO_HIGH_WATER })
  return {
    bus,
    send: (subject, data) => bus.send(subject, data),
    subscribe: (pattern, fn) => { bus.subscribe(pattern, fn) },
    request: (subject, data) => bus.request(subject, data),
    flush: () => bus.whenDelivered(),
    settle: async () => {}, // local subscribers are called synchronously
    close: async () => {},
  }
}

/** The engine on NATS core with plain subjects (no server mapping needed); the demo is a second connection. */
export async function natsLink(url: string, onError: (err: unknown) => void): Promise<DemoLink> {
  const bus = await NatsBus.connect({ url, mode: 'core', mapped: false, partitions: [0], partitionsOf: 1, onError })
  const nc: NatsConnection = await connect({ servers: url, name: 'idr-demo' })
  return {
    bus,
    send: (subject, data) => { nc.publish(subject, data) },
    subscribe: (pattern, fn) => {
      nc.subscribe(pattern, { callback: (err, msg) => { if (err) onError(err); else fn(msg.subject, msg.data) } })
    },
    request: async (subject, data) => (await nc.request(subject, data, { timeout: 10_000 })).data,
    flush: () => nc.flush(),
    // the engine's PING is answered after the server took its publishes; ours after it delivered them to us
    settle: async () => { await bus.nc.flush(); await nc.flush() },
    close: async () => { await nc.drain() },
  }
}

/** A URL without its credentials, for reports and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//')
}
