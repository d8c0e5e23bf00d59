// The package a consumer installs: `npm pack` of the built tree (as `npm test` leaves it), installed into a
// fresh project with type module and a strict NodeNext tsconfig, then typechecked and run there. The consumer
// installs with --ignore-scripts (no native SQLite build: better-sqlite3 loads its binding only when a
// database is opened) and --prefer-offline (CI's npm cache holds every dependency from installing idr).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { builtFile, projectRoot } from '../src/paths.js'

/** Bounds each npm or tsc run, ms: a hung child fails the test instead of outliving it. */
const CHILD_TIMEOUT_MS = 60_000

const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }
/** The consumer's @types/node: the version idr builds with, so the install resolves it from the cache. */
const typesNodeVersion = (JSON.parse(readFileSync(join(projectRoot, 'node_modules', '@types', 'node', 'package.json'), 'utf8')) as { version: string }).version

/** The parent `npm test` exports npm_* settings (its prefix among them); a nested npm must not inherit them. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)))
}

function run(cmd: string, args: readonly string[], cwd: string): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: CHILD_TIMEOUT_MS })
  if (r.error) throw r.error
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const SAMPLE = `import { createEmbedded, defaultKernels, MemoryStore, simulate, version, type EmbeddedEngine, type IdrEvent, type Kernels } from 'idr'

const events: IdrEvent[] = [...simulate({ households: 2, days: 1, seed: 1 }).events()]
const engine: EmbeddedEngine = createEmbedded({ store: new MemoryStore(), pseudonymKey: 'consumer-key-0123456789abcdef' })
const kernels: Kernels = defaultKernels()
const name: 'wasm' | 'twin' = kernels.name
console.log(version, events.length, typeof engine.push, name)
`

let dir = ''
let consumer = ''
let files: string[] = []

beforeAll(() => {
  if (!existsSync(builtFile('src/index.js'))) throw new Error('build/ is missing: run npm run build (npm test does it first)')
  dir = mkdtempSync(join(tmpdir(), 'idr-package-'))
  // --ignore-scripts: pack the tree as built, without prepare rebuilding it
  const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], projectRoot)
  expect(packed.status, packed.stderr).toBe(0)
  const [info] = JSON.parse(packed.stdout) as { filename: string, files: { path: string }[] }[]
  files = info!.files.map((f) => f.path)
  consumer = join(dir, 'consumer')
  mkdirSync(consumer)
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({
    name: 'consumer', version: '1.0.0', private: true, type: 'module',
    dependencies: { idr: `file:../${info!.filename}` },
    devDependencies: { '@types/node': typesNodeVersion },
  }, null, 2))
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] },
    include: ['sample.ts'],
  }, null, 2))
  writeFileSync(join(consumer, 'sample.ts'), SAMPLE)
  const installed = run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], consumer)
  expect(installed.status, installed.stderr).toBe(0)
}, 2 * CHILD_TIMEOUT_MS)

afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }) })

describe('the package a consumer installs', () => {
  it('holds no tests, benchmarks, sources, source maps or CI files', () => {
    const stray = files.filter((f) => /^(test|bench|src|assembly|\.ci|build\/test|build\/bench)\//.test(f) || f.endsWith('.map'))
    expect(stray).toEqual([])
  })

  it('holds the entry, its declarations, the CLI, the workers, both wasm modules and the docs', () => {
    for (const f of ['package.json', 'README.md', 'build/src/index.js', 'build/src/index.d.ts', 'build/src/cli/main.js',
      'build/src/runtime/refit-worker.js', 'build/src/kernels/worker.js', 'build/release.wasm', 'build/debug.wasm',
      'docs/operations.md', 'docs/examples/nats-server.conf']) {
      expect(files, f).toContain(f)
    }
    expect(existsSync(join(consumer, 'node_modules', 'idr', 'build', 'release.wasm'))).toBe(true)
  })

  it('typechecks a strict NodeNext consumer of its public API, library declarations included', () => {
    const tsc = run(process.execPath, [join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer], consumer)
    expect(tsc.stdout + tsc.stderr).toBe('')
    expect(tsc.status).toBe(0)
  }, CHILD_TIMEOUT_MS)

  it('imports in the consumer and runs its WebAssembly kernels from the installed files', () => {
    const code = `const idr = await import('idr'); const k = idr.defaultKernels(); console.log(idr.version, k.name)`
    const r = run(process.execPath, ['--input-type=module', '-e', code], consumer)
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe(`${pkg.version} wasm\n`)
  })

  it('installs the idr command, whose bench refuses plainly because bench/ is not in the package', () => {
    const bin = join(consumer, 'node_modules', '.bin', 'idr')
    const help = run(bin, ['--help'], consumer)
    expect(help.status).toBe(0)
    expect(help.stdout).toContain(`idr ${pkg.version}`)
    const bench = run(bin, ['bench', '--quick'], consumer)
    expect(bench.status).toBe(1)
    expect(bench.stderr).toContain('`idr bench` runs the benchmarks in bench/')
  })
})
