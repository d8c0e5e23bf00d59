// report.html: the demo's report as one self-contained page (inline CSS and SVG, no script, no requests),
// rendered from the same DemoReport that is written as report.json. Charts live in html-charts.ts.
import { trueLabel, type DemoReport, type ExampleHousehold, type ExampleSession, type PersonDescription } from './report.js'
import {
  accuracyVsSessionsChart, householdTimelineChart, latencyChart, personColours, reliabilityChart, sizeConfusionChart,
} from './html-charts.js'
import { DASH, esc, fmtBytes, fmtInt, fmtMs, fmtP, fmtPct, fmtSig, fmtTime, list, num, records, str } from './html-format.js'
import { UNKNOWN_COLOUR } from './html-svg.js'

/** Persons named per session in the example tables (the bar shows them all). */
const SESSION_TABLE_PERSONS = 2

/** The whole report.html for a report; never throws on missing or null fields (they render as "—"). */
export function renderReportHtml(report: DemoReport): string {
  const r = report ?? ({} as Partial<DemoReport>)
  const examples = records(r.examples)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>idr demo report</title>
<style>${CSS}</style>
</head>
<body>
<main>
${header(r)}
${headline(r)}
<section class="charts">
<h2>How well, how fast</h2>
<div class="grid">
${reliabilityChart(r.quality)}
${accuracyVsSessionsChart(r.quality)}
${latencyChart(r.latencyMs)}
${sizeConfusionChart(r.quality)}
</div>
<div class="wide">
${householdTimelineChart(examples[0])}
</div>
</section>
${numbers(r)}
<section class="examples">
<h2>Example households</h2>
${examples.length === 0 ? '<p class="empty-state">This report has no example households.</p>' : examples.map((h, i) => example(h, i === 0)).join('\n')}
</section>
<footer>Generated ${esc(r.generatedAt)} by idr ${esc(r.idrVersion)}. Times are UTC, the simulator's clock.</footer>
</main>
</body>
</html>
`
}

function header(r: Partial<DemoReport>): string {
  const c = r.config
  const bits = c
    ? [`${fmtInt(c.households)} simulated households`, `${fmtInt(c.days)} days`, `difficulty ${str(c.difficulty)}`, `seed ${str(c.seed)}`, `${str(c.bus)} bus`]
    : ['no configuration recorded']
  return `<header><h1>idr demo</h1><p class="sub">${bits.map(esc).join(' · ')}</p></header>`
}

/** One headline figure: a big value, what it is, and a line of context (all HTML, escaped by the caller). */
function tile(value: string, label: string, detail: string, key: string): string {
  return `<div class="tile" data-headline="${key}"><div class="value">${value}</div><div class="label">${label}</div><div class="detail">${detail}</div></div>`
}

function headline(r: Partial<DemoReport>): string {
  const run = r.run
  const l = r.latencyMs
  const q = r.quality
  const tiles = [
    tile(esc(fmtInt(run?.eventsPerSec)), 'events/s', `${esc(fmtInt(run?.events))} events in ${esc(fmtSig(run?.seconds))} s`, 'events-per-sec'),
    tile(`${esc(fmtMs(l?.p50))}`, 'latency p50', `p99 ${esc(fmtMs(l?.p99))} · p99.9 ${esc(fmtMs(l?.p999))}`, 'latency'),
    tile(esc(fmtP(q?.accuracy)), 'session accuracy', `ceiling ${esc(fmtP(q?.ceiling))} (${esc(fmtPct(q?.accuracyToCeiling))} of it) · baseline ${esc(fmtP(q?.baselineDominant))}`, 'accuracy'),
    tile(esc(fmtPct(q?.sizeExact)), 'household size exact', `mean absolute error ${esc(fmtP(q?.sizeMae))} persons`, 'size'),
  ]
  return `<section class="headline">${tiles.join('')}</section>`
}

/** A two-column table of label → value rows; labels are our own text, values are escaped here. */
function table(caption: string, rows: readonly (readonly [string, string])[]): string {
  const body = rows.map(([k, v]) => `<tr><th scope="row">${k}</th><td>${esc(v)}</td></tr>`).join('')
  return `<table class="kv"><caption>${caption}</caption><tbody>${body}</tbody></table>`
}

function numbers(r: Partial<DemoReport>): string {
  const run = r.run
  const l = r.latencyMs
  const q = r.quality
  const c = r.config
  const m = r.machine
  const tables = [
    table('Run', [
      ['events', fmtInt(run?.events)], ['messages', fmtInt(run?.messages)], ['seconds', fmtSig(run?.seconds)],
      ['events/s', fmtInt(run?.eventsPerSec)], ['sessions', fmtInt(run?.sessions)], ['assignments', fmtInt(run?.assignments)],
      ['dead-letter records', fmtInt(run?.dlqRecords)], ['snapshot size', fmtBytes(run?.snapshotBytes)],
    ]),
    table('Latency', [
      ['sessions timed', fmtInt(l?.count)], ['p50', fmtMs(l?.p50)], ['p90', fmtMs(l?.p90)], ['p99', fmtMs(l?.p99)],
      ['p99.9', fmtMs(l?.p999)], ['max', fmtMs(l?.max)],
    ]),
    table('Quality', [
      ['accuracy', fmtP(q?.accuracy)], ['oracle ceiling', fmtP(q?.ceiling)], ['accuracy / ceiling', fmtPct(q?.accuracyToCeiling)],
      ['accuracy at open', fmtP(q?.accuracyAtOpen)], ['baseline (most active person)', fmtP(q?.baselineDominant)],
      ['size exact', fmtPct(q?.sizeExact)], ['size mean abs. error', fmtP(q?.sizeMae)], ['ECE', fmtSig(q?.ece)], ['Brier', fmtSig(q?.brier)],
    ]),
    table('Configuration', [
      ['households', fmtInt(c?.households)], ['days', fmtInt(c?.days)], ['seed', str(c?.seed)], ['difficulty', str(c?.difficulty)],
      ['bus', str(c?.bus)], ['NATS URL', str(c?.natsUrl)], ['database', c?.db === null ? 'a temporary file, removed at the end' : str(c?.db)], ['refit threads', fmtInt(c?.poolThreads)],
      ['events per message', fmtInt(c?.batch)],
    ]),
    table('Machine', [
      ['CPU', str(m?.cpuModel)], ['cores', fmtInt(m?.cpus)], ['platform', str(m?.platform)], ['Node.js', str(m?.node)],
      ['idr', str(r.idrVersion)], ['generated', str(r.generatedAt)],
    ]),
  ]
  return `<section class="numbers"><h2>The numbers</h2><p class="note">Latency: ${esc(l?.definition ?? DASH)}. Accuracy is per session under each household's best one-to-one mapping of found to true persons.</p><div class="tables">${tables.join('')}</div></section>`
}

/** A true person's label (T1, …) when the report holds a string there; anything else as it is, for esc to render. */
function trueText(v: unknown): unknown {
  return typeof v === 'string' ? trueLabel(v) : v
}

function foundPerson(p: PersonDescription, colours: ReadonlyMap<string, string>): string {
  const colour = colours.get(String(p.person)) ?? UNKNOWN_COLOUR
  const match = p.matches ? `matches <b>${esc(trueText(p.matches))}</b>` : 'matches no true person'
  return `<li><span class="swatch" style="background:${colour}"></span><b>${esc(p.person)}</b> <span class="share">${esc(fmtPct(p.share))}</span> · ${match}<div class="words">${esc(p.words)}</div></li>`
}

/** True person id → the found person mapped to it (under the best mapping), from the found persons' `matches`. */
function foundFor(found: readonly PersonDescription[]): Map<string, string> {
  const map = new Map<string, string>()
  for (const p of found) if (typeof p.matches === 'string') map.set(p.matches, String(p.person))
  return map
}

function truePerson(p: PersonDescription, foundAs: ReadonlyMap<string, string>, colours: ReadonlyMap<string, string>): string {
  const as = foundAs.get(String(p.person))
  const found = as === undefined ? 'not found' : `found as <span class="swatch" style="background:${colours.get(as) ?? UNKNOWN_COLOUR}"></span><b>${esc(as)}</b>`
  return `<li><b>${esc(trueText(p.person))}</b> <span class="share">${esc(fmtPct(p.share))}</span> · ${esc(p.archetype ?? DASH)} · ${found}<div class="words">${esc(p.words)}</div></li>`
}

/** The true person(s) of a session, each with the swatch of the found person it maps to (grey: none). */
function truthCell(truth: unknown, foundAs: ReadonlyMap<string, string>, colours: ReadonlyMap<string, string>): string {
  if (typeof truth !== 'string' || truth === '') return DASH
  return truth.split('+').map((t) => {
    const as = foundAs.get(t)
    const colour = (as === undefined ? undefined : colours.get(as)) ?? UNKNOWN_COLOUR
    return `<span class="swatch" style="background:${colour}" title="${as === undefined ? 'no found person' : `found as ${esc(as)}`}"></span>${esc(trueLabel(t))}`
  }).join(' + ')
}

/** A session's probabilities as one stacked bar in the persons' colours, with the top ones named. */
function probabilities(s: ExampleSession, colours: ReadonlyMap<string, string>): string {
  const persons = list(s.persons)
  if (persons.length === 0) return DASH
  const segments = persons.map((q) => {
    const p = Math.min(1, Math.max(0, num(q?.p) ?? 0))
    const colour = colours.get(String(q?.person)) ?? UNKNOWN_COLOUR
    return `<span style="width:${(p * 100).toFixed(1)}%;background:${colour}" title="${esc(q?.person)} ${esc(fmtP(q?.p))}"></span>`
  })
  const named = persons.slice(0, SESSION_TABLE_PERSONS).map((q) => `${esc(q?.person)} ${esc(fmtP(q?.p))}`)
  return `<div class="prob"><span class="track">${segments.join('')}</span><span>${named.join(' · ')}</span></div>`
}

function sessionRow(s: ExampleSession, foundAs: ReadonlyMap<string, string>, colours: ReadonlyMap<string, string>): string {
  const mark = s.correct ? '<td class="ok" title="top person correct">✓</td>' : '<td class="bad" title="top person wrong">✗</td>'
  return `<tr><td class="time">${esc(fmtTime(s.startMs))}</td><td class="num">${esc(fmtInt(s.durationMin))}</td><td>${esc(s.device)}</td><td>${esc(s.genre)}</td>`
    + `<td class="truth">${truthCell(s.truth, foundAs, colours)}</td><td>${probabilities(s, colours)}</td>${mark}</tr>`
}

function example(h: ExampleHousehold, open: boolean): string {
  const colours = personColours(h)
  const sessions = records(h.sessions)
  const found = records(h.found)
  const truth = records(h.truth)
  const foundAs = foundFor(found)
  const wrong = sessions.filter((s) => !s.correct).length
  const sessionTable = sessions.length === 0
    ? '<p class="empty-state">No sessions recorded for this household.</p>'
    : `<details${open ? ' open' : ''}><summary>${esc(fmtInt(sessions.length))} sessions, ${esc(fmtInt(wrong))} with the wrong top person</summary>`
      + `<div class="scroll"><table class="sessions"><thead><tr><th>start (UTC)</th><th>min</th><th>device</th><th>genre</th><th>true person</th><th>probabilities</th><th>ok</th></tr></thead>`
      + `<tbody>${sessions.map((s) => sessionRow(s, foundAs, colours)).join('')}</tbody></table></div></details>`
  return `<article class="example">
<h3>Household <code>${esc(h.account)}</code></h3>
<p class="meta">${esc(fmtInt(h.trueSize))} true persons · ${esc(fmtInt(h.foundSize))} found · accuracy ${esc(fmtP(h.accuracy))}</p>
<div class="persons">
<div><h4>Found by the engine</h4>${found.length === 0 ? '<p class="empty-state">No persons found.</p>' : `<ul>${found.map((p) => foundPerson(p, colours)).join('')}</ul>`}</div>
<div><h4>True, in the simulation (T1, T2, …)</h4>${truth.length === 0 ? '<p class="empty-state">No true persons listed.</p>' : `<ul>${truth.map((p) => truePerson(p, foundAs, colours)).join('')}</ul>`}</div>
</div>
${sessionTable}
</article>`
}

const CSS = `
:root { --ink: #1d1f23; --muted: #5d636e; --line: #d9dce1; --faint: #f3f4f6; --accent: #0072B2; --bad: #D55E00; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 28px; margin: 0; letter-spacing: -0.01em; }
h2 { font-size: 19px; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 0 0 2px; }
h4 { font-size: 13px; margin: 0 0 6px; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
code { font: 0.92em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--faint); padding: 0 3px; border-radius: 3px; overflow-wrap: anywhere; }
.sub, .meta, .note, footer { color: var(--muted); }
.sub { margin: 4px 0 0; }
.headline { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(200px, 100%), 1fr)); gap: 12px; margin-top: 20px; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.tile .value { font-size: 30px; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.2; }
.tile .label { font-weight: 600; }
.tile .detail { color: var(--muted); font-size: 13px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(440px, 100%), 1fr)); gap: 20px; }
.wide { margin-top: 20px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 12px; break-inside: avoid; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 6px; }
figcaption b { color: var(--ink); }
svg.chart { display: block; width: 100%; height: auto; font-size: 13px; }
svg.chart text { fill: var(--muted); }
svg.chart .axis line { stroke: #9aa0a8; stroke-width: 1; }
svg.chart .axis line.grid { stroke: #eceef1; }
svg.chart .axis-title { fill: var(--ink); font-size: 14px; }
svg.chart .ref { stroke: var(--ink); stroke-width: 1.2; stroke-dasharray: 5 4; fill: none; }
svg.chart .ref-dotted { stroke-dasharray: 1.5 3; stroke-width: 1.6; }
svg.chart .ref-label { fill: var(--ink); font-size: 13px; }
svg.chart .line { stroke: var(--accent); stroke-width: 2; fill: none; }
svg.chart .dot { fill: var(--accent); stroke: #fff; stroke-width: 1.2; }
svg.chart .count { font-size: 11px; }
svg.chart .pct { stroke: var(--bad); stroke-width: 1.4; }
svg.chart .pct-label { fill: var(--bad); font-weight: 600; }
svg.chart .cell { stroke: #fff; }
svg.chart .cell.exact { stroke: var(--ink); stroke-width: 1.5; }
svg.chart .cell-label { fill: var(--ink); font-size: 14px; font-variant-numeric: tabular-nums; }
svg.chart .cell-label.on-dark { fill: #fff; }
svg.chart .weekend { fill: var(--faint); }
svg.chart .session { stroke: #fff; stroke-width: 0.6; }
svg.chart .session.wrong { stroke: #000; stroke-width: 1.6; }
svg.chart .empty { fill: var(--muted); font-size: 16px; font-style: italic; }
.legend { list-style: none; padding: 0; margin: 8px 0 0; font-size: 13px; display: grid; gap: 2px; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.swatch.wrong { background: #fff; border: 2px solid #000; }
.tables { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(300px, 100%), 1fr)); gap: 16px 24px; align-items: start; }
table { border-collapse: collapse; font-size: 13.5px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 650; padding-bottom: 4px; }
table.kv { width: 100%; }
table.kv th { text-align: left; font-weight: normal; color: var(--muted); padding: 3px 12px 3px 0; }
table.kv td { text-align: right; padding: 3px 0; overflow-wrap: anywhere; }
table.kv tr + tr { border-top: 1px solid var(--faint); }
.example { border-top: 1px solid var(--line); padding: 16px 0 8px; }
.example:first-of-type { border-top: 0; }
.persons { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(320px, 100%), 1fr)); gap: 16px 32px; margin: 10px 0; }
.persons ul { list-style: none; padding: 0; margin: 0; display: grid; gap: 8px; }
.share { color: var(--muted); font-variant-numeric: tabular-nums; }
.words { font-size: 13.5px; }
details summary { cursor: pointer; color: var(--accent); margin: 6px 0; }
table.sessions { width: 100%; }
.scroll { overflow-x: auto; }
table.sessions th { text-align: left; font-weight: 600; border-bottom: 1px solid var(--line); padding: 4px 8px 4px 0; }
table.sessions td { padding: 3px 8px 3px 0; border-bottom: 1px solid var(--faint); vertical-align: top; }
table.sessions td.time, table.sessions td.truth { white-space: nowrap; }
td.num { text-align: right; }
td.ok { color: #009E73; font-weight: 700; }
td.bad { color: var(--bad); font-weight: 700; }
.prob { display: flex; align-items: center; gap: 6px; font-size: 12px; white-space: nowrap; }
.prob .track { display: inline-flex; width: 72px; height: 8px; background: var(--faint); border-radius: 2px; overflow: hidden; flex: none; }
.prob .track span { display: block; height: 100%; }
.prob .track span + span { box-shadow: inset 1px 0 #fff; }
.empty-state { color: var(--muted); font-style: italic; }
footer { margin-top: 40px; font-size: 13px; }
@media (max-width: 520px) { main { padding: 16px 10px; } }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .grid { grid-template-columns: 1fr 1fr; }
  figure, .tile, table.kv, .example { break-inside: avoid; }
  details::details-content { content-visibility: visible; display: block; }
  details summary { color: var(--ink); }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
`
