// The import rule of docs/architecture.md: a module imports only from its own layer or the layers below it.
// Every relative import in src/ is checked. The known exceptions are listed, each with what removes it.
// The test also fails when a listed exception no longer exists, so the list only shrinks.
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

/** Lowest first. A top-level file or folder of src/ → its layer (docs/architecture.md has the picture). */
const LAYERS: Record<string, number> = {
  'errors.ts': 0, 'log.ts': 0, 'paths.ts': 0, types: 0, options: 0, contracts: 0,
  kernels: 1,
  model: 2,
  attribution: 3,
  privacy: 4,
  ingress: 5,
  runtime: 6,
  store: 7, transport: 7,
  engine: 8,
  api: 9,
  sim: 10,
  demo: 11, load: 11,
  cli: 12,
  'index.ts': 13,
}

/** Imports that break the rule today: importer → imported, and what removes each (issue 17). */
const KNOWN: Record<string, string> = {
  'src/cli/bench.ts → bench/run.ts': 'none needed: loaded on demand, only where bench/ exists (a clone; requireBenchmarks)',
  'src/cli/load.ts → bench/load-sweep.ts': 'none needed: loaded on demand, only where bench/ exists (a clone; requireBenchmarks)',
  'src/model/household.ts → src/attribution/ledger.ts': 'the actor state is { household, ledger }, composed in the actor',
  'src/model/household-snapshot.ts → src/attribution/ledger.ts': 'the actor state is { household, ledger }, each with its own snapshot',
  'src/privacy/modify-stored.ts → src/runtime/runtime.ts': 'privacy defines the ports it needs (a household host)',
  'src/privacy/modify-stored.ts → src/runtime/store.ts': 'privacy defines the ports it needs (a household host)',
  'src/privacy/erase.ts → src/runtime/actor.ts': 'privacy defines the ports it needs',
  'src/privacy/erase.ts → src/runtime/runtime.ts': 'privacy defines the ports it needs (one modifyStored)',
  'src/privacy/erase.ts → src/runtime/store.ts': 'privacy defines the ports it needs',
  'src/privacy/erase.ts → src/store/sqlite-store.ts': 'privacy defines the ports it needs; store implements them',
  'src/privacy/erase.ts → src/store/tombstones.ts': 'privacy defines the ports it needs; store implements them',
  'src/privacy/export.ts → src/store/tombstones.ts': 'privacy defines the ports it needs; store implements them',
  'src/privacy/retention.ts → src/runtime/runtime.ts': 'privacy defines the ports it needs (one modifyStored)',
  'src/privacy/retention.ts → src/store/sqlite-store.ts': 'privacy defines the ports it needs; store implements them',
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
