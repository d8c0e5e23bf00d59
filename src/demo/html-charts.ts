// The five inline SVG charts of report.html, one function each, from DemoReport fields. Every data mark has
// class "mark" and a <title> tooltip; a chart without data keeps its axes and says so instead of throwing.
import { trueLabel, type ExampleHousehold, type LatencySummary, type QualitySummary } from './report.js'
import { DASH, esc, fmtCompact, fmtInt, fmtMs, fmtP, fmtPct, fmtSig, fmtTime, list, num, records, str } from './html-format.js'
import {
  ACCENT, type Frame, PERSON_COLOURS, type Scale, type Tick, UNKNOWN_COLOUR, emptyNote, figure,
  linear, logTicks, logarithmic, niceMax, niceTicks, plotFrame, r2, sigTicks, svgOpen, xAxis, yAxis,
} from './html-svg.js'

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
/** The timeline spans the page's full width, so it gets a wider viewBox. */
const TIMELINE_WIDTH = 960
const TIMELINE_HEIGHT = 320
/** Weekends are shaded only up to this many days (beyond, the shading would be a grey blur). */
const MAX_SHADED_DAYS = 366
/** Left margin of the timeline, for "18:00" tick labels beside the axis title. */
const TIMELINE_LEFT = 74
/** Ticks for axes over [0, 1] (accuracy, confidence). */
const UNIT_TICKS: readonly Tick[] = sigTicks([0, 0.2, 0.4, 0.6, 0.8, 1])

/** Person id → colour, in the order the engine's found persons are listed. */
export function personColours(household: ExampleHousehold | undefined): Map<string, string> {
  const found = records(household?.found)
  return new Map(found.map((p, i) => [String(p.person), PERSON_COLOURS[i % PERSON_COLOURS.length]!]))
}

/** Reliability diagram (Guo et al. 2017, fig. 1): per confidence bin, accuracy against mean confidence. */
export function reliabilityChart(q: QualitySummary | undefined): string {
  const f = plotFrame()
  const x = linear(0, 1, f.x0, f.x1)
  const y = linear(0, 1, f.y1, f.y0)
  const bins = records(q?.reliability).filter((b) => (num(b.count) ?? 0) > 0 && num(b.accuracy) !== null)
  const maxCount = Math.max(1, ...bins.map((b) => b.count))
  const parts = [svgOpen('reliability', 'Reliability diagram'), xAxis(f, x, UNIT_TICKS, 'confidence of the top person'), yAxis(f, y, UNIT_TICKS, 'share correct')]
  parts.push(`<line class="ref" x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}"><title>perfect calibration</title></line>`)
  for (const b of bins) {
    const lo = num(b.lo) ?? 0
    const hi = num(b.hi) ?? lo
    const acc = clamp01(b.accuracy)!
    const shade = 0.2 + 0.7 * Math.sqrt(b.count / maxCount)
    const tip = `confidence ${fmtP(lo)}–${fmtP(hi)}: ${fmtInt(b.count)} sessions, mean confidence ${fmtP(b.meanConfidence)}, share correct ${fmtP(acc)}`
    const bx = x(lo) + 1
    const bw = Math.max(1, x(hi) - x(lo) - 2)
    parts.push(`<rect class="mark" x="${r2(bx)}" y="${r2(y(acc))}" width="${r2(bw)}" height="${r2(y(0) - y(acc))}" fill="${ACCENT}" fill-opacity="${r2(shade)}"><title>${esc(tip)}</title></rect>`)
    const conf = num(b.meanConfidence)
    if (conf !== null) parts.push(`<circle class="mark dot" cx="${r2(x(conf))}" cy="${r2(y(acc))}" r="3"><title>${esc(tip)}</title></circle>`)
    parts.push(`<text class="count" x="${r2(bx + bw / 2)}" y="${r2(y(acc) - 5)}" text-anchor="middle">${esc(fmtCompact(b.count))}</text>`)
  }
  if (bins.length === 0) parts.push(emptyNote(f, 'No scored sessions'))
  parts.push('</svg>')
  return figure(parts.join(''), `<b>Calibration.</b> Share of sessions whose top person was right, per confidence bin (shade and number: sessions in the bin; dot: their mean confidence); on the dashed diagonal confidence equals accuracy. ECE ${esc(fmtSig(q?.ece))}, Brier ${esc(fmtSig(q?.brier))}.`)
}

/** A share clamped into [0, 1] (so bad data stays inside the plot), null kept. */
function clamp01(v: number | null): number | null {
  return v === null ? null : Math.min(1, Math.max(0, v))
}

/** "0", "1–2", …, "50+" for the evaluator's bucket lower bounds (each bucket ends before the next one starts). */
function bucketLabels(lows: readonly number[]): string[] {
  return lows.map((lo, i) => {
    const next = lows[i + 1]
    if (next === undefined) return `${lo}+`
    return next - 1 > lo ? `${lo}–${next - 1}` : String(lo)
  })
}

/**
 * A horizontal reference line across the plot, labelled at its left end above the line or at its right end
 * below it: accuracy rises with sessions, so the curve rarely passes there.
 */
function refLine(f: Frame, y: Scale, value: number | null, cls: string, label: string, at: 'left-above' | 'right-below'): string {
  if (value === null) return ''
  const py = y(Math.min(1, Math.max(0, value)))
  const text = at === 'left-above'
    ? `<text class="ref-label" x="${f.x0 + 6}" y="${r2(py - 6)}" text-anchor="start">${esc(label)}</text>`
    : `<text class="ref-label" x="${f.x1 - 4}" y="${r2(py + 15)}" text-anchor="end">${esc(label)}</text>`
  return `<line class="${cls}" x1="${f.x0}" x2="${f.x1}" y1="${r2(py)}" y2="${r2(py)}"><title>${esc(label)}</title></line>${text}`
}

/** Accuracy by how many sessions of the same person came before, against the oracle ceiling and the baseline. */
export function accuracyVsSessionsChart(q: QualitySummary | undefined): string {
  const f = plotFrame()
  const y = linear(0, 1, f.y1, f.y0)
  const raw = q?.accuracyAfterSessions && typeof q.accuracyAfterSessions === 'object' ? q.accuracyAfterSessions : {}
  const buckets = Object.entries(raw)
    .map(([k, v]) => ({ lo: Number(k), acc: clamp01(num(v)) }))
    .filter((b) => Number.isFinite(b.lo))
    .sort((a, b) => a.lo - b.lo)
  const labels = bucketLabels(buckets.map((b) => b.lo))
  const step = (f.x1 - f.x0) / Math.max(1, buckets.length)
  const x = (i: number): number => f.x0 + (i + 0.5) * step
  const ticks = labels.map((label, i) => ({ v: i, label }))
  const parts = [svgOpen('accuracy-vs-sessions', 'Accuracy by earlier sessions of the same person'), xAxis(f, x, ticks, 'earlier sessions of the same person', false), yAxis(f, y, UNIT_TICKS, 'share correct')]
  const ceiling = num(q?.ceiling)
  const baseline = num(q?.baselineDominant)
  parts.push(refLine(f, y, ceiling, 'ref', `oracle ceiling ${fmtP(ceiling)}`, 'left-above'))
  parts.push(refLine(f, y, baseline, 'ref ref-dotted', `most active person ${fmtP(baseline)}`, 'right-below'))
  const segments: string[][] = [[]]
  buckets.forEach((b, i) => {
    if (b.acc === null) segments.push([])
    else segments[segments.length - 1]!.push(`${r2(x(i))},${r2(y(b.acc))}`)
  })
  for (const seg of segments) if (seg.length > 1) parts.push(`<path class="line" d="M${seg.join('L')}"/>`)
  buckets.forEach((b, i) => {
    if (b.acc === null) return
    parts.push(`<circle class="mark dot" cx="${r2(x(i))}" cy="${r2(y(b.acc))}" r="4.5" fill="${ACCENT}"><title>${esc(`${labels[i]} earlier sessions: share correct ${fmtP(b.acc)}`)}</title></circle>`)
    parts.push(`<text class="count" x="${r2(x(i))}" y="${r2(y(b.acc) - 9)}" text-anchor="middle">${esc(fmtP(b.acc))}</text>`)
  })
  if (buckets.every((b) => b.acc === null)) parts.push(emptyNote(f, 'No sessions to bucket'))
  parts.push('</svg>')
  return figure(parts.join(''), `<b>Learning.</b> Share of sessions given to the right person, by how many sessions that person had before; dashed: the Bayes oracle's ceiling (it knows the true distributions), dotted: always guessing the household's most active person.`)
}

/** Histogram of session latency on a log x axis, with p50, p99 and p99.9 marked. */
export function latencyChart(l: LatencySummary | undefined): string {
  const f = plotFrame()
  const edges = list(l?.histogram?.edgesMs)
  const counts = list(l?.histogram?.counts)
  const bins: { lo: number, hi: number, n: number }[] = []
  for (let i = 0; i < counts.length; i++) {
    const lo = num(edges[i])
    const hi = num(edges[i + 1])
    const n = num(counts[i])
    if (lo !== null && hi !== null && n !== null && n > 0 && lo > 0 && hi > lo) bins.push({ lo, hi, n })
  }
  const parts = [svgOpen('latency', 'Latency histogram')]
  if (bins.length === 0) {
    const x = linear(0, 1, f.x0, f.x1)
    const y = linear(0, 1, f.y1, f.y0)
    parts.push(xAxis(f, x, [], 'latency (ms, log scale)'), yAxis(f, y, [], 'sessions'), emptyNote(f, 'No latencies recorded'), '</svg>')
  } else {
    // The axis spans the occupied bins and the marked percentiles, a bin's width of margin on each side.
    const first = bins.reduce((m, b) => (b.lo < m.lo ? b : m))
    const last = bins.reduce((m, b) => (b.hi > m.hi ? b : m))
    const percentiles = [l?.p50, l?.p999].map(num).filter((v): v is number => v !== null && v > 0)
    const lo = Math.min(first.lo, ...percentiles) / (first.hi / first.lo)
    const hi = Math.max(last.hi, ...percentiles) * (last.hi / last.lo)
    const x = logarithmic(lo, hi, f.x0, f.x1)
    const top = niceMax(Math.max(...bins.map((b) => b.n)))
    const y = linear(0, top, f.y1, f.y0)
    const yTicks = niceTicks(0, top, 4).map((v) => ({ v, label: fmtCompact(v) }))
    parts.push(xAxis(f, x, sigTicks(logTicks(lo, hi)), 'latency (ms, log scale)'), yAxis(f, y, yTicks, 'sessions'))
    for (const b of bins) {
      const tip = `${fmtMs(b.lo)} – ${fmtMs(b.hi)}: ${fmtInt(b.n)} sessions`
      parts.push(`<rect class="mark" x="${r2(x(b.lo))}" y="${r2(y(b.n))}" width="${r2(Math.max(0.5, x(b.hi) - x(b.lo) - 0.5))}" height="${r2(y(0) - y(b.n))}" fill="${ACCENT}" fill-opacity="0.75"><title>${esc(tip)}</title></rect>`)
    }
    const marks: [string, unknown][] = [['p50', l?.p50], ['p99', l?.p99], ['p99.9', l?.p999]]
    marks.forEach(([name, value], i) => {
      const v = num(value)
      if (v === null || v <= 0) return
      const px = x(Math.min(hi, Math.max(lo, v)))
      const right = px > (f.x0 + f.x1) / 2
      const label = `${name} ${fmtMs(v)}`
      parts.push(`<line class="pct" x1="${r2(px)}" x2="${r2(px)}" y1="${f.y0}" y2="${f.y1}"><title>${esc(label)}</title></line>`)
      parts.push(`<text class="pct-label" x="${r2(right ? px - 4 : px + 4)}" y="${f.y0 + 12 + 15 * i}" text-anchor="${right ? 'end' : 'start'}">${esc(label)}</text>`)
    })
    parts.push('</svg>')
  }
  return figure(parts.join(''), `<b>Latency.</b> Sessions by latency on a log scale, ${esc(l?.definition ?? DASH)}; lines mark p50, p99 and p99.9 (n = ${esc(fmtInt(l?.count))}).`)
}

/** White → Okabe–Ito blue for a share in [0, 1]. */
function blueShade(share: number): string {
  const t = Math.min(1, Math.max(0, share))
  const mix = (a: number, b: number): number => Math.round(a + (b - a) * t)
  return `rgb(${mix(247, 0)},${mix(251, 90)},${mix(255, 160)})`
}

/** Households by true size (rows) and found size (columns); shade is the share of the row. */
export function sizeConfusionChart(q: QualitySummary | undefined): string {
  const f = plotFrame()
  const c = q?.sizeConfusion
  const rows = list(c?.trueSizes)
  const cols = list(c?.foundSizes)
  const counts = list(c?.counts)
  const parts = [svgOpen('size-confusion', 'Household size: true against found')]
  const cw = (f.x1 - f.x0) / Math.max(1, cols.length)
  const ch = (f.y1 - f.y0) / Math.max(1, rows.length)
  const x = (j: number): number => f.x0 + (j + 0.5) * cw
  const y = (i: number): number => f.y0 + (i + 0.5) * ch
  parts.push(xAxis(f, x, cols.map((s, j) => ({ v: j, label: fmtInt(s) })), 'persons found by the engine', false))
  parts.push(yAxis(f, y, rows.map((s, i) => ({ v: i, label: fmtInt(s) })), 'persons in the household', false))
  rows.forEach((trueSize, i) => {
    const row = list(counts[i]).map((n) => num(n) ?? 0)
    const total = row.reduce((a, b) => a + b, 0)
    cols.forEach((foundSize, j) => {
      const n = row[j] ?? 0
      const share = total > 0 ? n / total : 0
      const exact = trueSize === foundSize
      const tip = `${fmtInt(trueSize)} true, ${fmtInt(foundSize)} found: ${fmtInt(n)} households (${fmtPct(share)} of the row)`
      parts.push(`<rect class="mark cell${exact ? ' exact' : ''}" x="${r2(f.x0 + j * cw + 1)}" y="${r2(f.y0 + i * ch + 1)}" width="${r2(cw - 2)}" height="${r2(ch - 2)}" fill="${blueShade(share)}"><title>${esc(tip)}</title></rect>`)
      if (n > 0) parts.push(`<text class="cell-label${share > 0.5 ? ' on-dark' : ''}" x="${r2(x(j))}" y="${r2(y(i))}" dy="0.35em" text-anchor="middle">${esc(fmtInt(n))}</text>`)
    })
  })
  if (rows.length === 0 || cols.length === 0) parts.push(emptyNote(f, 'No households'))
  parts.push('</svg>')
  return figure(parts.join(''), `<b>Household size.</b> Households by true (rows) and found (columns) number of persons, shaded by share of the row; outlined cells are exact: ${esc(fmtPct(q?.sizeExact))} of households, mean absolute error ${esc(fmtP(q?.sizeMae))} persons.`)
}

/** One example household's sessions: day against hour of day (UTC), coloured by the top found person. */
export function householdTimelineChart(h: ExampleHousehold | undefined): string {
  const f = plotFrame(TIMELINE_WIDTH, TIMELINE_HEIGHT, TIMELINE_LEFT)
  const sessions = records(h?.sessions).filter((s) => num(s.startMs) !== null)
  const colours = personColours(h)
  const first = sessions.reduce((m, s) => Math.min(m, s.startMs), Infinity)
  // the chart runs to the day the last session ends: one that crosses midnight goes on there
  const last = sessions.reduce((m, s) => Math.max(m, s.startMs + drawnHours(s.durationMin) * HOUR_MS), -Infinity)
  const t0 = sessions.length > 0 ? Math.floor(first / DAY_MS) * DAY_MS : 0
  const days = sessions.length > 0 ? Math.max(1, Math.ceil((last - t0) / DAY_MS)) : 7
  const x = linear(0, days, f.x0, f.x1)
  const y = linear(0, 24, f.y0, f.y1)
  const dayTicks = niceTicks(0, days, 8).map((v) => ({ v, label: String(v) }))
  const hourTicks = [0, 6, 12, 18, 24].map((v) => ({ v, label: `${String(v).padStart(2, '0')}:00` }))
  const parts = [svgOpen('household-timeline', 'Sessions of an example household over time', TIMELINE_WIDTH, TIMELINE_HEIGHT)]
  for (let d = 0; d < days && days <= MAX_SHADED_DAYS; d++) {
    const dow = new Date(t0 + d * DAY_MS).getUTCDay()
    if (dow === 0 || dow === 6) parts.push(`<rect class="weekend" x="${r2(x(d))}" y="${f.y0}" width="${r2(x(d + 1) - x(d))}" height="${f.y1 - f.y0}"/>`)
  }
  parts.push(xAxis(f, x, dayTicks, 'days since the first session (shaded: weekends)'), yAxis(f, y, hourTicks, 'hour of day (UTC)'))
  const dayWidth = x(1) - x(0)
  const w = Math.min(14, Math.max(3, dayWidth * 0.7))
  for (const s of sessions) {
    const top = list(s.persons)[0]
    const colour = (top ? colours.get(String(top.person)) : undefined) ?? UNKNOWN_COLOUR
    const tip = `${fmtTime(s.startMs)} UTC · ${fmtInt(s.durationMin)} min · ${str(s.device)} · ${str(s.genre)}\n`
      + `truth ${typeof s.truth === 'string' ? trueLabel(s.truth) : DASH} · top ${top ? `${str(top.person)} (${fmtP(top.p)})` : DASH} ${s.correct ? '✓' : '✗ wrong'}`
    for (const seg of daySegments(s.startMs - t0, drawnHours(s.durationMin))) {
      if (seg.day >= days) break
      const height = Math.max(3, y(seg.fromHour + seg.hours) - y(seg.fromHour))
      parts.push(`<rect class="mark session${s.correct ? '' : ' wrong'}" x="${r2(x(seg.day + 0.5) - w / 2)}" y="${r2(y(seg.fromHour))}" width="${r2(w)}" height="${r2(height)}" rx="1.5" fill="${colour}"><title>${esc(tip)}</title></rect>`)
    }
  }
  if (sessions.length === 0) parts.push(emptyNote(f, 'No example household sessions'))
  parts.push('</svg>')
  const legend = records(h?.found).map((p) =>
    `<li><span class="swatch" style="background:${colours.get(String(p.person)) ?? UNKNOWN_COLOUR}"></span><b>${esc(p.person)}</b> (${esc(fmtPct(p.share))}): ${esc(p.words)}</li>`)
  legend.push(`<li><span class="swatch wrong"></span>outlined in black: the top person was wrong (hover a session for the truth)</li>`)
  const caption = h
    ? `<b>One household over time.</b> Sessions of <code>${esc(h.account)}</code>, one bar each at its day and start hour, as tall as it lasted, coloured by the engine's most probable person.`
    : '<b>One household over time.</b> No example household in this report.'
  return figure(parts.join(''), caption, `<ul class="legend">${legend.join('')}</ul>`)
}

/** Longest stretch of a session the timeline draws, h: a (damaged) report's huge duration stays one day long. */
const MAX_DRAWN_HOURS = 24

/** A session's duration in hours as drawn: 0 when missing or negative, at most MAX_DRAWN_HOURS. */
function drawnHours(durationMin: unknown): number {
  return Math.min(MAX_DRAWN_HOURS, Math.max(0, num(durationMin) ?? 0) / 60)
}

/**
 * A session `hours` long starting `offsetMs` after the chart's first midnight, cut at each midnight it crosses:
 * one piece per day it touches (a session from 23:00 to 01:00 draws 23–24 on its day and 0–1 on the next).
 */
export function daySegments(offsetMs: number, hours: number): { day: number, fromHour: number, hours: number }[] {
  const out: { day: number, fromHour: number, hours: number }[] = []
  let day = Math.floor(offsetMs / DAY_MS)
  let from = (offsetMs - day * DAY_MS) / HOUR_MS
  let left = hours
  do {
    const piece = Math.min(24 - from, left)
    out.push({ day, fromHour: from, hours: piece })
    left -= piece
    day++
    from = 0
  } while (left > 1e-9)
  return out
}
