// The import rule of docs/architecture.md: a module imports only from its own layer or the layers below it.
// Every relative import in src/ is checked. The known exceptions are listed, each with what removes it.
// The test also fails when a listed exception no longer exists, so the list only shrinks.
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

/** Lowest first. A top-level file or folder of src/ → its layer (docs/architecture.md has the picture). */
const LAYERS: Record<string, number> = {
  'errors.ts': 0, 'histogram.ts': 0, 'log.ts': 0, 'paths.ts': 0, types: 0, options: 0, contracts: 0,
  kernels: 1,
  model: 2,
  attribution: 3,
  account: 4, ports: 4,
  privacy: 5,
  ingress: 6,
  runtime: 7,
  store: 8, transport: 8,
  engine: 9,
  api: 10,
  sim: 11,
  demo: 12, load: 12,
  cli: 13,
  'index.ts': 14,
}

/** Imports that break the rule: importer → imported, and why each stays. */
const KNOWN: Record<string, string> = {
  'src/cli/bench.ts → bench/run.ts': 'none needed: loaded on demand, only where bench/ exists (a clone; requireBenchmarks)',
  'src/cli/load.ts → bench/load-sweep.ts': 'none needed: loaded on demand, only where bench/ exists (a clone; requireBenchmarks)',
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name)
    return d.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : []
  })
}

function layerOf(file: string): number | undefined {
  const top = relative('src', file).split('/')[0]!
  return file.startsWith('src/') ? LAYERS[top] : Infinity // outside src/ (bench/, test/): above everything
}

/** Every relative import and re-export of a file, as repository paths of .ts files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm), ...text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)]
  return specs.map((m) => normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'))
}

describe('layers', () => {
  const files = sources('src')

  it('knows the layer of every top-level module of src/', () => {
    expect(files.filter((f) => layerOf(f) === undefined)).toEqual([])
  })

  it('has no import from a lower layer to a higher one beyond the known ones, and every known one still exists', () => {
    const found: string[] = []
    for (const f of files) {
      for (const target of importsOf(f)) {
        if ((layerOf(target) ?? Infinity) > layerOf(f)!) found.push(`${f} → ${target}`)
      }
    }
    expect(found.filter((v) => !(v in KNOWN))).toEqual([]) // a new upward import: move it, or invert it through a port
    expect(Object.keys(KNOWN).filter((k) => !found.includes(k))).toEqual([]) // fixed: take it off the list
  })

  it('reads the imports it checks (the scan is not empty)', () => {
    expect(files.length).toBeGreaterThan(100)
    expect(importsOf('src/engine/engine.ts')).toContain('src/runtime/runtime.ts')
  })
})
