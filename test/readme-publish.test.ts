// The README's publishing sample, extracted and run as written (node, as a user runs it) against a bare
// nats-server with no config and `idr serve` beside it: the assignment comes back, and a second run does too.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EngineProcess } from './helpers/engine-process.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'

const ROOT = join(import.meta.dirname, '..')
const SECTION = '## Publishing events from your own code'

/** The first ```js block after the section heading. */
function readmeSample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const from = readme.indexOf(SECTION)
  if (from < 0) throw new Error(`README.md has no section "${SECTION}"`)
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(from))
  if (!m) throw new Error(`no js block in README.md's "${SECTION}"`)
  return m[1]!
}

/** Runs a script with node from inside the project (so 'nats' and '@msgpack/msgpack' resolve); its output and exit code. */
function runScript(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('the README publishing sample', () => {
  let server: NatsServerHandle
  let engine: EngineProcess
  let dir: string
  let script: string
  beforeAll(async () => {
    server = await startNatsServer() // no config: no mapping, no users
    dir = mkdtempSync(join(tmpdir(), 'idr-readme-'))
    engine = new EngineProcess(['--nats', server.url, '--db', join(dir, 'idr.db'), '--dev-key', '--pool-threads', '0'])
    await engine.waitFor((l) => l.msg === 'serving')
    const scratch = join(ROOT, '.scratch')
    mkdirSync(scratch, { recursive: true })
    script = join(scratch, `readme-publish-${process.pid}.mjs`)
    writeFileSync(script, readmeSample())
  })
  afterAll(async () => {
    await engine?.terminate()
    await server?.stop()
    rmSync(script, { force: true })
    rmSync(dir, { recursive: true, force: true })
  })

  it('gets its assignment back from a bare nats-server, and again on a second run', async () => {
    for (const run of [1, 2]) {
      const r = await runScript(script, { NATS_URL: server.url })
      expect({ run, code: r.code, stderr: r.stderr }).toEqual({ run, code: 0, stderr: '' })
      expect(r.stdout).toMatch(/^open acct-42#\d+: p1 \d\.\d\d/m)
    }
  }, 60_000)
})
