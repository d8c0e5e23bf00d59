// The idr command, run as a user runs it: the compiled CLI in a child process.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { builtFile, projectRoot } from '../src/paths.js'

function idr(...args: string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [builtFile('src/cli/main.js'), ...args], { encoding: 'utf8', cwd: projectRoot })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const dirs: string[] = []
function tempCsv(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'idr-cli-'))
  dirs.push(dir)
  const file = join(dir, 'data.csv')
  writeFileSync(file, text)
  return file
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('idr command', () => {
  it('prints the package version', () => {
    const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }
    expect(idr('--version')).toMatchObject({ status: 0, stdout: `${pkg.version}\n` })
  })

  it('prints help that lists its commands, and exits 2 on an unknown one', () => {
    const help = idr('--help').stdout
    expect(help).toContain('idr bench')
    expect(help).toContain('idr gmm')
    const r = idr('frobnicate')
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('unknown command "frobnicate"')
  })

  it('fits Iris like scikit-learn: BIC picks K = 2 (BIC 574.0)', () => {
    const r = idr('gmm', 'test/fixtures/iris.csv', '--columns', 'sepal_length,sepal_width,petal_length,petal_width', '--json')
    expect(r.status).toBe(0)
    const out = JSON.parse(r.stdout) as { best: { k: number, bic: number }, candidates: { k: number }[] }
    expect(out.best.k).toBe(2)
    expect(out.best.bic).toBeCloseTo(574.0, 0)
    expect(out.candidates.map((c) => c.k)).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('names the row and column of a non-numeric cell, and exits 1', () => {
    const r = idr('gmm', tempCsv('a,b\n1,2\n3,x\n'))
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('row 3, column "b": "x" is not a number')
  })

  it('names an unknown column, and exits 2 (a wrong command line)', () => {
    const r = idr('gmm', tempCsv('a,b\n1,2\n3,4\n'), '--columns', 'c')
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('no column "c"')
  })
})
