// Docs as tests: every code block in README.md and docs/*.md whose fence reads `js test` runs as written, with
// node, as a program of a project that depends on idr (the block's `import ... from 'idr'` resolves to this
// build). `js test=nats` blocks get a bare nats-server (no config: no mapping, no users) and `idr serve
// --dev-key` beside it, at NATS_URL. A block passes when it exits 0 without writing to stderr; each sample
// is written so that it fails loudly when what it shows does not happen.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { EngineProcess } from './helpers/engine-process.js'
import { startNatsServer } from './helpers/nats-server.js'

const ROOT = join(import.meta.dirname, '..')
const FENCE = /^```js test(=nats)?\n([\s\S]*?)^```$/gm

interface Sample { readonly file: string, readonly line: number, readonly nats: boolean, readonly code: string }

function samples(): Sample[] {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
  const out: Sample[] = []
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8')
    for (const m of text.matchAll(FENCE)) {
      out.push({ file, line: text.slice(0, m.index).split('\n').length, nats: m[1] !== undefined, code: m[2]! })
    }
  }
  return out
}

/** A scratch project inside the repo whose node_modules/idr is this package; the rest resolves from the repo's node_modules. */
let project: string | undefined
function scratchProject(): string {
  if (project) return project
  const dir = join(ROOT, '.scratch', `docs-samples-${process.pid}`)
  mkdirSync(join(dir, 'node_modules'), { recursive: true })
  symlinkSync(ROOT, join(dir, 'node_modules', 'idr'), 'dir')
  cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }))
  return (project = dir)
}

function run(file: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

const found = samples()
const cleanups: (() => Promise<unknown> | void)[] = []
afterAll(async () => { for (const c of cleanups.reverse()) await c() })

describe('the code samples of the docs', () => {
  it('finds the marked samples (the README has at least its publishing and embedding programs)', () => {
    expect(found.filter((s) => s.file === 'README.md').length).toBeGreaterThanOrEqual(2)
  })

  for (const sample of found) {
    it(`runs ${sample.file}:${sample.line} as written${sample.nats ? ' against a bare nats-server' : ''}`, async () => {
      const project = scratchProject()
      const fresh = (): string => {
        const dir = mkdtempSync(join(tmpdir(), 'idr-sample-'))
        cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
        return dir
      }
      const script = join(project, `sample-${sample.line}.mjs`)
      writeFileSync(script, sample.code)
      const env: NodeJS.ProcessEnv = { IDR_PSEUDONYM_KEY: 'docs-sample-key-0123456789abcdef' }
      if (sample.nats) {
        const server = await startNatsServer()
        cleanups.push(() => server.stop())
        const engine = new EngineProcess(['--nats', server.url, '--db', join(fresh(), 'engine.db'), '--dev-key', '--pool-threads', '0'])
        cleanups.push(() => engine.terminate())
        await engine.waitFor((l) => l.msg === 'serving')
        env['NATS_URL'] = server.url
      }
      // twice, each in a fresh working directory: a sample must not depend on a fresh server (ids it reuses)
      for (const pass of [1, 2]) {
        const r = await run(script, fresh(), env)
        expect({ pass, code: r.code, stderr: r.stderr }).toEqual({ pass, code: 0, stderr: '' })
        expect(r.stdout.length).toBeGreaterThan(0)
      }
    }, 90_000)
  }
})
