// idr demo end to end: the report's quality figures are the engine's own assignments scored against the
// simulator's truth (equal to a direct model replay of the same events), the same over NATS as in process,
// and the CLI writes report.json and report.html.
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { chromium } from 'playwright-core'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runDemo, DEMO_PSEUDONYM_KEY } from '../src/demo/run.js'
import type { DemoReport } from '../src/demo/report.js'
import { Pseudonymiser } from '../src/privacy/pseudonymise.js'
import { evaluateEvents } from '../src/sim/evaluate.js'
import { bayesCeiling, simulate } from '../src/sim/simulator.js'
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.js'

const run = promisify(execFile)
const CLI = join(import.meta.dirname, '..', 'build', 'src', 'cli', 'main.js')
const SIM = { households: 40, days: 14, seed: 7, difficulty: 'default' } as const

let dir: string
let report: DemoReport

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'idr-demo-test-'))
  report = await runDemo({ ...SIM, db: join(dir, 'idr.db'), poolThreads: 1, batch: 50 })
}, 120_000)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('idr demo (in-process bus)', () => {
  it('streams every simulated event through the engine, with no dead letters', () => {
    const events = [...simulate(SIM).events()]
    expect(report.run.events).toBe(events.length)
    expect(report.run.messages).toBe(Math.ceil(events.length / 50))
    expect(report.run.dlqRecords).toBe(0)
    expect(report.run.assignments).toBeGreaterThan(report.run.sessions)
    expect(report.config).toMatchObject({ bus: 'in-process', households: 40, batch: 50, poolThreads: 1 })
  })

  it('scores the engine exactly as a direct replay of the model scores itself', () => {
    const sim = simulate(SIM)
    const pseudo = new Pseudonymiser(DEMO_PSEUDONYM_KEY)
    const direct = evaluateEvents([...sim.events()].map((e) => ({ ...e, device: pseudo.device(e.device) })), {
      flush: false, ceiling: bayesCeiling(sim).accuracy, trueSizes: new Map(sim.households.map((h) => [h.account, h.persons.length])),
    })
    expect(report.run.sessions).toBe(direct.sessions)
    expect(report.quality.accuracy).toBeCloseTo(direct.accuracy, 12)
    expect(report.quality.accuracyAtOpen).toBeCloseTo(direct.accuracyAtOpen, 12)
    expect(report.quality.ece).toBeCloseTo(direct.ece, 12)
    expect(report.quality.brier).toBeCloseTo(direct.brier, 12)
    expect(report.quality.sizeExact).toBeCloseTo(direct.kExact, 12)
    expect(report.quality.ceiling).toBeCloseTo(direct.ceiling!, 12)
    expect(report.quality.accuracyAfterSessions).toEqual(direct.accuracyBySessions)
  })

  it('reports latency for every opened session and a consistent histogram', () => {
    const l = report.latencyMs
    expect(l.count).toBeGreaterThanOrEqual(report.run.sessions)
    expect(l.histogram.counts.reduce((a, b) => a + b, 0)).toBe(l.count)
    expect(l.histogram.edgesMs.length).toBe(l.histogram.counts.length + 1)
    expect(l.p50).toBeGreaterThan(0)
    expect(l.p50).toBeLessThanOrEqual(l.p99)
    expect(l.p99).toBeLessThanOrEqual(l.p999)
    expect(l.p999).toBeLessThanOrEqual(l.max * 1.001 + 0.001)
  })

  it('counts every household once in the size confusion matrix', () => {
    const c = report.quality.sizeConfusion
    expect(c.counts.flat().reduce((a, b) => a + b, 0)).toBe(SIM.households)
    const sim = simulate(SIM)
    for (const [i, size] of c.trueSizes.entries()) {
      expect(c.counts[i]!.reduce((a, b) => a + b, 0)).toBe(sim.households.filter((h) => h.persons.length === size).length)
    }
  })

  it('describes example households in words next to the truth', () => {
    expect(report.examples.length).toBeGreaterThan(0)
    const ex = report.examples[0]!
    const h = simulate(SIM).households.find((x) => x.account === ex.account)!
    expect(ex.trueSize).toBe(h.persons.length)
    expect(ex.truth.map((p) => p.person)).toEqual(h.persons.map((p) => p.id))
    expect(ex.found.length).toBe(ex.foundSize)
    for (const p of [...ex.found, ...ex.truth]) expect(p.words).toMatch(/around \d\d:00/)
    expect(ex.sessions.length).toBeGreaterThan(5)
    // rounded to 4 decimals for readers (0.2, not 0.19999999999999996), so they sum to 1 within the rounding
    for (const s of ex.sessions) expect(s.persons.reduce((a, q) => a + q.p, 0)).toBeCloseTo(1, 3)
    for (const q of ex.sessions.flatMap((s) => s.persons)) expect(Math.round(q.p * 1e4) / 1e4).toBe(q.p)
    expect(ex.sessions.map((s) => s.startMs)).toEqual([...ex.sessions.map((s) => s.startMs)].sort((a, b) => a - b))
  })

  it('left one snapshot per household in the SQLite file, with no raw device ids', () => {
    const db = new Database(join(dir, 'idr.db'), { readonly: true })
    try {
      const rows = db.prepare('SELECT account, snapshot FROM households').all() as { account: string, snapshot: Buffer }[]
      expect(rows.length).toBe(SIM.households)
      expect(rows.reduce((s, r) => s + r.snapshot.length, 0)).toBe(report.run.snapshotBytes)
      const raw = simulate(SIM).households.flatMap((h) => h.devices.map((d) => d.id))
      for (const r of rows) for (const id of raw) expect(r.snapshot.includes(Buffer.from(id))).toBe(false)
    } finally {
      db.close()
    }
  })
})

describe('idr demo over a real nats-server', () => {
  let server: NatsServerHandle
  beforeAll(async () => { server = await startNatsServer() })
  afterAll(async () => { await server?.stop() })

  it('gives the same engine results as the in-process bus', async () => {
    const overNats = await runDemo({ ...SIM, nats: server.url, db: join(dir, 'nats.db'), poolThreads: 1, batch: 50 })
    expect(overNats.config.bus).toBe('nats')
    expect(overNats.run.events).toBe(report.run.events)
    expect(overNats.run.dlqRecords).toBe(0)
    expect(overNats.run.sessions).toBe(report.run.sessions)
    expect(overNats.quality.accuracy).toBe(report.quality.accuracy)
    expect(overNats.quality.ece).toBe(report.quality.ece)
    expect(overNats.latencyMs.count).toBe(report.latencyMs.count)
  }, 120_000)
})

describe('idr demo command', () => {
  it('writes report.json and report.html and prints a summary', async () => {
    const out = join(dir, 'cli')
    const { stdout } = await run('node', [CLI, 'demo', '--households', '12', '--days', '7', '--out', out, '--db', join(dir, 'cli.db'), '--pool-threads', '0'], { timeout: 60_000 })
    expect(stdout).toMatch(/throughput\s+[\d,]+ events\/s/)
    expect(stdout).toMatch(/Bayes ceiling 0\.\d{3}/)
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as DemoReport
    expect(json.version).toBe(1)
    expect(json.config.households).toBe(12)
    expect(existsSync(join(out, 'report.html'))).toBe(true)
    // the real report, not only the renderer's fixture, loads cleanly in Chromium with every chart drawn
    const browser = await chromium.launch({ executablePath: process.env.IDR_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'], headless: true })
    try {
      const page = await browser.newPage()
      const errors: string[] = []
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
      page.on('pageerror', (e) => errors.push(e.message))
      await page.goto(pathToFileURL(join(out, 'report.html')).href, { waitUntil: 'load' })
      expect(errors).toEqual([])
      for (const chart of ['reliability', 'accuracy-vs-sessions', 'latency', 'size-confusion', 'household-timeline']) {
        expect(await page.locator(`svg[data-chart="${chart}"] .mark`).count(), chart).toBeGreaterThan(0)
      }
    } finally {
      await browser.close()
    }
  }, 90_000)

  it('refuses bad options with a clear message, exit 2', async () => {
    await expect(run('node', [CLI, 'demo', '--households', 'many'], { timeout: 20_000 })).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--households must be a whole number ≥ 1, got "many"/) })
    await expect(run('node', [CLI, 'demo', '--difficulty', 'brutal'], { timeout: 20_000 })).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--difficulty must be one of easy, default, hard/) })
  })
})
