// A real nats-server per test suite: a free loopback port, a config file in a fresh temp dir, the child
// process, and readiness (TCP accepts and the server has logged "Server is ready", which 2.9 prints after
// JetStream is enabled). Also the loader that turns docs/examples/nats-server.conf into a test config, so
// the tests run the same file users copy.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { accepts, freePort } from '../../src/load/nats-server.js'
import { terminate } from '../../src/load/children.js'

/** The nats-server executable: $NATS_SERVER (read at each start), else `nats-server` on PATH. */
function natsServerBin(): string {
  return process.env.NATS_SERVER || 'nats-server'
}
/** How long a server may take to log "Server is ready" (ms). */
export const NATS_READY_TIMEOUT_MS = 10_000
/** How long stop() waits for exit after SIGTERM before SIGKILL (ms). */
export const NATS_STOP_TIMEOUT_MS = 5_000
/** Start attempts when the picked port is taken before the server binds it. */
const PORT_ATTEMPTS = 5

const EXAMPLE_CONFIG = join(import.meta.dirname, '..', '..', 'docs', 'examples', 'nats-server.conf')

/** Extra config text, or a function of the server's temp dir (for paths such as a JetStream store_dir). */
export type NatsConfig = string | ((dir: string) => string)

export interface NatsServerOptions {
  /** nats-server config text added after `listen` (must not set listen/port itself). */
  config?: NatsConfig
  /** Add `jetstream { store_dir: <dir>/js }` (leave false when config has its own jetstream block). */
  jetstream?: boolean
}

export interface NatsServerHandle {
  /** nats://127.0.0.1:PORT */
  url: string
  port: number
  /** The temp dir holding nats-server.conf, the log and the JetStream store; removed by stop(). */
  dir: string
  /** Everything the server logged so far (stderr). */
  log(): string
  /** SIGTERM, wait for exit (SIGKILL after NATS_STOP_TIMEOUT_MS), remove dir. Idempotent. */
  stop(): Promise<void>
  /** SIGKILL now, without waiting; dir is removed once the process has exited. */
  kill(): void
  /**
   * SIGTERM and wait for exit (SIGKILL after NATS_STOP_TIMEOUT_MS), keeping dir (the config and the JetStream
   * store) for resume(): clients see the server go away. Idempotent while halted.
   */
  halt(): Promise<void>
  /** Starts the server again on the same port, config and store; resolves once it accepts clients. */
  resume(): Promise<void>
}

/** Starts nats-server on a free 127.0.0.1 port and resolves once it accepts clients. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  let lastError: unknown
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort()
    try {
      return await startOn(port, options)
    } catch (e) {
      if (!(e instanceof PortTakenError)) throw e
      lastError = e
    }
  }
  throw new Error(`nats-server: no free port after ${PORT_ATTEMPTS} attempts`, { cause: lastError })
}

class PortTakenError extends Error {}

async function startOn(port: number, options: NatsServerOptions): Promise<NatsServerHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'idr-nats-'))
  const extra = typeof options.config === 'function' ? options.config(dir) : (options.config ?? '')
  const lines = [`listen: "127.0.0.1:${port}"`]
  if (options.jetstream) lines.push(`jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`)
  lines.push(extra)
  const file = join(dir, 'nats-server.conf')
  writeFileSync(file, lines.join('\n') + '\n')

  let log = ''
  let run: Running
  try {
    run = await launch(file, port, (chunk) => { log += chunk })
  } catch (e) {
    rmSync(dir, { recursive: true, force: true })
    if (/address already in use/i.test(log)) throw new PortTakenError(`port ${port} taken`)
    throw e
  }

  let stopping: Promise<void> | undefined
  let halting: Promise<void> | undefined
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true })
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    log: () => log,
    stop() {
      stopping ??= (async () => {
        await terminate(run.child, run.exited, NATS_STOP_TIMEOUT_MS)
        removeDir()
      })()
      return stopping
    },
    kill() {
      run.child.kill('SIGKILL')
      stopping ??= run.exited.then(removeDir)
    },
    halt() {
      if (stopping) return Promise.reject(new Error('nats-server is stopped; halt() is for a server that resume() starts again'))
      halting ??= terminate(run.child, run.exited, NATS_STOP_TIMEOUT_MS)
      return halting
    },
    async resume() {
      if (!halting) throw new Error('nats-server is running; halt() it first')
      await halting
      // the port was ours a moment ago; another process taking it in between fails loudly (address in use)
      run = await launch(file, port, (chunk) => { log += chunk })
      halting = undefined
    },
  }
}

interface Running {
  child: ChildProcess
  exited: Promise<void>
}

/** Spawns nats-server on file and resolves once it is ready; on failure it is killed and awaited. */
async function launch(file: string, port: number, onLog: (chunk: string) => void): Promise<Running> {
  const child = await spawnServer(file)
  // readiness is read from this run's log alone: an earlier run's "Server is ready" says nothing about this one
  let log = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk
    onLog(chunk)
  })
  child.stdout!.resume()
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    await waitReady(child, port, () => log)
  } catch (e) {
    child.kill('SIGKILL')
    await exited
    throw e
  }
  return { child, exited }
}

/** Spawns nats-server -c file; rejects with an install hint when the executable is missing. */
function spawnServer(file: string): Promise<ChildProcess> {
  const bin = natsServerBin()
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.once('spawn', () => resolve(child))
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT'
        ? new Error(`nats-server not found (${bin}): the NATS tests need a real server. ` +
          'Install it with `apt-get install nats-server` (Debian/Ubuntu) or from https://github.com/nats-io/nats-server/releases, ' +
          'or point $NATS_SERVER at the executable.', { cause: e })
        : e)
    })
  })
}

/** Resolves when the log says "Server is ready" and the port accepts TCP; rejects if the process exits first. */
async function waitReady(child: ChildProcess, port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + NATS_READY_TIMEOUT_MS
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nats-server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${log()}`)
    }
    if (log().includes('Server is ready') && await accepts(port)) return
    if (Date.now() > deadline) throw new Error(`nats-server not ready after ${NATS_READY_TIMEOUT_MS} ms:\n${log()}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The three users of the example config. */
export type ExampleUser = 'publisher' | 'engine' | 'admin'

export interface ExampleConfigOptions {
  /** The partition count in the subject mapping (the example ships 8). */
  partitions?: number
  passwords: Record<ExampleUser, string>
}

/** Placeholders in docs/examples/nats-server.conf that exampleConfig replaces; each must occur in the file. */
const EXAMPLE_PLACEHOLDERS = {
  listen: /^listen: .*\n/m,
  storeDir: '"/var/lib/nats/jetstream"',
  partitions: '{{partition(8,1)}}',
  password: (user: ExampleUser) => `"CHANGE-ME-${user}"`,
} as const

/**
 * docs/examples/nats-server.conf as startNatsServer config: its listen line dropped (the helper picks the
 * port), store_dir in the server's temp dir, the partition count and passwords substituted. Throws if a
 * placeholder is missing, so the example and this loader cannot drift apart silently.
 */
export function exampleConfig(options: ExampleConfigOptions): (dir: string) => string {
  const partitions = options.partitions ?? 8
  if (!Number.isInteger(partitions) || partitions < 1) throw new Error(`partitions must be a positive integer, got ${partitions}`)
  const text = readFileSync(EXAMPLE_CONFIG, 'utf8')
  const replace = (s: string, from: string | RegExp, to: string): string => {
    if (typeof from === 'string' ? !s.includes(from) : !from.test(s)) {
      throw new Error(`${EXAMPLE_CONFIG}: placeholder ${String(from)} not found`)
    }
    return typeof from === 'string' ? s.split(from).join(to) : s.replace(from, to)
  }
  let base = replace(text, EXAMPLE_PLACEHOLDERS.listen, '')
  base = replace(base, EXAMPLE_PLACEHOLDERS.partitions, `{{partition(${partitions},1)}}`)
  for (const user of ['publisher', 'engine', 'admin'] as const) {
    base = replace(base, EXAMPLE_PLACEHOLDERS.password(user), JSON.stringify(options.passwords[user]))
  }
  return (dir) => replace(base, EXAMPLE_PLACEHOLDERS.storeDir, JSON.stringify(join(dir, 'js')))
}
