// A failed `idr serve` start-up leaves no database it created: not for an unreachable NATS, not for a server
// that has no JetStream when --jetstream asks for it. A database that was there before is kept. The compiled
// CLI in a fresh working directory per test; a real nats-server where one is needed.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { builtFile } from '../src/paths.js'
import { openStore } from '../src/store/sqlite-store.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'

const dirs: string[] = []
let server: NatsServerHandle | undefined
afterEach(async () => {
  await server?.stop()
  server = undefined
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function workDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'idr-serve-cwd-'))
  dirs.push(d)
  return d
}

/** `idr serve` in `cwd` until it exits (it must, within 30 s): its exit code and stderr. */
function serve(cwd: string, ...args: string[]): Promise<{ code: number | null, stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [builtFile('src/cli/main.js'), 'serve', '--dev-key', '--idle-warning-ms', '0', ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    p.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`idr serve still running after 30 s: ${stderr}`)) }, 30_000)
    p.once('exit', (code) => { clearTimeout(timer); resolve({ code, stderr }) })
  })
}

describe('idr serve start-up that fails', () => {
  it('leaves no idr.db in the working directory when NATS is unreachable', async () => {
    const cwd = workDir()
    const r = await serve(cwd, '--nats', 'nats://127.0.0.1:1')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cannot connect to NATS')
    expect(readdirSync(cwd)).toEqual([])
  })

  it('leaves no database when the server has no JetStream for --jetstream', async () => {
    server = await startNatsServer() // core only
    const cwd = workDir()
    const r = await serve(cwd, '--nats', server.url, '--jetstream', '--jetstream-timeout-ms', '2000', '--db', 'store.db')
    expect(r.code).toBe(1)
    expect(readdirSync(cwd)).toEqual([])
  })

  it('keeps a database that was there before', async () => {
    const cwd = workDir()
    const db = join(cwd, 'idr.db')
    openStore(db).close()
    const size = statSync(db).size
    const r = await serve(cwd, '--nats', 'nats://127.0.0.1:1')
    expect(r.code).toBe(1)
    expect(existsSync(db)).toBe(true)
    expect(statSync(db).size).toBeGreaterThanOrEqual(size)
  })

  it('creates the database once start-up has succeeded', async () => {
    const cwd = workDir()
    const p = spawn(process.execPath, [builtFile('src/cli/main.js'), 'serve', '--dev-key', '--nats', 'embedded', '--idle-warning-ms', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    await new Promise<void>((resolve) => p.stdout.on('data', (b: Buffer) => { if (b.toString().includes('"serving"')) resolve() }))
    expect(existsSync(join(cwd, 'idr.db'))).toBe(true)
    p.kill('SIGTERM')
    await new Promise((resolve) => p.once('exit', resolve))
    expect(existsSync(join(cwd, 'idr.db'))).toBe(true)
  })
})
