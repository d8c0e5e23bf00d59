// How the demo shows its example household: true persons as T1, T2, … (never the engine's p1, p2, …) in the
// terminal summary and report.html, and sessions that cross midnight drawn on into the next day.
import { describe, expect, it } from 'vitest'
import { summary } from '../src/cli/demo.js'
import { daySegments, householdTimelineChart } from '../src/demo/html-charts.js'
import { renderReportHtml } from '../src/demo/html.js'
import { trueLabel, type ExampleHousehold, type ExampleSession } from '../src/demo/report.js'
import { sampleReport } from './helpers/report-fixture.js'

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
const T0 = Date.UTC(2026, 0, 5)

function session(startMs: number, durationMin: number, truth = 'p1'): ExampleSession {
  return { session: `s${startMs}`, startMs, durationMin, device: 'tv 55in', genre: 'drama', truth, persons: [{ person: 'p1', p: 0.8 }, { person: 'unknown', p: 0.2 }], correct: true }
}

function household(sessions: ExampleSession[]): ExampleHousehold {
  return {
    account: 'acct-1', trueSize: 1, foundSize: 1, accuracy: 1, sessions,
    found: [{ person: 'p1', share: 1, matches: 'p1', words: 'evenings' }],
    truth: [{ person: 'p1', share: 1, archetype: 'evening-drama', words: 'evenings' }],
  }
}

/** The session bars of the timeline SVG: [x, y, height] each. */
function bars(svg: string): number[][] {
  return [...svg.matchAll(/<rect class="mark session[^"]*" x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3])])
}

describe('true persons in the demo\'s output', () => {
  it('are labelled T1, T2, … and co-viewers T1+T3', () => {
    expect(trueLabel('p2')).toBe('T2')
    expect(trueLabel('p1+p3')).toBe('T1+T3')
    expect(trueLabel('someone')).toBe('someone')
  })

  it('never read as the engine\'s p1, p2, … in the terminal summary', () => {
    const text = summary(sampleReport())
    expect(text).toMatch(/\n {2}true {2}T\d \(/)
    expect(text).toMatch(/truth T\d/)
    expect(text).not.toMatch(/truth p\d/)
    expect(text).not.toMatch(/true +p\d/)
    expect(text).toMatch(/found p\d \(\d+%, is T\d/)
  })

  it('never read as the engine\'s p1, p2, … in report.html', () => {
    const html = renderReportHtml(sampleReport())
    expect(html).toContain('True, in the simulation (T1, T2, …)')
    expect(html).toMatch(/matches <b>T\d<\/b>/)
    expect(html).not.toMatch(/matches <b>p\d/)
    expect(html).not.toMatch(/truth p\d/)
    expect(html).toMatch(/<\/span>T\d/) // the session table's truth cells
  })
})

describe('the household timeline', () => {
  it('cuts a session at midnight: 23:00 for 2 h is 23–24 on its day and 0–1 on the next', () => {
    expect(daySegments(3 * DAY_MS + 23 * HOUR_MS, 2)).toEqual([{ day: 3, fromHour: 23, hours: 1 }, { day: 4, fromHour: 0, hours: 1 }])
    expect(daySegments(2 * HOUR_MS, 1.5)).toEqual([{ day: 0, fromHour: 2, hours: 1.5 }])
    expect(daySegments(12 * HOUR_MS, 36).map((s) => [s.day, s.hours])).toEqual([[0, 12], [1, 24]])
  })

  it('draws the part after midnight at the top of the next day\'s column', () => {
    const within = bars(householdTimelineChart(household([session(T0 + 20 * HOUR_MS, 60), session(T0 + DAY_MS + 10 * HOUR_MS, 60)])))
    expect(within).toHaveLength(2)
    const svg = householdTimelineChart(household([session(T0 + 20 * HOUR_MS, 60), session(T0 + DAY_MS + 23 * HOUR_MS, 120)]))
    const drawn = bars(svg)
    expect(drawn).toHaveLength(3)
    const [, before, after] = drawn as [number[], number[], number[]]
    expect(after[0]!).toBeGreaterThan(before[0]!) // the next day's column
    const top = Math.min(...drawn.map((b) => b[1]!)) // y of 00:00: the plot's top edge
    expect(after[1]!).toBeCloseTo(top, 1)
    expect(after[2]!).toBeCloseTo(before[2]!, 1) // one hour on each side of midnight
  })
})
