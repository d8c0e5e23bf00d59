// The engine under load: `idr serve` as a child process (the compiled build/, as users run it) with a temp
// SQLite file, started for one run and stopped after it; or an already running one (--attach).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { NatsConnection } from 'nats'
import type { EngineStats } from '../engine/engine.js'
import { IdrError } from '../errors.js'
import { builtFile } from '../paths.js'
import { terminate } from './children.js'

/** How long `idr serve` may take to log "serving", ms. */
const START_TIMEOUT_MS = 30_000
/** How long a stop may take (the engine drains its mailboxes first) before SIGKILL, ms. */
const STOP_TIMEOUT_MS = 30_000
/** Engine warnings and errors kept for the report. */
const MAX_LOGGED = 20
/** A stats request that takes longer than this is skipped (the engine is busy), ms. */
export const STATS_TIMEOUT_MS = 3_000

export interface EngineSpawnOptions {
  url: string
  prefix: string
  partitionsOf: number
  jetstream: boolean
  /** --landing: the landing stream <stream>_LAND and the keyed stream <stream>. */
  landing?: boolean
  /** With landing: the relay on the event loop (--landing-thread=false). */
  landingInline?: boolean
  stream: string
  maxResident: number
  /** Refit worker threads; undefined = the serve default. */
  poolThreads?: number
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR']. */
  nodeArgs?: readonly string[]
}

export interface EngineHandle {
  /** The process id, when known (spawned, or --engine-pid). */
  readonly pid: number | undefined
  /** Warnings and errors the engine logged (pino level ≥ 40), the first MAX_LOGGED of them. */
  readonly problems: string[]
  stop(): Promise<void>
}

/** Starts `idr serve` and resolves when it logs "serving". */
export async function spawnEngine(o: EngineSpawnOptions): Promise<EngineHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'idr-load-engine-'))
  const args = [
    ...(o.nodeArgs ?? []), builtFile('src/cli/main.js'), 'serve',
    '--nats', o.url, '--db', join(dir, 'idr.db'), '--of', String(o.partitionsOf), '--prefix', o.prefix,
    '--max-resident', String(o.maxResident), '--dev-key', '--log-level', 'info',
    ...(o.poolThreads === undefined ? [] : ['--pool-threads', String(o.poolThreads)]),
    ...(o.landing === true ? ['--landing', '--keyed-stream', o.stream, '--landing-stream', `${o.stream}_LAND`, ...(o.landingInline === true ? ['--landing-thread=false'] : [])]
      : o.jetstream ? ['--jetstream', '--stream', o.stream] : []),
  ]
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, IDR_PSEUDONYM_KEY: '' } })
  const stderr: string[] = []
  const problems: string[] = []
  createInterface({ input: child.stderr! }).on('line', (l) => { if (stderr.length < 200) stderr.push(l) })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const serving = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new IdrError('ENGINE_START', `idr serve did not log "serving" in ${START_TIMEOUT_MS} ms: ${stderr.join('\n')}`)), START_TIMEOUT_MS)
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l.includes('"msg":"serving"')) {
        clearTimeout(timer)
        resolve()
      }
      const level = Number(/"level":(\d+)/.exec(l)?.[1] ?? 0)
      if (level >= 40 && problems.length < MAX_LOGGED && !l.includes('"msg":"devKey')) problems.push(l.slice(0, 300))
    })
    void exited.then(() => {
      clearTimeout(timer)
      reject(new IdrError('ENGINE_START', `idr serve exited (${child.exitCode ?? child.signalCode}) before serving: ${stderr.join('\n')}`))
    })
  })
  try {
    await serving
  } catch (e) {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
  let stopping: Promise<void> | undefined
  return {
    pid: child.pid,
    problems,
    stop() {
      stopping ??= (async () => {
        await terminate(child, exited, STOP_TIMEOUT_MS)
        rmSync(dir, { recursive: true, force: true })
      })()
      return stopping
    },
  }
}

/** An engine someone else runs: nothing to start or stop. */
export function attachedEngine(pid: number | undefined): EngineHandle {
  return { pid, problems: [], stop: async () => {} }
}

/** The engine's idr.api.stats reply, or undefined when it does not answer in time. */
export async function engineStats(nc: NatsConnection, prefix: string): Promise<EngineStats | undefined> {
  try {
    const reply = await nc.request(`${prefix}.api.stats`, new TextEncoder().encode('{}'), { timeout: STATS_TIMEOUT_MS })
    return JSON.parse(new TextDecoder().decode(reply.data)) as EngineStats
  } catch {
    return undefined
  }
}
