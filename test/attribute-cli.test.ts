// `idr attribute` as a user runs it: the compiled CLI (npm run build:ts first) on a path-table fixture.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { builtFile, projectRoot } from '../src/paths.js'

const FIXTURE = 'test/fixtures/attribution-paths.csv' // C1 > C2 > C3 converts (value 100); C1 and C2 > C3 do not
// the example as events: p1 touches email (A) and converts (value 10), p2 touches search (B) in between
const EVENTS = 'test/fixtures/attribution-events.ndjson'

function idr(...args: string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [builtFile('src/cli/main.js'), 'attribute', ...args], { encoding: 'utf8', cwd: projectRoot })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const dirs: string[] = []
function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'idr-attribute-'))
  dirs.push(dir)
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

interface Out { model: string, channels: { channel: string, conversions: number, value: number, removalEffect?: number }[] }

describe('idr attribute', () => {
  it('prints one model as JSON: Markov credit 0.2 / 0.4 / 0.4 with removal effects and value', () => {
    const r = idr('--input', FIXTURE, '--model', 'markov', '--json')
    expect(r.status).toBe(0)
    const out = JSON.parse(r.stdout) as Out
    expect(Object.keys(out)).toEqual(['model', 'channels'])
    expect(out.model).toBe('markov')
    expect(out.channels.map((c) => c.channel)).toEqual(['C1', 'C2', 'C3'])
    out.channels.forEach((c, i) => {
      expect(c.conversions).toBeCloseTo([0.2, 0.4, 0.4][i]!, 9)
      expect(c.value).toBeCloseTo([20, 40, 40][i]!, 9)
      expect(c.removalEffect).toBeCloseTo([0.5, 1, 1][i]!, 9)
    })
  })

  it('prints every model as one JSON object per line with --model all', () => {
    const r = idr('--input', FIXTURE, '--model', 'all', '--json')
    expect(r.status).toBe(0)
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Out)
    expect(lines.map((l) => l.model)).toEqual(['first', 'last', 'linear', 'decay', 'position', 'markov', 'shapley', 'hybrid'])
    for (const l of lines) expect(l.channels.reduce((s, c) => s + c.conversions, 0)).toBeCloseTo(1, 9)
    expect(lines.filter((l) => l.channels.some((c) => 'removalEffect' in c)).map((l) => l.model)).toEqual(['markov'])
  })

  it('prints an aligned table for people', () => {
    const r = idr('--input', FIXTURE, '--model', 'markov')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('removal effect')
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('C'))
    expect(rows).toHaveLength(3)
    expect(new Set(rows.map((l) => l.length)).size).toBe(1)
  })

  it('takes the order and half-life options', () => {
    const order = JSON.parse(idr('--input', FIXTURE, '--model', 'markov', '--order', '2', '--json').stdout) as Out
    expect(order.channels.reduce((s, c) => s + c.conversions, 0)).toBeCloseTo(1, 9)
    const decay = JSON.parse(idr('--input', FIXTURE, '--model', 'decay', '--half-life', '1', '--json').stdout) as Out
    expect(decay.channels.map((c) => c.conversions)).toEqual([expect.closeTo(1 / 7, 9), expect.closeTo(2 / 7, 9), expect.closeTo(4 / 7, 9)])
  })

  it('runs the hybrid: the weighted mean of Markov (0.2 / 0.4 / 0.4) and Shapley (1/3 each)', () => {
    const r = idr('--input', FIXTURE, '--model', 'hybrid', '--markov-weight', '0.25', '--json')
    expect(r.status).toBe(0)
    const out = JSON.parse(r.stdout) as Out
    expect(out.model).toBe('hybrid')
    // 0.25 · Markov + 0.75 · Shapley; Shapley gives the one converting path's conversion 1/3 to each channel
    out.channels.forEach((c, i) => expect(c.conversions).toBeCloseTo(0.25 * [0.2, 0.4, 0.4][i]! + 0.75 / 3, 9))
    expect(idr('--input', FIXTURE, '--model', 'hybrid', '--markov-weight', '2').stderr).toContain('(BAD_OPTION)')
  })

  it('builds journeys from NDJSON events: the true persons give email 1, search 0; the account\'s merged journey 0.5 / 0.5', () => {
    const linear = (level: string) => {
      const r = idr('--input', EVENTS, '--level', level, '--model', 'linear', '--json')
      expect(r.status).toBe(0)
      return Object.fromEntries((JSON.parse(r.stdout) as Out).channels.map((c) => [c.channel, c.conversions]))
    }
    expect(linear('oracle')).toEqual({ email: 1, search: 0 })
    expect(linear('account')).toEqual({ email: 0.5, search: 0.5 })
    // the household model has seen no viewing here, so it knows no persons: everything goes to "unknown"
    expect(linear('person')).toEqual({ email: 0.5, search: 0.5 })
  })

  it('attributes NDJSON events at person level by default, with a journey summary for people', () => {
    const r = idr('--input', EVENTS, '--model', 'last')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('journeys (person level, soft split, lookback 30 days): 1 distinct paths, 1.000 conversions')
    const value = JSON.parse(idr('--input', EVENTS, '--model', 'first', '--json').stdout) as Out
    expect(value.channels.find((c) => c.channel === 'email')!.value).toBeCloseTo(10, 9)
  })

  it('applies the lookback window to events, and refuses event options on a path table', () => {
    // the conversion is 2 h after the email touch: a 1-hour window leaves only search on the path
    const r = JSON.parse(idr('--input', EVENTS, '--level', 'account', '--lookback-days', String(1.5 / 24), '--model', 'first', '--json').stdout) as Out
    expect(Object.fromEntries(r.channels.map((c) => [c.channel, c.conversions]))).toEqual({ email: 0, search: 1 })
    expect(idr('--input', FIXTURE, '--level', 'person').stderr).toContain('(BAD_OPTION)')
    expect(idr('--input', EVENTS, '--level', 'household').stderr).toContain('(BAD_OPTION)')
    expect(idr('--input', EVENTS, '--split', 'half').stderr).toContain('(BAD_OPTION)')
  })

  it('refuses the oracle level when events carry no truth, as a wrong command line (exit 2)', () => {
    const file = tempFile('events.ndjson', '{"v":1,"id":"x.1","ts":1767600000000,"account":"x","device":"d","kind":"touch","channel":"email"}\n')
    const r = idr('--input', file, '--level', 'oracle')
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('(BAD_OPTION)')
  })

  it('decays by real time on events: a touch weighs half per half-life of age before the conversion', () => {
    // account level: email 2 h and search 1 h before the conversion; half-life 2 h → weights 2^-1 and 2^-0.5
    const r = idr('--input', EVENTS, '--level', 'account', '--model', 'decay', '--half-life-days', String(2 / 24), '--json')
    expect(r.status).toBe(0)
    const out = JSON.parse(r.stdout) as Out
    const w = [0.5, Math.SQRT1_2]
    expect(out.channels.map((c) => c.channel)).toEqual(['email', 'search'])
    expect(out.channels[0]!.conversions).toBeCloseTo(w[0]! / (w[0]! + w[1]!), 12)
    expect(out.channels[1]!.value).toBeCloseTo((10 * w[1]!) / (w[0]! + w[1]!), 12)
    // the default on events is real time with a 7-day half-life: an hour apart is almost an even split
    const d = JSON.parse(idr('--input', EVENTS, '--level', 'account', '--model', 'decay', '--json').stdout) as Out
    expect(d.channels[0]!.conversions).toBeCloseTo(1 / (1 + 2 ** (1 / 168)), 12)
    // --half-life counts touches instead
    const t = JSON.parse(idr('--input', EVENTS, '--level', 'account', '--model', 'decay', '--half-life', '1', '--json').stdout) as Out
    expect(t.channels[0]!.conversions).toBeCloseTo(1 / 3, 12)
    for (const bad of [['--input', FIXTURE, '--half-life-days', '7'], ['--input', EVENTS, '--half-life', '1', '--half-life-days', '7'], ['--input', EVENTS, '--half-life-days', '0'], ['--input', EVENTS, '--account', 'a']]) {
      const x = idr(...bad)
      expect(x.status, bad.join(' ')).toBe(2)
      expect(x.stderr).toContain('(BAD_OPTION)')
    }
  })

  it('says plainly when no engine answers --nats', () => {
    const r = idr('--nats', 'nats://127.0.0.1:1', '--json')
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('(ENGINE_UNAVAILABLE)')
  })

  it('names the line of a bad row (exit 1), and refuses an order out of range (exit 2)', () => {
    const bad = idr('--input', tempFile('paths.csv', 'path,total_conversions\na,1\nb,-1\n'))
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain('line 3')
    expect(bad.stderr).toContain('(BAD_PATH_TABLE)')
    const order = idr('--input', FIXTURE, '--order', '4')
    expect(order.status).toBe(2)
    expect(order.stderr).toContain('(BAD_OPTION)')
  })
})
