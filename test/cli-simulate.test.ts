// `idr simulate` writes sample events with truth that `idr eval --input` and `idr attribute --input` read back:
// the compiled CLI in child processes, one temp directory per test.
import { spawnSync } from 'node:child_process'
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { evaluateEvents } from '../src/sim/evaluate.js'
import { simulate } from '../src/sim/simulator.js'
import { builtFile, projectRoot } from '../src/paths.js'

function idr(...args: string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [builtFile('src/cli/main.js'), ...args], { encoding: 'utf8', cwd: projectRoot })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const dirs: string[] = []
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'idr-simulate-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const SIM = { households: 12, days: 7, seed: 3 } as const

describe('idr simulate', () => {
  it('writes the simulator\'s events, with truth on each, the same for the same seed', () => {
    const dir = tempDir()
    const a = join(dir, 'a.ndjson')
    const r = idr('simulate', '--households', '12', '--days', '7', '--seed', '3', '--out', a)
    expect(r.status, r.stderr).toBe(0)
    const lines = readFileSync(a, 'utf8').trimEnd().split('\n')
    const expected = [...simulate(SIM).events()]
    expect(lines.length).toBe(expected.length)
    expect(r.stdout).toContain(`${expected.length.toLocaleString('en')} events of 12 households`)
    expect(JSON.parse(lines[0]!)).toEqual(JSON.parse(JSON.stringify(expected[0])))
    expect(lines.every((l) => typeof (JSON.parse(l) as { truth?: unknown }).truth === 'string')).toBe(true)
    const b = join(dir, 'b.ndjson')
    idr('simulate', '--households', '12', '--days', '7', '--seed', '3', '--out', b)
    expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'))
  })

  it('round-trips through idr eval --input: the same scores as the model run on the simulation directly', () => {
    const file = join(tempDir(), 'events.ndjson')
    expect(idr('simulate', '--households', '12', '--days', '7', '--seed', '3', '--out', file).status).toBe(0)
    const r = idr('eval', '--input', file, '--json')
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { sessions: number, events: number, accuracy: number, ece: number }
    const direct = evaluateEvents(simulate(SIM).events())
    expect(out.events).toBe(direct.events)
    expect(out.sessions).toBe(direct.sessions)
    expect(out.sessions).toBeGreaterThan(50)
    expect(out.accuracy).toBeCloseTo(direct.accuracy, 12)
    expect(out.ece).toBeCloseTo(direct.ece, 12)
  })

  it('is read by idr attribute --input at the true-person level', () => {
    const file = join(tempDir(), 'events.ndjson')
    expect(idr('simulate', '--households', '40', '--days', '14', '--seed', '5', '--out', file).status).toBe(0)
    const r = idr('attribute', '--input', file, '--level', 'oracle', '--model', 'last', '--json')
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { model: string, channels: { conversions: number }[] }
    expect(out.model).toBe('last')
    expect(out.channels.reduce((s, c) => s + c.conversions, 0)).toBeGreaterThan(0)
  })

  it('delivers late and duplicate events when asked, which idr eval counts as ignored with the bad lines', () => {
    const file = join(tempDir(), 'disorder.ndjson')
    expect(idr('simulate', '--households', '12', '--days', '7', '--seed', '3', '--late-rate', '0.05', '--duplicate-rate', '0.05', '--out', file).status).toBe(0)
    const plain = [...simulate(SIM).events()].length
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
    expect(lines.length).toBeGreaterThan(plain) // the duplicates come on top
    const ids = lines.map((l) => (JSON.parse(l) as { id: string }).id)
    expect(new Set(ids).size).toBe(plain)
    appendFileSync(file, 'not json\n{"v":1}\n')
    const r = idr('eval', '--input', file, '--json')
    expect(r.status, r.stderr).toBe(0)
    const { ignored } = JSON.parse(r.stdout) as { ignored: { badLines: number, duplicates: number, late: number, sessionsWithoutTruth: number } }
    expect(ignored.badLines).toBe(2)
    expect(ignored.duplicates).toBe(lines.length - plain) // every second delivery is recognised by its id
    expect(ignored.late).toBeGreaterThan(0)
    expect(ignored.sessionsWithoutTruth).toBe(0)
    const text = idr('eval', '--input', file).stdout
    expect(text).toMatch(new RegExp(`ignored +2 bad lines, ${lines.length - plain} duplicates, ${ignored.late} late events`))
    expect(text).toContain('NLL: mean negative log-likelihood')
    expect(text).toMatch(/events +\d{1,3},\d{3} /) // thousands separators
  })
})
