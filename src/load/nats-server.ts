// A local nats-server for `idr load --spawn-nats`: a free loopback port, a config in a fresh temp dir (with
// a JetStream store there), readiness when it has logged "Server is ready" and accepts TCP. The tests keep
// their own helper (test/helpers/nats-server.ts), which also loads the example config.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IdrError } from '../errors.js'
import { terminate } from './children.js'

/** How long a server may take to be ready, ms. */
export const NATS_READY_TIMEOUT_MS = 10_000
/** How long stop() waits after SIGTERM before SIGKILL, ms. */
const NATS_STOP_TIMEOUT_MS = 5_000
/** Room for a batch of 100 events and more (the engine's default message limit is 1 MiB). */
const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024

export interface SpawnedNats {
  url: string
  pid: number
  /** The version line nats-server printed (`nats-server: v2.9.10`). */
  version: string
  stop(): Promise<void>
}

/** The nats-server executable: $NATS_SERVER, else `nats-server` on PATH. */
function bin(): string {
  return process.env.NATS_SERVER || 'nats-server'
}

/** Starts nats-server (with JetStream) on a free 127.0.0.1 port. */
export async function spawnNatsServer(): Promise<SpawnedNats> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'idr-load-nats-'))
  const conf = join(dir, 'nats-server.conf')
  writeFileSync(conf, [
    `listen: "127.0.0.1:${port}"`,
    `max_payload: ${MAX_PAYLOAD_BYTES}`,
    `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`,
  ].join('\n') + '\n')
  const child: ChildProcess = spawn(bin(), ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve())
    child.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT'
      ? new IdrError('NATS_UNAVAILABLE', `nats-server not found (${bin()}): install it (apt-get install nats-server) or set $NATS_SERVER`, { cause: e })
      : e))
  }).catch((e: unknown) => { rmSync(dir, { recursive: true, force: true }); throw e })
  let log = ''
  // the log is read for readiness and the version only: keep its first MB
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { if (log.length < 1e6) log += s })
  child.stdout!.resume()
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const deadline = Date.now() + NATS_READY_TIMEOUT_MS
  while (!(log.includes('Server is ready') && await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
      throw new IdrError('NATS_UNAVAILABLE', `nats-server did not start on port ${port}:\n${log}`)
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  const version = /Version:\s*(\S+)/.exec(log)?.[1] ?? 'unknown'
  let stopping: Promise<void> | undefined
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: child.pid!,
    version,
    stop() {
      stopping ??= (async () => {
        await terminate(child, exited, NATS_STOP_TIMEOUT_MS)
        rmSync(dir, { recursive: true, force: true })
      })()
      return stopping
    },
  }
}

/** Whether 127.0.0.1:port accepts a TCP connection now. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

/** A port the OS considered free a moment ago (bind 127.0.0.1:0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const a = server.address()
      const port = typeof a === 'object' && a !== null ? a.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))))
    })
  })
}
