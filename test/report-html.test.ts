// report.html: strings from the report are escaped, missing numbers never print as NaN/undefined, and the
// page renders in a real Chromium (Debian's, driven by playwright-core) with visible charts, no errors and
// no request beyond the file itself.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import fc from 'fast-check'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderReportHtml } from '../src/demo/html.js'
import type { DemoReport } from '../src/demo/report.js'
import { sampleReport } from './helpers/report-fixture.js'

const CHARTS = ['reliability', 'accuracy-vs-sessions', 'latency', 'size-confusion', 'household-timeline'] as const
const HOSTILE = '<img src=x onerror=alert(1)>'
const CHROMIUM = process.env.IDR_CHROMIUM ?? '/usr/bin/chromium'

/** A report whose example household, person and device names carry markup. */
function hostileReport(): DemoReport {
  const base = sampleReport()
  const [first, ...rest] = base.examples
  return sampleReport({
    examples: [{
      ...first!,
      account: HOSTILE,
      found: first!.found.map((p) => ({ ...p, words: `${p.words} <script>alert("w")</script>` })),
      sessions: first!.sessions.map((s) => ({ ...s, device: `tv "living" & <b>room</b>` })),
    }, ...rest],
  })
}

/** What JSON.parse gives for a report whose numbers were NaN or missing: nulls, and empty arrays. */
function hollowReport(): DemoReport {
  const base = sampleReport()
  const hole = null as unknown as number
  return sampleReport({
    run: { ...base.run, eventsPerSec: hole, events: Number.NaN, seconds: hole, snapshotBytes: hole },
    latencyMs: { ...base.latencyMs, p50: hole, p99: Number.NaN, p999: hole, max: hole, count: 0, histogram: { edgesMs: [], counts: [] } },
    quality: {
      ...base.quality,
      accuracy: hole, ceiling: Number.NaN, accuracyToCeiling: hole, baselineDominant: hole, ece: hole, brier: hole,
      accuracyAfterSessions: { 0: null, 1: null, 3: null },
      reliability: base.quality.reliability.map((b) => ({ ...b, count: 0, meanConfidence: null, accuracy: null })),
      sizeConfusion: { trueSizes: [], foundSizes: [], counts: [] },
    },
    examples: [{
      account: 'acct-empty', trueSize: hole, foundSize: 0, accuracy: Number.NaN, found: [], truth: [],
      sessions: [{ session: 's', startMs: hole, durationMin: hole, device: 'tv', genre: 'drama', truth: 'p1', persons: [], correct: false }],
    }],
  })
}

/** Every path (object keys and array indices) in a JSON-like value, parents before children. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return []
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value)
  return entries.flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])])
}

/** A deep copy of `report` with the value at each path replaced (paths through a replaced value are no-ops). */
function damaged(report: DemoReport, replacements: readonly { path: (string | number)[], value: unknown }[]): DemoReport {
  const copy = structuredClone(report) as unknown as Record<string | number, unknown>
  for (const { path, value } of replacements) {
    let node: unknown = copy
    for (const key of path.slice(0, -1)) node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[key] : undefined
    if (node !== null && typeof node === 'object') (node as Record<string | number, unknown>)[path[path.length - 1]!] = value
  }
  return copy as unknown as DemoReport
}

describe('renderReportHtml', () => {
  it('escapes every string that comes from the report', () => {
    const html = renderReportHtml(hostileReport())
    expect(html).not.toContain('<img')
    expect(html).not.toContain('<script')
    expect(html).not.toContain('<b>room')
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(html).toContain('&lt;script&gt;alert(&quot;w&quot;)&lt;/script&gt;')
    expect(html).toContain('tv &quot;living&quot; &amp; &lt;b&gt;room&lt;/b&gt;')
  })

  it('renders nulls, NaN and empty arrays as dashes and empty-state notes, never as NaN or undefined', () => {
    const html = renderReportHtml(hollowReport())
    expect(html).not.toMatch(/NaN|undefined|Infinity|null/)
    expect(html).toContain('No scored sessions')
    expect(html).toContain('No latencies recorded')
    expect(html).toContain('No households')
    expect(html).toContain('No sessions to bucket')
    expect(html).toMatch(/<div class="value">—<\/div><div class="label">events\/s/)
  })

  it('renders a report.json damaged anywhere (nulls, NaN, wrong types) without throwing or printing NaN/undefined', () => {
    const report = sampleReport()
    const all = paths(report)
    const junk = fc.constantFrom<unknown>(null, undefined, Number.NaN, Infinity, -1, 0, '', 'x', [], {}, true)
    const replacement = fc.record({ path: fc.constantFrom(...all), value: junk })
    fc.assert(fc.property(fc.array(replacement, { minLength: 1, maxLength: 12 }), (replacements) => {
      const html = renderReportHtml(damaged(report, replacements))
      expect(html).not.toMatch(/NaN|undefined|Infinity|\[object Object\]/)
    }), { numRuns: 80, seed: 7 })
    expect(() => renderReportHtml({} as DemoReport)).not.toThrow()
    expect(renderReportHtml(null as unknown as DemoReport)).toContain('No example household sessions')
  })

  it("keeps histogram bins on their own edges when another bin's count is missing", () => {
    const base = sampleReport()
    const histogram = { edgesMs: [1, 2, 4, 8], counts: [null as unknown as number, 5, 7] }
    const html = renderReportHtml(sampleReport({ latencyMs: { ...base.latencyMs, histogram } }))
    expect(html).toContain('<title>2.00 ms – 4.00 ms: 5 sessions</title>')
    expect(html).toContain('<title>4.00 ms – 8.00 ms: 7 sessions</title>')
  })

  it('renders a report without example households', () => {
    const html = renderReportHtml(sampleReport({ examples: [] }))
    expect(html).toContain('This report has no example households.')
    expect(html).toContain('No example household sessions')
    expect(html).not.toMatch(/NaN|undefined/)
  })

  it('draws each of the five charts as an inline SVG', () => {
    const html = renderReportHtml(sampleReport())
    for (const name of CHARTS) expect(html).toContain(`<svg class="chart" data-chart="${name}"`)
  })

  it('formats the headline numbers for people: separators, two decimals, significant digits', () => {
    const html = renderReportHtml(sampleReport())
    // 1,234,567 events / 41.2 s = 29,965.2 events/s (report-fixture.ts)
    expect(html).toContain('<div class="value">29,965</div><div class="label">events/s')
    expect(html).toContain('3.04 ms')
    expect(html).toContain('p99 21.4 ms · p99.9 58.2 ms')
    expect(html).toContain('<div class="value">0.81</div><div class="label">session accuracy')
  })
})

describe('report.html in Chromium', () => {
  let dir: string
  let browser: Browser | undefined
  let page: Page
  let fileUrl: string
  const consoleErrors: string[] = []
  const pageErrors: string[] = []
  const requests: string[] = []

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set IDR_CHROMIUM to a Chromium binary`)
    }
    dir = mkdtempSync(join(tmpdir(), 'idr-report-html-'))
    const file = join(dir, 'report.html')
    writeFileSync(file, renderReportHtml(hostileReport()))
    fileUrl = pathToFileURL(file).href
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true })
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()) })
    page.on('pageerror', (e) => pageErrors.push(e.message))
    page.on('request', (r) => requests.push(r.url()))
    await page.goto(fileUrl, { waitUntil: 'load' })
  })

  afterAll(async () => {
    await browser?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('loads without console errors, page errors or any request but the file itself', () => {
    expect(consoleErrors).toEqual([])
    expect(pageErrors).toEqual([])
    expect(requests).toEqual([fileUrl])
  })

  it('keeps markup from the report as text (no element made from an account name)', async () => {
    expect(await page.locator('img').count()).toBe(0)
    expect(await page.locator('article.example h3').first().textContent()).toContain(HOSTILE)
  })

  it('draws each of the five charts at a visible size with visible marks', async () => {
    for (const name of CHARTS) {
      const chart = page.locator(`svg[data-chart="${name}"]`)
      expect(await chart.count(), name).toBe(1)
      const box = await chart.boundingBox()
      expect(box?.width, name).toBeGreaterThan(50)
      expect(box?.height, name).toBeGreaterThan(50)
      const sizes = await chart.locator('.mark').evaluateAll((marks) => marks.map((m) => {
        const r = m.getBoundingClientRect()
        return { width: r.width, height: r.height }
      }))
      expect(sizes.length, `${name}: .mark elements`).toBeGreaterThan(0)
      expect(sizes.some((b) => b.width > 0 && b.height > 0), `${name}: a mark with a non-empty box`).toBe(true)
    }
  })

  it('fits a 390 px wide phone screen without sideways scrolling', async () => {
    const phone = await browser!.newPage({ viewport: { width: 390, height: 800 } })
    try {
      await phone.goto(fileUrl, { waitUntil: 'load' })
      // A string expression: the test's tsconfig has no DOM types.
      expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
    } finally {
      await phone.close()
    }
  })

  it('shows the events/s number in the headline', async () => {
    const tile = page.locator('[data-headline="events-per-sec"]')
    await expect(tile.textContent()).resolves.toContain('29,965')
    expect((await tile.boundingBox())?.height).toBeGreaterThan(0)
  })
})
