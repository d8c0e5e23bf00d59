// The engine's HTTP surface for orchestrators and scrapers: /healthz (liveness), /readyz (readiness), /metrics.
// Plain node:http; three routes do not need a framework.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export const DEFAULT_HTTP_HOST = '127.0.0.1'

export interface HttpOptions {
  /** TCP port; 0 = an ephemeral port (read it from the result). */
  port: number
  /** Interface to bind. Default 127.0.0.1 (loopback only); '0.0.0.0' or '::' to expose it. */
  host?: string
  metrics: { text(): Promise<string>, readonly contentType: string }
  /** Liveness: false means the process should be restarted. */
  health: () => { live: boolean }
  /** Readiness: false means do not route work here yet (or any more); `reason` says why. */
  ready: () => { ready: boolean, reason?: string }
  /** Told of a callback that threw (the request got a 500). */
  onError?: (err: unknown) => void
}

export interface HttpServer {
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number
  /** Stops accepting connections, lets requests in flight finish, closes idle keep-alive connections. */
  close(): Promise<void>
}

function json(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

/** Starts the HTTP server and resolves once it listens (rejects on e.g. EADDRINUSE). */
export async function startHttp(options: HttpOptions): Promise<HttpServer> {
  const { port, host = DEFAULT_HTTP_HOST, metrics, health, ready, onError } = options

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0]
    if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') return json(res, 404, { error: 'not found' })
    // HEAD is GET without the body (node:http drops it), as HTTP requires of every GET resource
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return json(res, 405, { error: 'method not allowed' })
    }
    if (path === '/healthz') return health().live ? json(res, 200, { status: 'ok' }) : json(res, 503, { status: 'down' })
    if (path === '/readyz') {
      const r = ready()
      return r.ready ? json(res, 200, { status: 'ready' }) : json(res, 503, { status: 'not ready', reason: r.reason ?? 'unknown' })
    }
    const body = await metrics.text()
    res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' })
    res.end(body)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // the engine logs the cause; the prober only needs to see a failure, not internals
      onError?.(err)
      if (res.headersSent) res.destroy()
      else json(res, 500, { error: 'internal error' })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()))
      server.closeIdleConnections()
    }),
  }
}
